//! Trial schedulers (Ray's `tune.schedulers`): FIFO, ASHA, the median stopping rule and
//! Population Based Training, and the trait to write others.
//!
//! # When a scheduler sees results (determinism)
//!
//! Ray hands each result to the scheduler the moment it arrives, so the decisions of
//! schedulers that compare trials (ASHA's rung cut-offs, the median rule, PBT's quantiles)
//! depend on which trial happened to finish its iteration first. Here every scheduler
//! declares an [`Ordering`], and the controller hands it results in an order that does not
//! depend on thread timing:
//!
//! - [`Ordering::Independent`] (FIFO): decisions read only the trial's own results; each
//!   result is decided as soon as it arrives.
//! - [`Ordering::Sequential`] (ASHA, median stopping): trial `j`'s result at time `t` is
//!   decided only once every trial with a smaller index has been decided up to time `t` or
//!   has ended. Decisions are those of a run that trains one trial at a time (Ray with
//!   `max_concurrent_trials=1`), whatever `max_concurrent_trials` is; a trial that gets
//!   ahead waits, while the shared threads keep training the others.
//! - [`Ordering::Synchronous`] (PBT): trials pause at each barrier (the next perturbation
//!   time) until every live trial has reached it; the scheduler then decides for the whole
//!   population at once, in trial order (Ray's `synch=True`).

pub mod asha;
pub mod median;
pub mod pbt;

use rl_core::metrics::ResultDict;
use serde_json::{json, Value};

pub use asha::AsyncHyperBandScheduler;
pub use median::MedianStoppingRule;
pub use pbt::PopulationBasedTraining;

use super::{Mode, TuneError};

/// What the controller does with a trial after a result (Ray's `TrialScheduler.CONTINUE`,
/// `STOP`, `PAUSE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Train another iteration.
    Continue,
    /// End the trial (TERMINATED).
    Stop,
    /// Wait at the scheduler's barrier ([`Ordering::Synchronous`] only).
    Pause,
}

/// In which order a scheduler is shown results (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ordering {
    /// As they come: decisions read only the trial's own results.
    Independent,
    /// By trial index, then time: each decision sees what a one-trial-at-a-time run sees.
    Sequential,
    /// The population meets at barriers.
    Synchronous,
}

/// What a scheduler is told about a trial.
#[derive(Clone, Copy, Debug)]
pub struct TrialInfo<'a> {
    /// The trial's index in the sweep (0, 1, …).
    pub index: usize,
    /// Ray's trial id (`d4590_00000`).
    pub trial_id: &'a str,
    /// The trial's config.
    pub config: &'a Value,
}

/// One member of the population at a barrier.
#[derive(Clone, Debug)]
pub struct Member<'a> {
    /// The trial.
    pub trial: TrialInfo<'a>,
    /// Its result at the barrier.
    pub result: &'a ResultDict,
}

/// What a [`Ordering::Synchronous`] scheduler asks for at a barrier, carried out in order.
#[derive(Clone, Debug, PartialEq)]
pub enum BarrierAction {
    /// Save a checkpoint of this trial (by index) now.
    Checkpoint(usize),
    /// Make trial `trial` continue from trial `from`'s checkpoint just saved, with
    /// `config` (PBT's exploit and explore).
    Exploit {
        /// The trial that is replaced.
        trial: usize,
        /// The trial it clones.
        from: usize,
        /// Its new config.
        config: Value,
    },
}

/// A trial scheduler (Ray's `TrialScheduler`).
pub trait TrialScheduler: Send {
    /// Its name for the console (`AsyncHyperBandScheduler`).
    fn name(&self) -> &str;
    /// Receives the sweep's metric and mode unless the scheduler has its own (Ray's
    /// `set_search_properties`), and the sweep's seed for its randomness; errors when it
    /// ends up without a metric or mode but needs them.
    fn set_search_properties(
        &mut self,
        metric: Option<&str>,
        mode: Option<Mode>,
        seed: u64,
    ) -> Result<(), TuneError>;
    /// In which order the controller shows it results.
    fn ordering(&self) -> Ordering {
        Ordering::Independent
    }
    /// The result key it measures time in (for [`Ordering::Sequential`]).
    fn time_attr(&self) -> &str {
        "training_iteration"
    }
    /// A trial was created; the scheduler may fill in keys of its config (PBT samples the
    /// hyperparameters it mutates when the param space does not set them).
    fn on_trial_add(&mut self, _trial: &TrialInfo<'_>, _config: &mut Value) {}
    /// A trial reported a result (stop criteria already checked).
    fn on_trial_result(&mut self, trial: &TrialInfo<'_>, result: &ResultDict) -> Decision;
    /// A trial ended: stopped by a criterion or by the scheduler, or finished.
    fn on_trial_complete(&mut self, _trial: &TrialInfo<'_>, _result: Option<&ResultDict>) {}
    /// A trial failed for good.
    fn on_trial_error(&mut self, _trial: &TrialInfo<'_>) {}
    /// The next barrier time ([`Ordering::Synchronous`] only).
    fn next_barrier(&self) -> Option<f64> {
        None
    }
    /// Every live trial is paused at the barrier: decide for the population (in trial
    /// order) and move the barrier on.
    fn on_barrier(&mut self, _population: &[Member<'_>]) -> Vec<BarrierAction> {
        Vec::new()
    }
    /// Its state, for the experiment state file.
    fn save_state(&self) -> Value;
    /// Restores [`save_state`](Self::save_state)'s output.
    fn restore_state(&mut self, state: &Value) -> Result<(), TuneError>;
    /// Its settings as JSON, from which [`Tuner::restore`](crate::tune::Tuner::restore)
    /// rebuilds the built-in schedulers (`null`: it cannot be rebuilt; pass it again).
    fn settings(&self) -> Value {
        Value::Null
    }
    /// Config keys it changes during the sweep (shown as parameter columns).
    fn mutated_keys(&self) -> Vec<String> {
        Vec::new()
    }
    /// A one-line summary (Ray's `debug_string`).
    fn debug_string(&self) -> String {
        self.name().to_string()
    }
}

/// Ray's default: trials run in order, each until its stop criteria (First In, First Out).
#[derive(Clone, Debug, Default)]
pub struct FIFOScheduler;

impl FIFOScheduler {
    /// The FIFO scheduler.
    pub fn new() -> Self {
        FIFOScheduler
    }
}

impl TrialScheduler for FIFOScheduler {
    fn name(&self) -> &str {
        "FIFOScheduler"
    }

    fn set_search_properties(
        &mut self,
        _: Option<&str>,
        _: Option<Mode>,
        _: u64,
    ) -> Result<(), TuneError> {
        Ok(())
    }

    fn on_trial_result(&mut self, _: &TrialInfo<'_>, _: &ResultDict) -> Decision {
        Decision::Continue
    }

    fn settings(&self) -> Value {
        json!({})
    }

    fn save_state(&self) -> Value {
        json!({})
    }

    fn restore_state(&mut self, _: &Value) -> Result<(), TuneError> {
        Ok(())
    }
}

/// The metric and mode a scheduler uses: its own, else the sweep's; an error naming the
/// scheduler when neither is set.
pub(crate) fn resolve_metric(
    name: &str,
    own: &mut Option<String>,
    own_mode: &mut Option<Mode>,
    metric: Option<&str>,
    mode: Option<Mode>,
) -> Result<(), TuneError> {
    if own.is_none() {
        *own = metric.map(str::to_string);
    }
    if own_mode.is_none() {
        *own_mode = mode;
    }
    if own.is_none() || own_mode.is_none() {
        return Err(TuneError::Config(format!(
            "{name} needs a metric and a mode: pass them to the scheduler or to TuneConfig::metric(\"evaluation/env_runners/episode_return_mean\", Mode::Max)"
        )));
    }
    Ok(())
}

/// Serde for a scheduler's RNG: PCG-64's 128-bit state as decimal strings
/// (`RngState`), since JSON values cannot hold 128-bit integers.
pub(crate) mod rng_serde {
    use rl_core::algorithm::checkpoint::RngState;
    use rl_core::Rng;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(rng: &Rng, s: S) -> Result<S::Ok, S::Error> {
        RngState::of(rng)
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Rng, D::Error> {
        RngState::deserialize(d)?
            .to_rng()
            .map_err(serde::de::Error::custom)
    }
}

/// A scheduler's state as JSON; a state that does not serialize is reported in place (a
/// restore then fails saying so).
pub(crate) fn state_json<T: serde::Serialize>(state: &T) -> Value {
    serde_json::to_value(state).unwrap_or_else(
        |e| json!({ "error": format!("the scheduler state does not serialize: {e}") }),
    )
}

/// `result[key]` as a number (nested keys joined by `/`); `None` when absent or null.
pub(crate) fn metric_value(result: &ResultDict, key: &str) -> Option<f64> {
    rl_core::metrics::get_path(result, key).and_then(Value::as_f64)
}
