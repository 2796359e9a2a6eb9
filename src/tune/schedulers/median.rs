//! `MedianStoppingRule` (Ray's `tune/schedulers/median_stopping_rule.py`, the Vizier
//! paper's rule): stop a trial whose best metric by time `t` is worse than the median of
//! the other trials' running means up to `t`.
//!
//! Other trials count when they have reported a result at time `t` or later. With the
//! controller's [`Ordering::Sequential`] those are the trials before this one in index
//! order, as in a run that trains one trial at a time. Ray, when there are too few
//! trials to compare with, pauses the trial to let pending ones run first; here it
//! continues.

use std::collections::BTreeMap;

use rl_core::metrics::ResultDict;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{metric_value, resolve_metric, Decision, Ordering, TrialInfo, TrialScheduler};
use crate::tune::{Mode, TuneError};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    /// Trial id → `(time, metric)` of every result.
    results: BTreeMap<String, Vec<(f64, f64)>>,
    stopped: Vec<String>,
}

/// Ray's `MedianStoppingRule` (hard stop). Ray's default `time_attr` is `time_total_s`,
/// wall-clock time, which makes decisions depend on machine load; ours is
/// `training_iteration`, and `grace_period` counts in it (default 60 as in Ray).
#[derive(Clone, Debug)]
pub struct MedianStoppingRule {
    /// The result key measuring progress.
    pub time_attr: String,
    /// The metric (default: the sweep's).
    pub metric: Option<String>,
    /// Its mode (default: the sweep's).
    pub mode: Option<Mode>,
    /// No trial stops before this time; means are taken from it on.
    pub grace_period: f64,
    /// Compare with at least this many other trials (default 3).
    pub min_samples_required: usize,
    state: State,
}

impl Default for MedianStoppingRule {
    fn default() -> Self {
        MedianStoppingRule {
            time_attr: "training_iteration".into(),
            metric: None,
            mode: None,
            grace_period: 60.0,
            min_samples_required: 3,
            state: State::default(),
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

setters!(MedianStoppingRule {
    metric;
    /// Sets `grace_period`.
    grace_period: f64 => grace_period;
    /// Sets `min_samples_required`.
    min_samples_required: usize => min_samples_required;
    /// Sets `time_attr`.
    time_attr: &str => time_attr;
});

impl MedianStoppingRule {
    /// Ray's defaults (with `time_attr = "training_iteration"`).
    pub fn new() -> Self {
        Self::default()
    }

    fn running_mean(&self, results: &[(f64, f64)], time: f64) -> f64 {
        let scoped: Vec<f64> = results
            .iter()
            .filter(|(t, _)| self.grace_period <= *t && *t <= time)
            .map(|(_, m)| *m)
            .collect();
        scoped.iter().sum::<f64>() / scoped.len() as f64
    }
}

impl TrialScheduler for MedianStoppingRule {
    fn name(&self) -> &str {
        "MedianStoppingRule"
    }

    fn set_search_properties(
        &mut self,
        metric: Option<&str>,
        mode: Option<Mode>,
        _seed: u64,
    ) -> Result<(), TuneError> {
        resolve_metric(
            "MedianStoppingRule",
            &mut self.metric,
            &mut self.mode,
            metric,
            mode,
        )
    }

    fn ordering(&self) -> Ordering {
        Ordering::Sequential
    }

    fn time_attr(&self) -> &str {
        &self.time_attr
    }

    fn on_trial_result(&mut self, trial: &TrialInfo<'_>, result: &ResultDict) -> Decision {
        let (Some(metric), Some(mode)) = (self.metric.as_deref(), self.mode) else {
            return Decision::Continue;
        };
        let (Some(time), Some(m)) = (
            metric_value(result, &self.time_attr),
            metric_value(result, metric),
        ) else {
            return Decision::Continue;
        };
        self.state
            .results
            .entry(trial.trial_id.to_string())
            .or_default()
            .push((time, m));
        if time < self.grace_period {
            return Decision::Continue;
        }
        let others: Vec<&Vec<(f64, f64)>> = self
            .state
            .results
            .iter()
            .filter(|(id, r)| {
                id.as_str() != trial.trial_id && r.last().is_some_and(|l| l.0 >= time)
            })
            .map(|(_, r)| r)
            .collect();
        if others.len() < self.min_samples_required {
            return Decision::Continue;
        }
        let med = median(others.iter().map(|r| self.running_mean(r, time)).collect());
        let own = &self.state.results[trial.trial_id];
        let best = own.iter().map(|(_, m)| *m).fold(
            if mode == Mode::Max {
                f64::MIN
            } else {
                f64::MAX
            },
            |a, b| {
                if mode == Mode::Max {
                    a.max(b)
                } else {
                    a.min(b)
                }
            },
        );
        // Ray: stop unless compare_op(median, best) == best, i.e. when the median is better.
        if mode.better(med, best) && time > self.grace_period {
            self.state.stopped.push(trial.trial_id.to_string());
            Decision::Stop
        } else {
            Decision::Continue
        }
    }

    fn on_trial_complete(&mut self, trial: &TrialInfo<'_>, result: Option<&ResultDict>) {
        let Some(metric) = self.metric.as_deref() else {
            return;
        };
        if let Some(r) = result {
            if let (Some(t), Some(m)) = (metric_value(r, &self.time_attr), metric_value(r, metric))
            {
                let list = self
                    .state
                    .results
                    .entry(trial.trial_id.to_string())
                    .or_default();
                // Ray appends the last result again; it is the same point.
                list.push((t, m));
            }
        }
    }

    fn settings(&self) -> Value {
        serde_json::json!({
            "time_attr": self.time_attr, "metric": self.metric, "mode": self.mode,
            "grace_period": self.grace_period, "min_samples_required": self.min_samples_required,
        })
    }

    fn save_state(&self) -> Value {
        super::state_json(&self.state)
    }

    fn restore_state(&mut self, state: &Value) -> Result<(), TuneError> {
        self.state = serde_json::from_value(state.clone())
            .map_err(|e| TuneError::Restore(format!("MedianStoppingRule state: {e}")))?;
        Ok(())
    }

    fn debug_string(&self) -> String {
        format!(
            "Using MedianStoppingRule: num_stopped={}.",
            self.state.stopped.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(t: f64, m: f64) -> ResultDict {
        json!({"training_iteration": t, "m": m})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn stops_below_the_median_of_running_means() {
        let mut s = MedianStoppingRule::new()
            .metric("m", Mode::Max)
            .grace_period(1.0)
            .min_samples_required(2);
        let cfg = Value::Null;
        let info = |id: &'static str| TrialInfo {
            index: 0,
            trial_id: id,
            config: &cfg,
        };
        for (id, vals) in [("a", [1.0, 3.0, 5.0]), ("b", [2.0, 4.0, 6.0])] {
            for (k, v) in vals.iter().enumerate() {
                assert_eq!(
                    s.on_trial_result(&info(id), &r(k as f64 + 1.0, *v)),
                    Decision::Continue
                );
            }
        }
        // At t = 2, the running means over [1, 2]: a = 2, b = 3 → median 2.5.
        // c's best by t = 2 is 2.4 < 2.5 → stop (t > grace period).
        assert_eq!(
            s.on_trial_result(&info("c"), &r(1.0, 2.4)),
            Decision::Continue
        );
        assert_eq!(s.on_trial_result(&info("c"), &r(2.0, 0.0)), Decision::Stop);
        // d's best 2.6 beats the median: continues.
        assert_eq!(
            s.on_trial_result(&info("d"), &r(1.0, 2.6)),
            Decision::Continue
        );
        assert_eq!(
            s.on_trial_result(&info("d"), &r(2.0, 0.0)),
            Decision::Continue
        );
    }
}
