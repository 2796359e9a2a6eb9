//! [`StepContext`]: what an algorithm's `training_step` reaches the driver's machinery
//! through — sampling from the env runners, reporting learner statistics, sending weights —
//! and the per-iteration tallies the driver turns into the result dict.

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::Value;

use crate::algorithm::{AlgorithmConfig, AlgorithmError, Counters};
use crate::episode::Episode;
use crate::learner::{LearnerError, UpdateReport};
use crate::metrics::{EpisodeStats, EpisodeWindow, ResultDict};
use crate::runner::EnvRunnerGroup;

/// What one iteration accumulates across its `training_step` calls.
#[derive(Debug, Default)]
pub(crate) struct IterationTally {
    /// Env steps sampled for training this iteration.
    pub env_steps: usize,
    /// Episodes that ended this iteration.
    pub finished: Vec<EpisodeStats>,
    /// `timers/<name>` seconds, summed over the calls.
    pub timers: BTreeMap<String, f64>,
    /// The last update's report and the updates' totals.
    pub update: Option<UpdateReport>,
    /// Rows through gradient updates this iteration.
    pub num_module_steps_trained: u64,
    /// RLlib's `num_env_steps_trained` this iteration.
    pub num_env_steps_trained: u64,
    /// Seconds the learner spent updating this iteration.
    pub learner_seconds: f64,
    /// Result keys an algorithm set itself.
    pub extra: Vec<(String, Value)>,
    /// `training_step` calls so far.
    pub calls: usize,
}

/// The driver's machinery as an algorithm's `training_step` sees it (RLlib's
/// `self.env_runner_group`, `self.metrics` and `synchronous_parallel_sample` inside
/// `training_step`).
pub struct StepContext<'a> {
    pub(crate) config: &'a AlgorithmConfig,
    /// [`AlgoConfig::get_rollout_fragment_length`](crate::algorithm::AlgoConfig::get_rollout_fragment_length).
    pub(crate) rollout_fragment_length: usize,
    pub(crate) runners: &'a mut EnvRunnerGroup,
    pub(crate) window: &'a mut EpisodeWindow,
    pub(crate) counters: &'a mut Counters,
    pub(crate) connector_states: &'a mut Vec<Option<Value>>,
    pub(crate) tally: &'a mut IterationTally,
}

impl std::fmt::Debug for StepContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepContext")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl StepContext<'_> {
    /// The shared settings.
    pub fn config(&self) -> &AlgorithmConfig {
        self.config
    }

    /// The run's counters before this step's updates (e.g. `num_env_steps_sampled_lifetime`
    /// positions schedules).
    pub fn counters(&self) -> &Counters {
        self.counters
    }

    /// The training env runners (to sample in ways the helpers here do not cover).
    pub fn env_runners(&mut self) -> &mut EnvRunnerGroup {
        self.runners
    }

    /// Samples rounds of `rollout_fragment_length` steps per env (as the algorithm's config
    /// resolves it, [`AlgoConfig::get_rollout_fragment_length`]) from every runner until at
    /// least `min_env_steps` env steps are collected (RLlib's
    /// `synchronous_parallel_sample(max_env_steps=…)`; `min_env_steps` ≤ 1 is one round,
    /// RLlib's call without a maximum), merges the runners' connector states, and counts
    /// the steps and finished episodes into the iteration's metrics.
    ///
    /// [`AlgoConfig::get_rollout_fragment_length`]: crate::algorithm::AlgoConfig::get_rollout_fragment_length
    pub fn sample_env_steps(
        &mut self,
        min_env_steps: usize,
    ) -> Result<Vec<Episode>, AlgorithmError> {
        let t = Instant::now();
        let steps_per_env = self.rollout_fragment_length;
        let mut episodes = Vec::new();
        let mut finished: Vec<EpisodeStats> = Vec::new();
        let mut env_steps = 0;
        loop {
            let out = self.runners.sample(steps_per_env)?;
            env_steps += out.env_steps;
            episodes.extend(out.episodes);
            finished.extend(out.finished);
            if env_steps >= min_env_steps {
                break;
            }
        }
        self.add_timer("env_runner_sampling_timer", t.elapsed().as_secs_f64());

        // Merge connector states (observation filters) across runners.
        let t = Instant::now();
        *self.connector_states = self.runners.sync_connector_states()?;
        self.add_timer("synch_env_connectors", t.elapsed().as_secs_f64());

        self.window.extend(finished.iter().copied());
        self.counters.num_env_steps_sampled_lifetime += env_steps as u64;
        self.counters.num_episodes_lifetime += finished.len() as u64;
        self.tally.env_steps += env_steps;
        self.tally.finished.extend(finished);
        Ok(episodes)
    }

    /// Counts a learner update that took `seconds`: its statistics go under
    /// `learners/default_policy/` (the last update's, when a step runs several), its row
    /// counts into the counters.
    pub fn record_update(&mut self, report: UpdateReport, seconds: f64) {
        self.add_timer("learner_update_timer", seconds);
        self.tally.learner_seconds += seconds;
        self.counters.num_env_steps_trained_lifetime += report.num_env_steps_trained;
        self.counters.num_module_steps_trained_lifetime += report.num_module_steps_trained;
        self.tally.num_env_steps_trained += report.num_env_steps_trained;
        self.tally.num_module_steps_trained += report.num_module_steps_trained;
        self.tally.update = Some(report);
    }

    /// Runs a learner update, timing it, and records its report as
    /// [`record_update`](Self::record_update) does: `ctx.learner_update(|| learner.update(…))?`.
    /// A refused update ([`LearnerError::NonFinite`](crate::learner::LearnerError::NonFinite))
    /// comes back with this iteration's number in it.
    pub fn learner_update(
        &mut self,
        update: impl FnOnce() -> Result<UpdateReport, LearnerError>,
    ) -> Result<(), AlgorithmError> {
        let t = Instant::now();
        let iteration = self.counters.training_iteration + 1;
        let report = update().map_err(|e| e.in_iteration(iteration))?;
        self.record_update(report, t.elapsed().as_secs_f64());
        Ok(())
    }

    /// Sends `weights` (the acting module's, flattened) to every training env runner. The
    /// run's env-step count goes to them once per iteration, after the training steps (as
    /// RLlib's `sync_env_runner_states`), not with every weight sync.
    pub fn sync_weights(&mut self, weights: &[f32]) -> Result<(), AlgorithmError> {
        let t = Instant::now();
        self.runners.sync_weights(weights)?;
        self.add_timer("synch_weights", t.elapsed().as_secs_f64());
        Ok(())
    }

    /// Adds `seconds` to the iteration's `timers/<name>`.
    pub fn add_timer(&mut self, name: &str, seconds: f64) {
        *self.tally.timers.entry(name.to_string()).or_default() += seconds;
    }

    /// Sets a result key of the algorithm's own (a `/`-separated path, e.g.
    /// `"learners/default_policy/num_target_updates"` or `"replay_buffer/num_env_steps_stored"`).
    pub fn set_result(&mut self, path: &str, value: impl Into<Value>) {
        self.tally.extra.push((path.to_string(), value.into()));
    }
}

/// Sets `path` in `r` (see [`crate::metrics::set_path`]).
pub(crate) fn put(r: &mut ResultDict, path: &str, value: impl Into<Value>) {
    crate::metrics::set_path(r, path, value);
}
