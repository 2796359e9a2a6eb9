//! Stop criteria (Ray's `RunConfig(stop=...)`): a dict of thresholds, a function, or a
//! [`Stopper`] that can also end the whole experiment.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rl_core::metrics::{get_path, ResultDict};
use serde_json::{json, Value};

/// A per-trial stop function: `f(trial_id, result)` returns true to stop the trial.
pub type StopFn = Arc<dyn Fn(&str, &ResultDict) -> bool + Send + Sync>;

/// Ray's `tune.Stopper`: decides per trial and for the whole experiment.
pub trait Stopper: Send {
    /// Whether trial `trial_id` stops after this result.
    fn should_stop(&mut self, trial_id: &str, result: &ResultDict) -> bool;
    /// Whether the whole experiment stops now (every running trial is stopped, pending
    /// trials never start).
    fn stop_all(&mut self) -> bool;
}

/// When trials stop.
#[derive(Clone, Default)]
pub enum Stop {
    /// Only the scheduler (or the algorithm) ends trials.
    #[default]
    Never,
    /// Stop a trial as soon as any `result[key] >= threshold` (Ray's dict form; nested
    /// keys joined by `/`, e.g. `{"training_iteration": 150}`). A result without the key
    /// does not stop the trial (Ray raises an error instead, which a metric reported only
    /// at evaluation iterations would trigger).
    Dict(BTreeMap<String, f64>),
    /// Stop a trial when the function says so.
    Fn(StopFn),
    /// A [`Stopper`], shared by all trials.
    Stopper(Arc<std::sync::Mutex<dyn Stopper>>),
}

impl fmt::Debug for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

impl Stop {
    /// `{"training_iteration": n}`.
    pub fn iterations(n: usize) -> Self {
        Stop::Dict(BTreeMap::from([(
            "training_iteration".to_string(),
            n as f64,
        )]))
    }

    /// A dict of thresholds.
    pub fn dict<K: Into<String>>(criteria: impl IntoIterator<Item = (K, f64)>) -> Self {
        Stop::Dict(criteria.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A per-trial function.
    pub fn func(f: impl Fn(&str, &ResultDict) -> bool + Send + Sync + 'static) -> Self {
        Stop::Fn(Arc::new(f))
    }

    /// A [`Stopper`].
    pub fn stopper(s: impl Stopper + 'static) -> Self {
        Stop::Stopper(Arc::new(std::sync::Mutex::new(s)))
    }

    /// Whether trial `trial_id` stops after `result`.
    pub fn should_stop(&self, trial_id: &str, result: &ResultDict) -> bool {
        match self {
            Stop::Never => false,
            Stop::Dict(criteria) => criteria.iter().any(|(k, &threshold)| {
                get_path(result, k)
                    .and_then(Value::as_f64)
                    .is_some_and(|v| v >= threshold)
            }),
            Stop::Fn(f) => f(trial_id, result),
            Stop::Stopper(s) => s
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .should_stop(trial_id, result),
        }
    }

    /// Whether the experiment stops now.
    pub fn stop_all(&self) -> bool {
        match self {
            Stop::Stopper(s) => s.lock().unwrap_or_else(|e| e.into_inner()).stop_all(),
            _ => false,
        }
    }

    /// The JSON form for the experiment state; functions and stoppers cannot be saved
    /// (`{"function": true}`) and must be given again on restore.
    pub fn to_json(&self) -> Value {
        match self {
            Stop::Never => Value::Null,
            Stop::Dict(d) => json!(d),
            Stop::Fn(_) => json!({ "function": true }),
            Stop::Stopper(_) => json!({ "stopper": true }),
        }
    }

    /// Reads [`to_json`](Self::to_json)'s output; `None` when it named a function or
    /// stopper, which JSON cannot hold.
    pub fn from_json(v: &Value) -> Option<Self> {
        match v {
            Value::Null => Some(Stop::Never),
            Value::Object(o) if o.contains_key("function") || o.contains_key("stopper") => None,
            Value::Object(o) => Some(Stop::Dict(
                o.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
                    .collect(),
            )),
            _ => None,
        }
    }
}

/// Ray's `MaximumIterationStopper`: stops each trial after `max_iter` results.
#[derive(Debug, Clone)]
pub struct MaximumIterationStopper {
    max_iter: usize,
    counts: BTreeMap<String, usize>,
}

impl MaximumIterationStopper {
    /// Stops trials after `max_iter` results.
    pub fn new(max_iter: usize) -> Self {
        MaximumIterationStopper {
            max_iter,
            counts: BTreeMap::new(),
        }
    }
}

impl Stopper for MaximumIterationStopper {
    fn should_stop(&mut self, trial_id: &str, _result: &ResultDict) -> bool {
        let c = self.counts.entry(trial_id.to_string()).or_default();
        *c += 1;
        *c >= self.max_iter
    }

    fn stop_all(&mut self) -> bool {
        false
    }
}

/// Ray's `TimeoutStopper`: ends the whole experiment after a wall-clock budget. What it
/// stops depends on timing by nature: a sweep it cut short is not reproducible.
#[derive(Debug, Clone)]
pub struct TimeoutStopper {
    timeout: Duration,
    start: Option<Instant>,
}

impl TimeoutStopper {
    /// Ends the experiment `timeout` after the first result.
    pub fn new(timeout: Duration) -> Self {
        TimeoutStopper {
            timeout,
            start: None,
        }
    }
}

impl Stopper for TimeoutStopper {
    fn should_stop(&mut self, _trial_id: &str, _result: &ResultDict) -> bool {
        self.start.get_or_insert_with(Instant::now);
        false
    }

    fn stop_all(&mut self) -> bool {
        let start = *self.start.get_or_insert_with(Instant::now);
        start.elapsed() >= self.timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(v: Value) -> ResultDict {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn dict_criteria_use_nested_keys_and_skip_missing_ones() {
        let stop = Stop::dict([
            ("training_iteration", 3.0),
            ("evaluation/env_runners/episode_return_mean", 475.0),
        ]);
        assert!(!stop.should_stop("t", &result(json!({"training_iteration": 2}))));
        assert!(stop.should_stop("t", &result(json!({"training_iteration": 3}))));
        let eval = json!({"training_iteration": 1, "evaluation": {"env_runners": {"episode_return_mean": 480.0}}});
        assert!(stop.should_stop("t", &result(eval)));
        assert_eq!(
            Stop::from_json(&stop.to_json()).unwrap().to_json(),
            stop.to_json()
        );
        assert!(Stop::from_json(&Stop::func(|_, _| true).to_json()).is_none());
    }

    #[test]
    fn stoppers_count_per_trial() {
        let stop = Stop::stopper(MaximumIterationStopper::new(2));
        let r = result(json!({}));
        assert!(!stop.should_stop("a", &r));
        assert!(!stop.should_stop("b", &r));
        assert!(stop.should_stop("a", &r));
        assert!(!stop.stop_all());
        let timeout = Stop::stopper(TimeoutStopper::new(Duration::ZERO));
        assert!(timeout.stop_all());
    }
}
