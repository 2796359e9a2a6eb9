//! `AsyncHyperBandScheduler` (ASHA), with the rung logic of Ray's
//! `tune/schedulers/async_hyperband.py`.
//!
//! Each bracket `s` has rungs at `grace_period × reduction_factor^(k + s)` for
//! `k < int(log(max_t / grace_period) / log(reduction_factor) − s + 1)`. The first time a
//! trial's `time_attr` reaches a rung, its metric is recorded there; it stops if the metric
//! is below the rung's cut-off, the `(1 − 1/reduction_factor)` percentile (linear
//! interpolation, NaN ignored) of the values recorded there before it. A trial that
//! reaches `max_t` stops. New trials join a bracket drawn with probability ∝
//! `e^(rungs − max rungs)`.

use std::collections::BTreeMap;

use rand::{Rng as _, SeedableRng};
use rl_core::metrics::ResultDict;
use rl_core::seeding::derive_seed;
use rl_core::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{metric_value, resolve_metric, Decision, Ordering, TrialInfo, TrialScheduler};
use crate::tune::{Mode, TuneError};

/// One bracket's rungs, highest milestone first (as Ray keeps them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bracket {
    rf: f64,
    /// `(milestone, trial id → recorded metric × metric_op)`.
    rungs: Vec<(f64, BTreeMap<String, f64>)>,
    stop_last_trials: bool,
}

/// NumPy's `nanpercentile(values, q)` with its default linear interpolation.
pub fn nanpercentile(values: impl IntoIterator<Item = f64>, q: f64) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = q / 100.0 * (v.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    let t = rank - lo as f64;
    let (a, b) = (v[lo], v[hi]);
    let diff = b - a;
    // NumPy's _lerp: a + diff·t, or b − diff·(1 − t) when t ≥ 0.5.
    Some(if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    })
}

impl Bracket {
    /// Ray's `_Bracket(min_t, max_t, reduction_factor, s)`.
    pub fn new(min_t: f64, max_t: f64, rf: f64, s: usize, stop_last_trials: bool) -> Self {
        let max_rungs = ((max_t / min_t).ln() / rf.ln() - s as f64 + 1.0).trunc();
        let max_rungs = if max_rungs > 0.0 {
            max_rungs as usize
        } else {
            0
        };
        let rungs = (0..max_rungs)
            .rev()
            .map(|k| (min_t * rf.powf((k + s) as f64), BTreeMap::new()))
            .collect();
        Bracket {
            rf,
            rungs,
            stop_last_trials,
        }
    }

    /// The milestones, highest first.
    pub fn milestones(&self) -> Vec<f64> {
        self.rungs.iter().map(|(m, _)| *m).collect()
    }

    /// The cut-off of a rung's recorded values (`None` when none are recorded).
    pub fn cutoff(&self, recorded: &BTreeMap<String, f64>) -> Option<f64> {
        if recorded.is_empty() {
            return None;
        }
        nanpercentile(recorded.values().copied(), (1.0 - 1.0 / self.rf) * 100.0)
    }

    /// Ray's `_Bracket.on_result`: records the trial at the first rung it reaches and
    /// decides.
    pub fn on_result(&mut self, trial_id: &str, cur_iter: f64, cur_rew: f64) -> Decision {
        let mut action = Decision::Continue;
        for r in 0..self.rungs.len() {
            let (milestone, ref recorded) = self.rungs[r];
            let seen = recorded.contains_key(trial_id);
            if cur_iter >= milestone && seen && !self.stop_last_trials {
                break;
            }
            if cur_iter < milestone || seen {
                continue;
            }
            if let Some(cutoff) = self.cutoff(recorded) {
                if cur_rew < cutoff {
                    action = Decision::Stop;
                }
            }
            self.rungs[r].1.insert(trial_id.to_string(), cur_rew);
            break;
        }
        action
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    brackets: Vec<Bracket>,
    trial_bracket: BTreeMap<String, usize>,
    num_stopped: usize,
    #[serde(with = "super::rng_serde")]
    rng: Rng,
}

/// Ray's `AsyncHyperBandScheduler` (alias `ASHAScheduler`), with Ray's defaults:
/// `time_attr = "training_iteration"`, `max_t = 100`, `grace_period = 1`,
/// `reduction_factor = 4`, `brackets = 1`, `stop_last_trials = true`.
#[derive(Clone, Debug)]
pub struct AsyncHyperBandScheduler {
    /// The result key measuring progress (must increase).
    pub time_attr: String,
    /// The metric (default: the sweep's).
    pub metric: Option<String>,
    /// Its mode (default: the sweep's).
    pub mode: Option<Mode>,
    /// Trials stop when `time_attr` reaches this.
    pub max_t: f64,
    /// No trial stops before this.
    pub grace_period: f64,
    /// Halving rate.
    pub reduction_factor: f64,
    /// Number of brackets.
    pub brackets: usize,
    /// Stop trials that reach `max_t`.
    pub stop_last_trials: bool,
    state: Option<State>,
}

/// Ray's alias.
pub type ASHAScheduler = AsyncHyperBandScheduler;

impl Default for AsyncHyperBandScheduler {
    fn default() -> Self {
        AsyncHyperBandScheduler {
            time_attr: "training_iteration".into(),
            metric: None,
            mode: None,
            max_t: 100.0,
            grace_period: 1.0,
            reduction_factor: 4.0,
            brackets: 1,
            stop_last_trials: true,
            state: None,
        }
    }
}

setters!(AsyncHyperBandScheduler {
    metric;
    /// Sets `max_t`.
    max_t: f64 => max_t;
    /// Sets `grace_period`.
    grace_period: f64 => grace_period;
    /// Sets `reduction_factor`.
    reduction_factor: f64 => reduction_factor;
    /// Sets `brackets`.
    brackets: usize => brackets;
    /// Sets `time_attr`.
    time_attr: &str => time_attr;
});

impl AsyncHyperBandScheduler {
    /// Ray's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// The brackets (after the sweep started).
    pub fn bracket_state(&self) -> &[Bracket] {
        self.state.as_ref().map_or(&[], |s| &s.brackets)
    }

    /// Trials stopped early so far.
    pub fn num_stopped(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.num_stopped)
    }

    fn state(&mut self) -> &mut State {
        self.state.get_or_insert_with(|| State {
            brackets: Vec::new(),
            trial_bracket: BTreeMap::new(),
            num_stopped: 0,
            rng: Rng::seed_from_u64(0),
        })
    }

    /// Builds the brackets and the bracket-choice RNG (seeded from the sweep's seed).
    pub(crate) fn init(&mut self, seed: u64) -> Result<(), TuneError> {
        let bad = |m: String| Err(TuneError::Config(format!("AsyncHyperBandScheduler: {m}")));
        if self.max_t.is_nan() || self.max_t <= 0.0 {
            return bad(format!("max_t = {} must be positive", self.max_t));
        }
        if self.grace_period.is_nan() || self.grace_period <= 0.0 || self.grace_period > self.max_t
        {
            return bad(format!(
                "grace_period = {} must be positive and at most max_t = {}",
                self.grace_period, self.max_t
            ));
        }
        if self.reduction_factor.is_nan() || self.reduction_factor <= 1.0 {
            return bad(format!(
                "reduction_factor = {} must be greater than 1",
                self.reduction_factor
            ));
        }
        if self.brackets == 0 {
            return bad("brackets must be at least 1".into());
        }
        let brackets = (0..self.brackets)
            .map(|s| {
                Bracket::new(
                    self.grace_period,
                    self.max_t,
                    self.reduction_factor,
                    s,
                    self.stop_last_trials,
                )
            })
            .collect();
        self.state = Some(State {
            brackets,
            trial_bracket: BTreeMap::new(),
            num_stopped: 0,
            rng: Rng::seed_from_u64(derive_seed(seed, &["tune", "asha"])),
        });
        Ok(())
    }

    fn reward(&self, result: &ResultDict) -> Option<(f64, f64)> {
        let t = metric_value(result, &self.time_attr)?;
        let m = metric_value(result, self.metric.as_deref()?)?;
        Some((t, self.mode?.sign() * m))
    }
}

impl TrialScheduler for AsyncHyperBandScheduler {
    fn name(&self) -> &str {
        "AsyncHyperBandScheduler"
    }

    fn set_search_properties(
        &mut self,
        metric: Option<&str>,
        mode: Option<Mode>,
        seed: u64,
    ) -> Result<(), TuneError> {
        resolve_metric(
            "AsyncHyperBandScheduler",
            &mut self.metric,
            &mut self.mode,
            metric,
            mode,
        )?;
        self.init(seed)
    }

    fn ordering(&self) -> Ordering {
        Ordering::Sequential
    }

    fn time_attr(&self) -> &str {
        &self.time_attr
    }

    fn on_trial_add(&mut self, trial: &TrialInfo<'_>, _config: &mut Value) {
        let state = self.state();
        let sizes: Vec<f64> = state
            .brackets
            .iter()
            .map(|b| b.rungs.len() as f64)
            .collect();
        let idx = if sizes.len() <= 1 {
            0
        } else {
            let max = sizes.iter().copied().fold(f64::MIN, f64::max);
            let probs: Vec<f64> = sizes.iter().map(|s| (s - max).exp()).collect();
            let total: f64 = probs.iter().sum();
            let u = state.rng.gen::<f64>() * total;
            let mut acc = 0.0;
            probs
                .iter()
                .position(|p| {
                    acc += p;
                    u < acc
                })
                .unwrap_or(probs.len() - 1)
        };
        state.trial_bracket.insert(trial.trial_id.to_string(), idx);
    }

    fn on_trial_result(&mut self, trial: &TrialInfo<'_>, result: &ResultDict) -> Decision {
        let Some((t, rew)) = self.reward(result) else {
            return Decision::Continue;
        };
        let (max_t, stop_last) = (self.max_t, self.stop_last_trials);
        let state = self.state();
        let action = if t >= max_t && stop_last {
            Decision::Stop
        } else {
            let b = state
                .trial_bracket
                .get(trial.trial_id)
                .copied()
                .unwrap_or(0);
            match state.brackets.get_mut(b) {
                Some(bracket) => bracket.on_result(trial.trial_id, t, rew),
                None => Decision::Continue,
            }
        };
        if action == Decision::Stop {
            state.num_stopped += 1;
        }
        action
    }

    fn on_trial_complete(&mut self, trial: &TrialInfo<'_>, result: Option<&ResultDict>) {
        let reward = result.and_then(|r| self.reward(r));
        let state = self.state();
        let b = state.trial_bracket.remove(trial.trial_id);
        if let (Some((t, rew)), Some(b)) = (reward, b) {
            if let Some(bracket) = state.brackets.get_mut(b) {
                bracket.on_result(trial.trial_id, t, rew);
            }
        }
    }

    fn settings(&self) -> Value {
        self.settings_json()
    }

    fn save_state(&self) -> Value {
        super::state_json(&self.state)
    }

    fn restore_state(&mut self, state: &Value) -> Result<(), TuneError> {
        self.state = serde_json::from_value(state.clone())
            .map_err(|e| TuneError::Restore(format!("AsyncHyperBandScheduler state: {e}")))?;
        Ok(())
    }

    fn debug_string(&self) -> String {
        let mut out = format!("Using AsyncHyperBand: num_stopped={}", self.num_stopped());
        for b in self.bracket_state() {
            let iters: Vec<String> = b
                .rungs
                .iter()
                .map(|(m, rec)| {
                    let c = b.cutoff(rec).map_or("None".to_string(), |c| format!("{c}"));
                    format!("Iter {m:.3}: {c}")
                })
                .collect();
            out.push_str(&format!("\nBracket: {}", iters.join(" | ")));
        }
        out
    }
}

impl AsyncHyperBandScheduler {
    fn settings_json(&self) -> Value {
        json!({
            "time_attr": self.time_attr, "metric": self.metric, "mode": self.mode,
            "max_t": self.max_t, "grace_period": self.grace_period,
            "reduction_factor": self.reduction_factor, "brackets": self.brackets,
            "stop_last_trials": self.stop_last_trials,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_as_ray_builds_them() {
        // Ray: _Bracket(1, 10, 2, 0) → MAX_RUNGS = int(log(10)/log(2) + 1) = 4: 8, 4, 2, 1.
        assert_eq!(
            Bracket::new(1.0, 10.0, 2.0, 0, true).milestones(),
            vec![8.0, 4.0, 2.0, 1.0]
        );
        // Defaults (grace 1, max_t 100, rf 4): 64, 16, 4, 1.
        assert_eq!(
            Bracket::new(1.0, 100.0, 4.0, 0, true).milestones(),
            vec![64.0, 16.0, 4.0, 1.0]
        );
        // Bracket s = 1 starts one rung later and has one fewer.
        assert_eq!(
            Bracket::new(1.0, 100.0, 4.0, 1, true).milestones(),
            vec![64.0, 16.0, 4.0]
        );
        // log(81)/log(3) is 4.000000000000001 in floating point: five rungs, as in Ray.
        assert_eq!(Bracket::new(1.0, 81.0, 3.0, 0, true).milestones().len(), 5);
    }

    #[test]
    fn bracket_decisions_match_rays_docstring_example() {
        // Ray's _Bracket docstring: b = _Bracket(1, 10, 2, 0); trial1 at 1 with 2 →
        // CONTINUE; trial2 at 1 with 4 → CONTINUE; cutoff of the lowest rung = 3.0;
        // trial3 at 1 with 1 → STOP.
        let mut b = Bracket::new(1.0, 10.0, 2.0, 0, true);
        assert_eq!(b.on_result("t1", 1.0, 2.0), Decision::Continue);
        assert_eq!(b.on_result("t2", 1.0, 4.0), Decision::Continue);
        assert_eq!(b.cutoff(&b.rungs[3].1), Some(3.0));
        assert_eq!(b.on_result("t3", 1.0, 1.0), Decision::Stop);
        // Ray: after trial3 is recorded, the cutoff of [2, 4, 1] at the 50th percentile is 2.
        assert_eq!(b.cutoff(&b.rungs[3].1), Some(2.0));
        // A trial is compared once per rung: trial1 at 1 again does nothing.
        assert_eq!(b.on_result("t1", 1.0, -100.0), Decision::Continue);
        // At iteration 3 trial1 reaches the rung at 2 (empty): recorded, continues.
        assert_eq!(b.on_result("t1", 3.0, 2.0), Decision::Continue);
        // trial2 reaches rung 2 with 1.5 < cutoff(percentile 50 of [2]) = 2 → STOP.
        assert_eq!(b.on_result("t2", 2.0, 1.5), Decision::Stop);
    }

    #[test]
    fn percentile_interpolates_like_numpy() {
        // np.nanpercentile([1, 2, 3, 4], 75) = 3.25; with rf = 4 the cutoff is the 75th.
        assert_eq!(nanpercentile([4.0, 1.0, 3.0, 2.0], 75.0), Some(3.25));
        assert_eq!(nanpercentile([1.0, f64::NAN, 3.0], 50.0), Some(2.0));
        assert_eq!(nanpercentile([f64::NAN], 50.0), None);
        assert_eq!(nanpercentile([5.0], 75.0), Some(5.0));
    }

    fn result(t: f64, m: f64) -> ResultDict {
        json!({"training_iteration": t, "m": m})
            .as_object()
            .unwrap()
            .clone()
    }

    #[test]
    fn scheduler_stops_at_max_t_and_uses_the_mode() {
        let mut s = AsyncHyperBandScheduler::new()
            .metric("m", Mode::Min)
            .max_t(4.0)
            .grace_period(1.0)
            .reduction_factor(2.0);
        s.init(0).unwrap();
        let cfg = Value::Null;
        let info = |id: &'static str| TrialInfo {
            index: 0,
            trial_id: id,
            config: &cfg,
        };
        for id in ["a", "b"] {
            s.on_trial_add(&info(id), &mut Value::Null);
        }
        // Mode min: lower is better, so b (10) is worse than a (1) and stops at rung 1.
        assert_eq!(
            s.on_trial_result(&info("a"), &result(1.0, 1.0)),
            Decision::Continue
        );
        assert_eq!(
            s.on_trial_result(&info("b"), &result(1.0, 10.0)),
            Decision::Stop
        );
        assert_eq!(
            s.on_trial_result(&info("a"), &result(4.0, 1.0)),
            Decision::Stop
        );
        assert_eq!(s.num_stopped(), 2);
        let saved = s.save_state();
        assert!(saved["brackets"].is_array(), "{saved}");
        let mut t = AsyncHyperBandScheduler::new().metric("m", Mode::Min);
        t.restore_state(&saved).unwrap();
        assert_eq!(t.save_state(), saved);
        let e = AsyncHyperBandScheduler::new().set_search_properties(None, None, 0);
        assert!(e.unwrap_err().to_string().contains("needs a metric"));
    }
}
