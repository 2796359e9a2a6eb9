//! PPO checkpoints: [`PPO::save_to_path`], [`PPO::from_checkpoint`],
//! [`PPO::restore_from_path`], periodic and end-of-run checkpoints into the run's output
//! directory ([`PPO::stop`]), and [`InferencePolicy`]: the policy alone, loaded from a
//! checkpoint for inference.
//!
//! A checkpoint holds everything needed to continue as if never stopped: the config, the
//! module's weights, Adam's moments and step count, the KL coefficient, the learner's
//! shuffling RNG, the driver's and every env runner's connector states (observation-filter
//! statistics), the counters (schedules derive their position from them), the episode
//! window, and each env runner's action RNG, envs (physics, RNGs, time limits) and running
//! episodes — so that training N iterations, saving, restoring and training M more gives
//! the same results, bit for bit, as N + M iterations in one go.
//!
//! Layout (`docs/checkpoints.md` documents each file):
//!
//! ```text
//! metadata.json                                   format, versions, spaces, sha256 of each file
//! algorithm_state.json                            config, counters, episode window, filters
//! learner/learner_state.json                      KL coefficient, shuffling RNG, Adam scalars
//! learner/module/default_policy/module_config.json   the module's architecture
//! learner/module/default_policy/weights.safetensors  the module's weights (RLlib's names)
//! learner/optimizer/default_policy/adam_moments.safetensors   exp_avg.*, exp_avg_sq.*
//! env_runner/env_to_module_connector.json         the env→module pipeline with its state
//! env_runner/module_to_env_connector.json         the module→env pipeline
//! env_runner/runner_000.json …                    each training env runner's state
//! evaluation_env_runner/runner_000.json …         each evaluation env runner's state
//! ```

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ndarray::Array2;
use rand::SeedableRng;
use rl_core::algorithm::checkpoint::{
    self as ckpt, CheckpointError, CheckpointReader, CheckpointWriter, Metadata, NamedTensor,
    RngState,
};
use rl_core::algorithm::{AlgorithmError, ConfigError};
use rl_core::connectors::{EnvToModule, Pipeline};
use rl_core::metrics::EpisodeWindow;
use rl_core::runner::{EnvRunnerGroup, EnvRunnerState, RunnerError};
use rl_core::Rng;
use rl_nn::{Adam, ParamStore};
use serde::{Deserialize, Serialize};

use super::algorithm::Counters;
use super::inference::InferencePolicy;
use super::learner::LearnerState;
use super::module::{PPOModule, PPOModuleConfig};
use super::{PPOConfig, PPO};

/// The algorithm name in `metadata.json`.
pub const ALGORITHM: &str = "PPO";
/// The module id (RLlib's `DEFAULT_MODULE_ID`).
pub const MODULE_ID: &str = "default_policy";
/// `algorithm_state.json`: config, counters, episode window, the driver's filter states.
pub const ALGORITHM_STATE_FILE: &str = "algorithm_state.json";
/// The learner's scalars and RNG.
pub const LEARNER_STATE_FILE: &str = "learner/learner_state.json";
/// The module's architecture.
pub const MODULE_CONFIG_FILE: &str = "learner/module/default_policy/module_config.json";
/// The module's weights.
pub const MODULE_WEIGHTS_FILE: &str = "learner/module/default_policy/weights.safetensors";
/// Adam's moments.
pub const OPTIMIZER_MOMENTS_FILE: &str =
    "learner/optimizer/default_policy/adam_moments.safetensors";
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
struct AlgorithmState {
    algorithm: String,
    config: PPOConfig,
    counters: Counters,
    episode_window: EpisodeWindow,
    /// The driver's merged env→module connector states, one per connector.
    connector_states: Vec<Option<serde_json::Value>>,
    /// Number of `env_runner/runner_NNN.json` files.
    num_env_runner_states: usize,
    /// Number of `evaluation_env_runner/runner_NNN.json` files.
    num_evaluation_env_runner_states: usize,
}

/// `learner/learner_state.json`.
#[derive(Serialize, Deserialize)]
struct LearnerStateFile {
    curr_kl_coeff: f64,
    shuffle_rng: RngState,
    optimizer: AdamScalars,
}

/// Adam's scalars; its moments are in `adam_moments.safetensors`.
#[derive(Serialize, Deserialize)]
struct AdamScalars {
    r#type: String,
    lr: f32,
    betas: (f32, f32),
    eps: f32,
    weight_decay: f32,
    step: u64,
    /// Whether the moments exist (false before the first update).
    has_moments: bool,
}

/// Torch's shape for a parameter: biases (`1 × n`, named `*bias`) are 1-D `[n]`.
fn torch_shape(name: &str, value: &Array2<f32>) -> Vec<usize> {
    if value.nrows() == 1 && name.ends_with("bias") {
        vec![value.ncols()]
    } else {
        vec![value.nrows(), value.ncols()]
    }
}

fn encode_arrays(entries: &[(String, &Array2<f32>)]) -> Vec<u8> {
    let shapes: Vec<Vec<usize>> = entries
        .iter()
        .map(|(name, a)| torch_shape(name, a))
        .collect();
    let owned: Vec<std::borrow::Cow<'_, [f32]>> = entries
        .iter()
        .map(|(_, a)| match a.as_slice() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(a.iter().copied().collect()),
        })
        .collect();
    let tensors: Vec<(&str, &[usize], &[f32])> = entries
        .iter()
        .zip(&shapes)
        .zip(&owned)
        .map(|(((name, _), shape), data)| (name.as_str(), shape.as_slice(), &**data))
        .collect();
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    ckpt::encode_safetensors(&tensors, &meta)
}

/// The array of `tensor`, which must fit `dim` (a 1-D `[n]` fits `1 × n`).
fn tensor_to_array(tensor: &NamedTensor, dim: (usize, usize)) -> Result<Array2<f32>, String> {
    let fits = match tensor.shape[..] {
        [n] => dim == (1, n),
        [r, c] => dim == (r, c),
        _ => false,
    };
    if !fits {
        return Err(format!(
            "tensor {:?} has shape {:?}, the module's parameter is {} × {}",
            tensor.name, tensor.shape, dim.0, dim.1
        ));
    }
    Array2::from_shape_vec(dim, tensor.data.clone()).map_err(|e| e.to_string())
}

/// Matches the tensors of a safetensors file with the parameters of `params`, one to one,
/// through `name_of(param_name)`; returns the arrays in parameter order.
fn arrays_for_params(
    tensors: Vec<NamedTensor>,
    params: &ParamStore,
    name_of: impl Fn(&str) -> String,
) -> Result<Vec<Array2<f32>>, String> {
    let mut by_name: HashMap<String, NamedTensor> =
        tensors.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut out = Vec::with_capacity(params.len());
    for (_, name, value) in params.iter() {
        let key = name_of(name);
        let t = by_name
            .remove(&key)
            .ok_or_else(|| format!("no tensor {key:?}; the module has this parameter"))?;
        out.push(tensor_to_array(&t, value.dim())?);
    }
    if let Some(extra) = by_name.keys().next() {
        return Err(format!(
            "tensor {extra:?} is not a parameter of the module (architectures differ?)"
        ));
    }
    Ok(out)
}

/// Reads only the module component of a checkpoint (`learner/module/default_policy/`):
/// its architecture and weights. Needs neither the learner's nor the env runners' files.
pub fn load_module(dir: impl AsRef<Path>) -> Result<PPOModule, AlgorithmError> {
    let reader = CheckpointReader::open(dir)?;
    reader.expect_algorithm(ALGORITHM)?;
    read_module(&reader)
}

pub(super) fn read_module(reader: &CheckpointReader) -> Result<PPOModule, AlgorithmError> {
    check_module_listed(reader)?;
    let config: PPOModuleConfig = reader.read_json(MODULE_CONFIG_FILE)?;
    let bad_config = |r: String| CheckpointError::malformed(reader.path(MODULE_CONFIG_FILE), r);
    if config.obs_dim == 0
        || config.action_dim == 0
        || config.obs_dim > 1 << 20
        || config.action_dim > 1 << 20
        || config.hiddens.len() > 64
        || config.hiddens.iter().any(|&h| h == 0 || h > 1 << 16)
    {
        return Err(bad_config(format!("implausible module architecture {config:?}")).into());
    }
    // The weights file must be able to hold the architecture: refuse before allocating.
    let weights_bytes = reader.listed_bytes(MODULE_WEIGHTS_FILE).unwrap_or(0);
    let dims = std::iter::once(config.obs_dim)
        .chain(config.hiddens.iter().copied())
        .chain(std::iter::once(config.action_dim));
    if !ckpt::fits_in(dims, weights_bytes) {
        return Err(bad_config(format!(
            "the architecture {config:?} needs more weights than {MODULE_WEIGHTS_FILE} ({weights_bytes} bytes) holds"
        ))
        .into());
    }
    let mut rng = Rng::seed_from_u64(0);
    let mut module = PPOModule::new(&config, &mut rng)
        .map_err(|e| bad_config(format!("cannot build the module: {e}")))?;
    let tensors = reader.read_safetensors(MODULE_WEIGHTS_FILE)?;
    let arrays = arrays_for_params(tensors, module.params(), str::to_string)
        .map_err(|r| CheckpointError::malformed(reader.path(MODULE_WEIGHTS_FILE), r))?;
    for (dst, src) in module.params_mut().values_mut().iter_mut().zip(arrays) {
        *dst = src;
    }
    Ok(module)
}

fn check_module_listed(reader: &CheckpointReader) -> Result<(), CheckpointError> {
    if reader.metadata().modules.contains_key(MODULE_ID) {
        Ok(())
    } else {
        Err(CheckpointError::malformed(
            reader.path(ckpt::METADATA_FILE),
            format!(
                "lists the modules {:?}, not {MODULE_ID:?}",
                reader.metadata().modules.keys().collect::<Vec<_>>()
            ),
        ))
    }
}

/// Everything read from a checkpoint, validated, before any of it is applied.
struct Loaded {
    state: AlgorithmState,
    module: PPOModule,
    learner: LearnerState,
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

fn read_all(reader: &CheckpointReader, target: &PPO) -> Result<Loaded, AlgorithmError> {
    reader.expect_algorithm(ALGORITHM)?;
    let r0 = target.runners.runners().first().ok_or_else(|| {
        AlgorithmError::Config(ConfigError("the algorithm has no env runner".into()))
    })?;
    reader.expect_spaces(r0.observation_space(), r0.action_space())?;
    let state: AlgorithmState = reader.read_json(ALGORITHM_STATE_FILE)?;
    if state.algorithm != ALGORITHM {
        return Err(CheckpointError::new(
            reader.path(ALGORITHM_STATE_FILE),
            ckpt::CheckpointErrorKind::WrongAlgorithm {
                found: state.algorithm,
                expected: ALGORITHM.into(),
            },
        )
        .into());
    }
    let module = read_module(reader)?;
    let own = target.learner.module();
    if module.config() != own.config() {
        return Err(CheckpointError::malformed(
            reader.path(MODULE_CONFIG_FILE),
            format!(
                "the checkpoint's module is {:?} but this algorithm's is {:?}; build the algorithm with the checkpoint's model_config (or use PPO::from_checkpoint)",
                module.config(),
                own.config()
            ),
        )
        .into());
    }
    // Learner: scalars, RNG, Adam moments.
    let ls: LearnerStateFile = reader.read_json(LEARNER_STATE_FILE)?;
    let bad_ls = |r: String| CheckpointError::malformed(reader.path(LEARNER_STATE_FILE), r);
    let rng = ls.shuffle_rng.to_rng().map_err(bad_ls)?;
    if ls.optimizer.r#type != "Adam" {
        return Err(bad_ls(format!("optimizer {:?} is not Adam", ls.optimizer.r#type)).into());
    }
    let moments = reader.read_safetensors(OPTIMIZER_MOMENTS_FILE)?;
    let bad_m = |r: String| CheckpointError::malformed(reader.path(OPTIMIZER_MOMENTS_FILE), r);
    let (m, v) = if ls.optimizer.has_moments {
        let mut exp_avg = Vec::new();
        let mut exp_avg_sq = Vec::new();
        for t in moments {
            if t.name.starts_with("exp_avg_sq.") {
                exp_avg_sq.push(t);
            } else {
                exp_avg.push(t);
            }
        }
        (
            arrays_for_params(exp_avg, module.params(), |n| format!("exp_avg.{n}"))
                .map_err(bad_m)?,
            arrays_for_params(exp_avg_sq, module.params(), |n| format!("exp_avg_sq.{n}"))
                .map_err(bad_m)?,
        )
    } else {
        if !moments.is_empty() {
            return Err(
                bad_m("holds moments but learner_state.json says there are none".into()).into(),
            );
        }
        (Vec::new(), Vec::new())
    };
    let o = &ls.optimizer;
    let optimizer = Adam {
        lr: o.lr,
        betas: o.betas,
        eps: o.eps,
        weight_decay: o.weight_decay,
        step: o.step,
        m,
        v,
    };
    let learner = LearnerState {
        optimizer,
        curr_kl_coeff: ls.curr_kl_coeff,
        rng,
    };
    let runners = read_runner_states(reader, TRAIN_RUNNERS, state.num_env_runner_states)?;
    let eval_runners =
        read_runner_states(reader, EVAL_RUNNERS, state.num_evaluation_env_runner_states)?;
    // The pipelines are read too, so that a checkpoint missing them is refused here.
    let _: serde_json::Value = reader.read_json(ENV_TO_MODULE_FILE)?;
    let _: serde_json::Value = reader.read_json(MODULE_TO_ENV_FILE)?;
    Ok(Loaded {
        state,
        module,
        learner,
        runners,
        eval_runners,
    })
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

impl PPO {
    /// Saves a checkpoint of everything needed to continue training exactly from here into
    /// `dir` (created; an existing checkpoint there is replaced atomically); returns the
    /// directory. See the [module docs](self) and `docs/checkpoints.md`.
    pub fn save_to_path(&self, dir: impl AsRef<Path>) -> Result<PathBuf, AlgorithmError> {
        let r0 = self.runners.runners().first().ok_or_else(|| {
            AlgorithmError::Config(ConfigError("the algorithm has no env runner".into()))
        })?;
        let runner_states = self.runners.get_state()?;
        let eval_states = match &self.eval_runners {
            Some(g) => g.get_state()?,
            None => Vec::new(),
        };
        let mut w = CheckpointWriter::begin(dir)?;
        w.write_json(
            ALGORITHM_STATE_FILE,
            &AlgorithmState {
                algorithm: ALGORITHM.into(),
                config: self.config.clone(),
                counters: self.counters.clone(),
                episode_window: self.window.clone(),
                connector_states: self.connector_states.clone(),
                num_env_runner_states: runner_states.len(),
                num_evaluation_env_runner_states: eval_states.len(),
            },
        )?;
        // The module.
        let module = self.learner.module();
        w.write_json(MODULE_CONFIG_FILE, module.config())?;
        let params: Vec<(String, &Array2<f32>)> = module
            .params()
            .iter()
            .map(|(_, n, v)| (n.to_string(), v))
            .collect();
        w.write(MODULE_WEIGHTS_FILE, &encode_arrays(&params))?;
        // The learner.
        let ls = self.learner.state();
        let shuffle_rng = RngState::of(&ls.rng)
            .map_err(|e| CheckpointError::malformed(w.final_dir().join(LEARNER_STATE_FILE), e))?;
        let opt = &ls.optimizer;
        let has_moments = !opt.m.is_empty();
        w.write_json(
            LEARNER_STATE_FILE,
            &LearnerStateFile {
                curr_kl_coeff: ls.curr_kl_coeff,
                shuffle_rng,
                optimizer: AdamScalars {
                    r#type: "Adam".into(),
                    lr: opt.lr,
                    betas: opt.betas,
                    eps: opt.eps,
                    weight_decay: opt.weight_decay,
                    step: opt.step,
                    has_moments,
                },
            },
        )?;
        let mut moments: Vec<(String, &Array2<f32>)> = Vec::new();
        if has_moments {
            let names: Vec<&str> = module.params().iter().map(|(_, n, _)| n).collect();
            for (prefix, arrays) in [("exp_avg", &opt.m), ("exp_avg_sq", &opt.v)] {
                for (name, a) in names.iter().zip(arrays.iter()) {
                    moments.push((format!("{prefix}.{name}"), a));
                }
            }
        }
        w.write(OPTIMIZER_MOMENTS_FILE, &encode_arrays(&moments))?;
        // The connector pipelines, with the driver's merged states (what the policy sees).
        let e2m = self.driver_env_to_module()?;
        w.write_json(ENV_TO_MODULE_FILE, &e2m)?;
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
            algorithm: ALGORITHM.into(),
            modules: BTreeMap::from([(MODULE_ID.to_string(), "PPOModule".to_string())]),
            observation_space: r0.observation_space().clone(),
            action_space: r0.action_space().clone(),
            training_iteration: self.counters.training_iteration as u64,
            files: BTreeMap::new(),
        };
        Ok(w.commit(metadata)?)
    }

    /// The env→module pipeline as the driver sees it: runner 0's connectors with the
    /// driver's merged states.
    fn driver_env_to_module(&self) -> Result<Pipeline<dyn EnvToModule>, AlgorithmError> {
        let r0 = self.runners.runners().first().ok_or_else(|| {
            AlgorithmError::Config(ConfigError("the algorithm has no env runner".into()))
        })?;
        let mut e2m = r0.env_to_module().clone();
        for (c, s) in e2m.connectors_mut().iter_mut().zip(&self.connector_states) {
            if let Some(s) = s {
                c.set_state(s).map_err(RunnerError::from)?;
            }
        }
        Ok(e2m)
    }

    /// Builds a PPO from a checkpoint (RLlib's `Algorithm.from_checkpoint`): the config
    /// saved in it, then every state restored. Training continues exactly where the saved
    /// algorithm stopped.
    pub fn from_checkpoint(dir: impl AsRef<Path>) -> Result<PPO, AlgorithmError> {
        let reader = CheckpointReader::open(dir)?;
        reader.expect_algorithm(ALGORITHM)?;
        let state: AlgorithmState = reader.read_json(ALGORITHM_STATE_FILE)?;
        let mut algo = PPO::new(state.config)?;
        algo.restore_from_reader(&reader)?;
        Ok(algo)
    }

    /// Restores this algorithm's state from a checkpoint (RLlib's `restore_from_path`),
    /// keeping its config. The checkpoint must be a PPO one for the same observation and
    /// action spaces and module architecture. Env runners restore their RNGs, envs and
    /// running episodes when the checkpoint has as many runners with as many envs each;
    /// otherwise they start fresh episodes with the checkpoint's weights and filter
    /// statistics. `iterations_since_restore` restarts from 0.
    ///
    /// Every file is read and checked before anything changes; should applying the state
    /// still fail (a connector or env refusing its saved state), the algorithm may be
    /// partly restored: restore again or build a new one.
    pub fn restore_from_path(&mut self, dir: impl AsRef<Path>) -> Result<(), AlgorithmError> {
        let reader = CheckpointReader::open(dir)?;
        self.restore_from_reader(&reader)
    }

    fn restore_from_reader(&mut self, reader: &CheckpointReader) -> Result<(), AlgorithmError> {
        let loaded = read_all(reader, self)?;
        let Loaded {
            state,
            module,
            learner,
            runners,
            eval_runners,
        } = loaded;
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
        self.learner
            .module_mut()
            .params_mut()
            .copy_from(module.params())
            .map_err(|e| {
                CheckpointError::malformed(reader.path(MODULE_WEIGHTS_FILE), e.to_string())
            })?;
        self.learner.set_state(learner);
        let weights = self.learner.get_weights();
        self.runners.sync_weights(&weights)?;
        if let Some(eval) = self.eval_runners.as_mut() {
            eval.sync_weights(&weights)?;
        }
        self.window = state.episode_window;
        self.counters = state.counters;
        self.connector_states = state.connector_states;
        self.iterations_since_restore = 0;
        Ok(())
    }

    /// The policy as it stands, for inference: the same as
    /// [`InferencePolicy::from_checkpoint`] on a checkpoint saved now.
    pub fn get_policy(&self) -> Result<InferencePolicy, AlgorithmError> {
        let r0 = self.runners.runners().first().ok_or_else(|| {
            AlgorithmError::Config(ConfigError("the algorithm has no env runner".into()))
        })?;
        Ok(InferencePolicy::new(
            self.learner.module().clone(),
            self.driver_env_to_module()?,
            r0.module_to_env().clone(),
            r0.observation_space().clone(),
            r0.action_space().clone(),
        ))
    }

    /// The run's output directory (see [`PPO::log_to`]), if any.
    fn trial_dir(&self) -> Option<PathBuf> {
        self.trial.as_ref().map(|t| t.dir().to_path_buf())
    }

    /// Saves the next `checkpoint_NNNNNN` (Tune's naming: the index counts the run's
    /// checkpoints) into the run's output directory, then keeps only the last
    /// `num_checkpoints_to_keep`. Errors when the run has no output directory.
    pub fn save_checkpoint_to_trial(&self) -> Result<PathBuf, AlgorithmError> {
        let dir = self.trial_dir().ok_or_else(|| {
            ConfigError("the run has no output directory: call algo.log_to(dir) first, or save with algo.save_to_path(dir)".into())
        })?;
        let next = ckpt::list_checkpoints(&dir)
            .last()
            .map_or(0, |(i, _)| i + 1);
        let path = self.save_to_path(dir.join(ckpt::checkpoint_dir_name(next)))?;
        if let Some(keep) = self.config.base.num_checkpoints_to_keep {
            ckpt::prune_checkpoints(&dir, keep)?;
        }
        Ok(path)
    }

    /// The checkpoint hook `train()` calls last: when the run logs to an output directory
    /// and `checkpoint_frequency > 0`, every `checkpoint_frequency` iterations it saves a
    /// checkpoint there (see [`PPO::save_checkpoint_to_trial`]). Returns its path.
    pub(crate) fn checkpoint_if_due(&mut self) -> Result<Option<PathBuf>, AlgorithmError> {
        let freq = self.config.base.checkpoint_frequency;
        if self.trial.is_none() || self.counters.training_iteration.checked_rem(freq) != Some(0) {
            return Ok(None);
        }
        self.save_checkpoint_to_trial().map(Some)
    }

    /// Ends the run (RLlib's `algo.stop()`; Tune's `checkpoint_at_end`): with
    /// `checkpoint_at_end`, saves a final checkpoint into the run's output directory unless
    /// the latest one there is already of this iteration, and returns the latest
    /// checkpoint's path. Without `checkpoint_at_end`, returns `None` and saves nothing.
    /// With `checkpoint_at_end` but no output directory ([`PPO::log_to`]) it is an error.
    pub fn stop(&mut self) -> Result<Option<PathBuf>, AlgorithmError> {
        if !self.config.base.checkpoint_at_end {
            return Ok(None);
        }
        let dir = self.trial_dir().ok_or_else(|| {
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
