//! The driver's checkpoints: [`Driver::save_to_path`], [`Driver::from_checkpoint`],
//! [`Driver::restore_from_path`], periodic and end-of-run checkpoints into the run's output
//! directory ([`Driver::stop`]).
//!
//! A checkpoint holds everything needed to continue as if never stopped: the config, the
//! counters, the episode window, the driver's and every env runner's connector states, each
//! env runner's action RNG, envs and running episodes — and the algorithm's own state
//! ([`AlgorithmLogic::save_state`]: module weights, optimizer, …) — so that training N
//! iterations, saving, restoring and training M more gives the same results, bit for bit,
//! as N + M iterations in one go.
//!
//! Layout (`docs/checkpoints.md` documents each file):
//!
//! ```text
//! metadata.json                            format, versions, spaces, sha256 of each file
//! algorithm_state.json                     config, counters, episode window, filters
//! learner/…                                the algorithm's own (PPO: module, optimizer)
//! env_runner/env_to_module_connector.json  the env→module pipeline with its state
//! env_runner/module_to_env_connector.json  the module→env pipeline
//! env_runner/runner_000.json …             each training env runner's state
//! evaluation_env_runner/runner_000.json …  each evaluation env runner's state
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::algorithm::checkpoint::{
    self as ckpt, CheckpointError, CheckpointErrorKind, CheckpointReader, CheckpointWriter,
    Metadata,
};
use crate::algorithm::config::AlgoConfig;
use crate::algorithm::logic::AlgorithmLogic;
use crate::algorithm::{AlgorithmError, ConfigError, Counters};
use crate::connectors::{EnvToModule, Pipeline};
use crate::metrics::EpisodeWindow;
use crate::runner::{EnvRunnerGroup, EnvRunnerState, RunnerError};

use super::{Driver, DEFAULT_MODULE_ID};

pub use crate::algorithm::checkpoint::ALGORITHM_STATE_FILE;
/// The env→module pipeline with the driver's (merged) connector states.
pub const ENV_TO_MODULE_FILE: &str = "env_runner/env_to_module_connector.json";
/// The module→env pipeline.
pub const MODULE_TO_ENV_FILE: &str = "env_runner/module_to_env_connector.json";
const TRAIN_RUNNERS: &str = "env_runner";
const EVAL_RUNNERS: &str = "evaluation_env_runner";

fn runner_file(group: &str, index: usize) -> String {
    format!("{group}/runner_{index:03}.json")
}

/// `algorithm_state.json`.
#[derive(Serialize, Deserialize)]
struct AlgorithmState<C> {
    algorithm: String,
    config: C,
    counters: Counters,
    episode_window: EpisodeWindow,
    /// The driver's merged env→module connector states, one per connector.
    connector_states: Vec<Option<Value>>,
    /// Number of `env_runner/runner_NNN.json` files.
    num_env_runner_states: usize,
    /// Number of `evaluation_env_runner/runner_NNN.json` files.
    num_evaluation_env_runner_states: usize,
}

/// Everything read from a checkpoint, validated, before any of it is applied.
struct Loaded<C, S> {
    state: AlgorithmState<C>,
    logic: S,
    runners: Vec<EnvRunnerState>,
    eval_runners: Vec<EnvRunnerState>,
}

fn read_runner_states(
    reader: &CheckpointReader,
    group: &str,
    count: usize,
) -> Result<Vec<EnvRunnerState>, CheckpointError> {
    if count > 4096 {
        return Err(CheckpointError::malformed(
            reader.path(ALGORITHM_STATE_FILE),
            format!("{count} env runner states is implausible"),
        ));
    }
    (0..count)
        .map(|i| {
            let rel = runner_file(group, i);
            let state: EnvRunnerState = reader.read_json(&rel)?;
            if state.index != i {
                return Err(CheckpointError::malformed(
                    reader.path(&rel),
                    format!("holds the state of runner {}, not {i}", state.index),
                ));
            }
            Ok(state)
        })
        .collect()
}

/// Whether saved runner states fit a group (same count and envs per runner).
fn layout_matches(group: &EnvRunnerGroup, states: &[EnvRunnerState]) -> bool {
    group.runners().len() == states.len()
        && group
            .runners()
            .iter()
            .zip(states)
            .all(|(r, s)| r.spec().num_envs == s.num_envs)
}

impl<L: AlgorithmLogic> Driver<L> {
    fn no_runner() -> AlgorithmError {
        AlgorithmError::Config(ConfigError("the algorithm has no env runner".into()))
    }

    /// Saves a checkpoint of everything needed to continue training exactly from here into
    /// `dir` (created; an existing checkpoint there is replaced atomically); returns the
    /// directory. See the module docs of `driver::checkpointing` and `docs/checkpoints.md`.
    pub fn save_to_path(&self, dir: impl AsRef<Path>) -> Result<PathBuf, AlgorithmError> {
        let r0 = self.runners.runners().first().ok_or_else(Self::no_runner)?;
        let runner_states = self.runners.get_state()?;
        let eval_states = match &self.eval_runners {
            Some(g) => g.get_state()?,
            None => Vec::new(),
        };
        let mut w = CheckpointWriter::begin(dir)?;
        w.write_json(
            ALGORITHM_STATE_FILE,
            &AlgorithmState {
                algorithm: L::NAME.into(),
                config: self.config.clone(),
                counters: self.counters.clone(),
                episode_window: self.window.clone(),
                connector_states: self.connector_states.clone(),
                num_env_runner_states: runner_states.len(),
                num_evaluation_env_runner_states: eval_states.len(),
            },
        )?;
        self.logic.save_state(&mut w)?;
        // The connector pipelines, with the driver's merged states (what the module sees).
        w.write_json(ENV_TO_MODULE_FILE, &self.driver_env_to_module()?)?;
        w.write_json(MODULE_TO_ENV_FILE, r0.module_to_env())?;
        for (i, s) in runner_states.iter().enumerate() {
            w.write_json(&runner_file(TRAIN_RUNNERS, i), s)?;
        }
        for (i, s) in eval_states.iter().enumerate() {
            w.write_json(&runner_file(EVAL_RUNNERS, i), s)?;
        }
        let metadata = Metadata {
            format_version: ckpt::FORMAT_VERSION,
            framework: ckpt::FRAMEWORK.into(),
            framework_version: ckpt::FRAMEWORK_VERSION.into(),
            checkpoint_type: "Algorithm".into(),
            algorithm: L::NAME.into(),
            modules: BTreeMap::from([(DEFAULT_MODULE_ID.to_string(), L::MODULE_CLASS.to_string())]),
            observation_space: r0.observation_space().clone(),
            action_space: r0.action_space().clone(),
            training_iteration: self.counters.training_iteration as u64,
            files: BTreeMap::new(),
        };
        Ok(w.commit(metadata)?)
    }

    /// The env→module pipeline as the driver sees it: runner 0's connectors with the
    /// driver's merged states (what a policy exported from this algorithm must use).
    pub fn driver_env_to_module(&self) -> Result<Pipeline<dyn EnvToModule>, AlgorithmError> {
        let r0 = self.runners.runners().first().ok_or_else(Self::no_runner)?;
        let mut e2m = r0.env_to_module().clone();
        for (c, s) in e2m.connectors_mut().iter_mut().zip(&self.connector_states) {
            if let Some(s) = s {
                c.set_state(s).map_err(RunnerError::from)?;
            }
        }
        Ok(e2m)
    }

    /// Builds the algorithm from a checkpoint (RLlib's `Algorithm.from_checkpoint`): the
    /// config saved in it, then every state restored. Training continues exactly where the
    /// saved algorithm stopped.
    pub fn from_checkpoint(dir: impl AsRef<Path>) -> Result<Self, AlgorithmError> {
        let reader = CheckpointReader::open(dir)?;
        let mut algo = Driver::<L>::new(ckpt::read_saved_config(&reader, L::NAME)?)?;
        algo.restore_from_reader(&reader)?;
        Ok(algo)
    }

    /// Restores this algorithm's state from a checkpoint (RLlib's `restore_from_path`),
    /// keeping its config. The checkpoint must be of the same algorithm for the same
    /// observation and action spaces and module architecture. Env runners restore their
    /// RNGs, envs and running episodes when the checkpoint has as many runners with as many
    /// envs each; otherwise they start fresh episodes with the checkpoint's weights and
    /// filter statistics. `iterations_since_restore` restarts from 0.
    ///
    /// Every file is read and checked before anything changes; should applying the state
    /// still fail (a connector or env refusing its saved state), the algorithm may be
    /// partly restored: restore again or build a new one.
    pub fn restore_from_path(&mut self, dir: impl AsRef<Path>) -> Result<(), AlgorithmError> {
        let reader = CheckpointReader::open(dir)?;
        self.restore_from_reader(&reader)
    }

    fn read_all(
        &self,
        reader: &CheckpointReader,
    ) -> Result<Loaded<L::Config, L::State>, AlgorithmError> {
        reader.expect_algorithm(L::NAME)?;
        let r0 = self.runners.runners().first().ok_or_else(Self::no_runner)?;
        reader.expect_spaces(r0.observation_space(), r0.action_space())?;
        let state: AlgorithmState<L::Config> = reader.read_json(ALGORITHM_STATE_FILE)?;
        if state.algorithm != L::NAME {
            return Err(CheckpointError::new(
                reader.path(ALGORITHM_STATE_FILE),
                CheckpointErrorKind::WrongAlgorithm {
                    found: state.algorithm,
                    expected: L::NAME.into(),
                },
            )
            .into());
        }
        let logic = self.logic.read_state(reader)?;
        let runners = read_runner_states(reader, TRAIN_RUNNERS, state.num_env_runner_states)?;
        let eval_runners =
            read_runner_states(reader, EVAL_RUNNERS, state.num_evaluation_env_runner_states)?;
        // The pipelines are read too, so that a checkpoint missing them is refused here.
        let _: Value = reader.read_json(ENV_TO_MODULE_FILE)?;
        let _: Value = reader.read_json(MODULE_TO_ENV_FILE)?;
        Ok(Loaded {
            state,
            logic,
            runners,
            eval_runners,
        })
    }

    fn restore_from_reader(&mut self, reader: &CheckpointReader) -> Result<(), AlgorithmError> {
        let Loaded {
            state,
            logic,
            runners,
            eval_runners,
        } = self.read_all(reader)?;
        // Runners first: their restore is the one that can still fail.
        if layout_matches(&self.runners, &runners) {
            self.runners.set_state(&runners)?;
        } else {
            self.runners.set_connector_states(&state.connector_states)?;
        }
        if let Some(eval) = self.eval_runners.as_mut() {
            if layout_matches(eval, &eval_runners) {
                eval.set_state(&eval_runners)?;
            } else {
                eval.set_connector_states(&state.connector_states)?;
            }
        }
        self.logic.apply_state(logic)?;
        let weights = self.acting_weights();
        self.runners.sync_weights(&weights)?;
        self.runners
            .set_global_env_steps(state.counters.num_env_steps_sampled_lifetime);
        if let Some(eval) = self.eval_runners.as_mut() {
            eval.sync_weights(&weights)?;
        }
        self.window = state.episode_window;
        self.counters = state.counters;
        self.connector_states = state.connector_states;
        self.iterations_since_restore = 0;
        Ok(())
    }

    /// Saves the next `checkpoint_NNNNNN` (Tune's naming: the index counts the run's
    /// checkpoints) into the run's output directory, then keeps only the last
    /// `num_checkpoints_to_keep`. Errors when the run has no output directory.
    pub fn save_checkpoint_to_trial(&self) -> Result<PathBuf, AlgorithmError> {
        let dir = self.trial_dir().map(Path::to_path_buf).ok_or_else(|| {
            ConfigError("the run has no output directory: call algo.log_to(dir) first, or save with algo.save_to_path(dir)".into())
        })?;
        let next = ckpt::list_checkpoints(&dir)
            .last()
            .map_or(0, |(i, _)| i + 1);
        let path = self.save_to_path(dir.join(ckpt::checkpoint_dir_name(next)))?;
        if let Some(keep) = self.config.base().num_checkpoints_to_keep {
            ckpt::prune_checkpoints(&dir, keep)?;
        }
        Ok(path)
    }

    /// The checkpoint hook `train()` calls last: when the run logs to an output directory
    /// and `checkpoint_frequency > 0`, every `checkpoint_frequency` iterations it saves a
    /// checkpoint there (see [`Driver::save_checkpoint_to_trial`]). Returns its path.
    pub(super) fn checkpoint_if_due(&mut self) -> Result<Option<PathBuf>, AlgorithmError> {
        let freq = self.config.base().checkpoint_frequency;
        if self.trial.is_none() || self.counters.training_iteration.checked_rem(freq) != Some(0) {
            return Ok(None);
        }
        self.save_checkpoint_to_trial().map(Some)
    }

    /// Ends the run (RLlib's `algo.stop()`; Tune's `checkpoint_at_end`): with
    /// `checkpoint_at_end`, saves a final checkpoint into the run's output directory unless
    /// the latest one there is already of this iteration, and returns the latest
    /// checkpoint's path. Without `checkpoint_at_end`, returns `None` and saves nothing.
    /// With `checkpoint_at_end` but no output directory ([`Driver::log_to`]) it is an error.
    pub fn stop(&mut self) -> Result<Option<PathBuf>, AlgorithmError> {
        if !self.config.base().checkpoint_at_end {
            return Ok(None);
        }
        let dir = self.trial_dir().map(Path::to_path_buf).ok_or_else(|| {
            ConfigError("checkpoint_at_end = true but the run has no output directory: call algo.log_to(dir) before training, or save with algo.save_to_path(dir)".into())
        })?;
        if let Some(latest) = ckpt::latest_checkpoint(&dir) {
            let same = CheckpointReader::open(&latest)
                .map(|r| r.metadata().training_iteration == self.counters.training_iteration as u64)
                .unwrap_or(false);
            if same {
                return Ok(Some(latest));
            }
        }
        self.save_checkpoint_to_trial().map(Some)
    }
}
