//! The settings every algorithm shares, flat and serializable, each with RLlib's name
//! (RLlib's `AlgorithmConfig`). Algorithms embed it (`#[serde(flatten)]`) next to their own
//! and implement [`AlgoConfig`] for the whole.
//!
//! Loading and setting keys works for any config ([`from_json`], [`from_toml`],
//! [`from_value`], [`set_by_key`]): missing keys take their defaults, unknown keys are
//! refused with the nearest known one named, at every level. Every key's doc line is the
//! doc comment on its field ([`key_docs()`]); `docs/config.md` lists them all.

mod consistency;
mod key_docs;
mod keys;
mod load;
pub mod reference;
mod set;
mod toml_text;

pub use consistency::check_connectors;
pub use key_docs::{check_key_docs, key_docs, key_docs_from_sources, KeyDoc};
pub use load::{from_json, from_toml, from_value, to_toml};
pub use set::{get_by_key, set_by_key};

use rl_nn::{Activation, Init, MlpConfig};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::connectors::{EnvToModule, LearnerConnector, ModuleToEnv, Pipeline};

/// `rollout_fragment_length`: `"auto"` or a number of steps per env per sample call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FragmentLength {
    /// `"auto"`: `train_batch_size / (max(1, num_env_runners) × num_envs_per_env_runner)`.
    #[default]
    #[serde(with = "auto")]
    Auto,
    /// A fixed number of steps per env.
    Steps(usize),
}

mod auto {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("auto")
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(), D::Error> {
        let s = String::deserialize(d)?;
        if s == "auto" {
            Ok(())
        } else {
            Err(serde::de::Error::custom(format!(
                "rollout_fragment_length must be \"auto\" or a positive integer, not {s:?}"
            )))
        }
    }
}

/// `evaluation_duration_unit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DurationUnit {
    /// Count whole episodes.
    #[default]
    Episodes,
    /// Count env steps.
    Timesteps,
}

/// The module (network) settings, RLlib's `DefaultModelConfig` names.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelConfig {
    /// Hidden layer sizes of the actor and critic encoders.
    pub fcnet_hiddens: Vec<usize>,
    /// `"tanh"`, `"relu"` or `"linear"`.
    pub fcnet_activation: String,
    /// Share one encoder between actor and critic (PPO's default: false).
    pub vf_share_layers: bool,
    /// `"torch_default"` (RLlib's default), `"orthogonal"` (CleanRL's gains) or `"xavier"`.
    pub initializer: String,
    /// The encoder layers' bias initializer (RLlib's `fcnet_bias_initializer`): `None`
    /// keeps `initializer`'s, `"zeros_"` sets the biases to zero.
    pub fcnet_bias_initializer: Option<String>,
    /// Hidden layer sizes of the heads after the encoder (RLlib's `head_fcnet_hiddens`,
    /// default `[]`: a single linear output layer). Modules without head hidden layers
    /// (PPO's) refuse a non-empty list.
    pub head_fcnet_hiddens: Vec<usize>,
    /// Activation of the head hidden layers (RLlib's `head_fcnet_activation`, default
    /// `"relu"`).
    pub head_fcnet_activation: String,
    /// The head layers' bias initializer (RLlib's `head_fcnet_bias_initializer`), as
    /// `fcnet_bias_initializer`.
    pub head_fcnet_bias_initializer: Option<String>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            fcnet_hiddens: vec![256, 256],
            fcnet_activation: "tanh".into(),
            vf_share_layers: false,
            initializer: "torch_default".into(),
            fcnet_bias_initializer: None,
            head_fcnet_hiddens: Vec::new(),
            head_fcnet_activation: "relu".into(),
            head_fcnet_bias_initializer: None,
        }
    }
}

impl ModelConfig {
    /// An MLP of these settings (RLlib's default model): `in_dim` inputs, the hidden layers
    /// `fcnet_hiddens` with `fcnet_activation`, then a linear output layer of `out_dim`.
    /// `initializer`: `"torch_default"` (torch's `nn.Linear`), `"xavier"` (uniform, gain 1)
    /// or `"orthogonal"` (CleanRL's: gain √2 for the hidden layers, `output_gain` for the
    /// output layer, e.g. 0.01 for a policy head and 1.0 for a value head).
    pub fn mlp(
        &self,
        in_dim: usize,
        out_dim: usize,
        output_gain: f32,
    ) -> Result<MlpConfig, ConfigError> {
        let activation = match self.fcnet_activation.as_str() {
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "linear" => Activation::Linear,
            a => {
                return Err(ConfigError(format!(
                    "fcnet_activation = {a:?}: use \"tanh\", \"relu\" or \"linear\""
                )))
            }
        };
        let (hidden_init, output_init) = match self.initializer.as_str() {
            "torch_default" => (Init::TorchDefault, Init::TorchDefault),
            "xavier" => (
                Init::XavierUniform { gain: 1.0 },
                Init::XavierUniform { gain: 1.0 },
            ),
            "orthogonal" => (
                Init::Orthogonal {
                    gain: std::f32::consts::SQRT_2,
                },
                Init::Orthogonal { gain: output_gain },
            ),
            i => {
                return Err(ConfigError(format!(
                    "initializer = {i:?}: use \"torch_default\", \"orthogonal\" or \"xavier\""
                )))
            }
        };
        Ok(MlpConfig {
            in_dim,
            hidden: self.fcnet_hiddens.clone(),
            activation,
            output_dim: Some(out_dim),
            hidden_init,
            output_init,
        })
    }
}

/// Settings shared by all algorithms, with RLlib's names and defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlgorithmConfig {
    // --- .environment()
    /// Registered env name, e.g. `"CartPole-v1"`.
    pub env: String,
    /// Keyword overrides passed to the env's factory.
    pub env_config: serde_json::Value,
    /// Unsquash actions from `[-1, 1]` to a `Box` action space (RLlib default true).
    pub normalize_actions: bool,
    /// Clip actions to a `Box` action space (RLlib default false; unsquashing clips anyway).
    pub clip_actions: bool,
    // --- connector pipelines (plugins, serialized with typetag)
    /// The env→module pipeline, replacing the default one (batching, then the observation
    /// filter) when set; it has a `MeanStdFilter` exactly when `observation_filter` says so.
    /// Start from [`Pipeline::default_env_to_module`] and edit it.
    /// RLlib's callable instead prepends user connectors to the default ones.
    pub env_to_module_connector: Option<Pipeline<dyn EnvToModule>>,
    /// The module→env pipeline, replacing the default one when set; its
    /// `NormalizeAndClipActions`, if any, has the config's `normalize_actions` and
    /// `clip_actions`.
    pub module_to_env_connector: Option<Pipeline<dyn ModuleToEnv>>,
    /// The learner pipeline, replacing the algorithm's default one when set. Its connectors
    /// take settings the config owns (GAE's γ and λ) from the config, and may not contradict
    /// it.
    pub learner_connector: Option<Pipeline<dyn LearnerConnector>>,
    // --- .env_runners()
    /// Env runner threads; 0 samples in the driver.
    pub num_env_runners: usize,
    /// Envs each runner steps together.
    pub num_envs_per_env_runner: usize,
    /// Steps per env per sample call: `"auto"` (the train batch split over the envs) or a
    /// number.
    pub rollout_fragment_length: FragmentLength,
    /// `"NoFilter"` or `"MeanStdFilter"`.
    pub observation_filter: String,
    // --- .training()
    /// Env steps per training iteration.
    pub train_batch_size: usize,
    /// Learning rate.
    pub lr: f64,
    /// Discount factor.
    pub gamma: f64,
    /// Rows per gradient step.
    pub minibatch_size: usize,
    /// Passes over the train batch per iteration.
    pub num_epochs: usize,
    /// Reshuffle the batch at every pass (RLlib: only when `num_epochs > 1`).
    pub shuffle_batch_per_epoch: bool,
    /// Clip gradients to this global norm (`None`: no clipping).
    pub grad_clip: Option<f64>,
    // --- .rl_module()
    /// Network settings.
    pub model_config: ModelConfig,
    // --- .evaluation()
    /// Evaluate every N training iterations (`None`: never).
    pub evaluation_interval: Option<usize>,
    /// How much to evaluate each time, in `evaluation_duration_unit`s.
    pub evaluation_duration: usize,
    /// `"episodes"` or `"timesteps"`.
    pub evaluation_duration_unit: DurationUnit,
    /// Evaluation env runner threads; 0 evaluates in the driver.
    pub evaluation_num_env_runners: usize,
    /// Sample actions during evaluation (RLlib's `evaluation_config={"explore": ...}`).
    /// Default false: greedy. RLlib 2.60 samples unless told otherwise (see
    /// `docs/metrics.md`).
    pub evaluation_explore: bool,
    // --- .reporting()
    /// Episodes the episode statistics are smoothed over.
    pub metrics_num_episodes_for_smoothing: usize,
    /// Call `training_step` until at least this many env steps were sampled in the
    /// iteration (RLlib's name; 0: one call).
    pub min_sample_timesteps_per_iteration: usize,
    /// Call `training_step` until the iteration took at least this long (`None`: no minimum).
    pub min_time_s_per_iteration: Option<f64>,
    // --- .debugging()
    /// The seed every RNG derives from (`None`: 0, so runs are reproducible by default).
    pub seed: Option<u64>,
    // --- .fault_tolerance()
    /// Rebuild an env runner whose env panicked, returned an error, produced a non-finite
    /// observation or reward, or overran `sample_timeout_s` (RLlib's default: true). The
    /// rebuilt runner gets the current weights and connector states; the broken episodes are
    /// dropped.
    pub restart_failed_env_runners: bool,
    /// How often each env runner may be rebuilt (RLlib's default: 1000).
    pub max_num_env_runner_restarts: usize,
    /// Keep training with the remaining runners when one fails and is not rebuilt
    /// (RLlib's default: false).
    pub ignore_env_runner_failures: bool,
    /// Sample calls in a row that may see a runner failure before the run fails
    /// (RLlib's default: 100).
    pub num_consecutive_env_runner_failures_tolerance: usize,
    /// Seconds one sample call of an env runner may take (RLlib's default: 60; `None`: no
    /// limit). Checked between env steps: an overrun is a runner failure.
    pub sample_timeout_s: Option<f64>,
    /// The same for evaluation runners (RLlib's default: 120). An evaluation by episodes in
    /// which no episode ends within it is an error naming the env and the steps taken.
    pub evaluation_sample_timeout_s: Option<f64>,
    // --- .checkpointing()
    /// Save a checkpoint every N iterations (0: never).
    pub checkpoint_frequency: usize,
    /// Save a checkpoint after the last iteration.
    pub checkpoint_at_end: bool,
    /// Keep only the last K checkpoints (`None`: all).
    pub num_checkpoints_to_keep: Option<usize>,
}

impl Default for AlgorithmConfig {
    fn default() -> Self {
        AlgorithmConfig {
            env: String::new(),
            env_config: serde_json::Value::Object(Default::default()),
            normalize_actions: true,
            clip_actions: false,
            env_to_module_connector: None,
            module_to_env_connector: None,
            learner_connector: None,
            num_env_runners: 2,
            num_envs_per_env_runner: 1,
            rollout_fragment_length: FragmentLength::Auto,
            observation_filter: "NoFilter".into(),
            train_batch_size: 4000,
            lr: 5e-5,
            gamma: 0.99,
            minibatch_size: 128,
            num_epochs: 30,
            shuffle_batch_per_epoch: true,
            grad_clip: None,
            model_config: ModelConfig::default(),
            evaluation_interval: None,
            evaluation_duration: 10,
            evaluation_duration_unit: DurationUnit::Episodes,
            evaluation_num_env_runners: 0,
            evaluation_explore: false,
            metrics_num_episodes_for_smoothing: 100,
            min_sample_timesteps_per_iteration: 0,
            min_time_s_per_iteration: None,
            seed: None,
            restart_failed_env_runners: true,
            max_num_env_runner_restarts: 1000,
            ignore_env_runner_failures: false,
            num_consecutive_env_runner_failures_tolerance: 100,
            sample_timeout_s: Some(60.0),
            evaluation_sample_timeout_s: Some(120.0),
            checkpoint_frequency: 0,
            checkpoint_at_end: false,
            num_checkpoints_to_keep: None,
        }
    }
}

/// A config that does not hold together; the message shows the arithmetic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid config: {0}")]
pub struct ConfigError(pub String);

/// A whole algorithm config (RLlib's `AlgorithmConfig` subclasses, such as `PPOConfig`):
/// the shared [`AlgorithmConfig`] plus the algorithm's own settings, flat, serializable,
/// every key under its RLlib name.
pub trait AlgoConfig:
    Clone + std::fmt::Debug + Default + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The shared settings.
    fn base(&self) -> &AlgorithmConfig;
    /// The shared settings, mutably.
    fn base_mut(&mut self) -> &mut AlgorithmConfig;
    /// Checks every setting (shared and own), saying what to change: the shared ones with
    /// [`AlgorithmConfig::validate`], then the algorithm's. By default only the shared ones.
    fn validate(&self) -> Result<(), ConfigError> {
        self.base().validate()
    }

    /// The Rust source declaring the config's struct (`include_str!("config.rs")`), whose
    /// field doc comments are the keys' docs ([`key_docs()`], `docs/config.md`); the shared
    /// structs' source is added. Empty by default: the keys are undocumented.
    const KEY_DOCS_SOURCE: &'static str = "";

    /// A config from a JSON value: missing keys take their defaults, unknown keys are refused
    /// with the nearest known one named ([`from_value()`]).
    fn from_value(value: &serde_json::Value) -> Result<Self, ConfigError> {
        load::from_value(value)
    }

    /// A config from JSON text ([`from_json()`]).
    fn from_json(text: &str) -> Result<Self, ConfigError> {
        load::from_json(text)
    }

    /// A config from TOML text ([`from_toml()`]); errors name the key and its line.
    fn from_toml(text: &str) -> Result<Self, ConfigError> {
        load::from_toml(text)
    }

    /// The config as TOML ([`to_toml()`]).
    fn to_toml(&self) -> Result<String, ConfigError> {
        load::to_toml(self)
    }

    /// Sets a key by its RLlib name from a JSON value ([`set_by_key`]).
    fn set(&mut self, key: &str, value: serde_json::Value) -> Result<(), ConfigError> {
        set_by_key(self, key, value)
    }

    /// Reads a key by its RLlib name ([`get_by_key`]).
    fn get(&self, key: &str) -> Option<serde_json::Value> {
        get_by_key(self, key)
    }

    /// Steps each env collects per sample call (RLlib's overridable
    /// `get_rollout_fragment_length`): by default the shared rule,
    /// [`AlgorithmConfig::rollout_fragment_length`]; an algorithm may resolve `"auto"` its
    /// own way (RLlib's DQN: `n_step`).
    fn get_rollout_fragment_length(&self) -> usize {
        self.base().rollout_fragment_length()
    }
}

impl AlgorithmConfig {
    /// The env→module pipeline to run: the configured one, or RLlib's default.
    pub fn env_to_module_pipeline(&self) -> Pipeline<dyn EnvToModule> {
        self.env_to_module_connector.clone().unwrap_or_else(|| {
            Pipeline::default_env_to_module(self.observation_filter == "MeanStdFilter")
        })
    }

    /// The module→env pipeline to run: the configured one, or RLlib's default.
    pub fn module_to_env_pipeline(&self) -> Pipeline<dyn ModuleToEnv> {
        self.module_to_env_connector.clone().unwrap_or_else(|| {
            Pipeline::default_module_to_env(self.normalize_actions, self.clip_actions)
        })
    }

    /// Steps each env collects per sample call.
    pub fn rollout_fragment_length(&self) -> usize {
        match self.rollout_fragment_length {
            FragmentLength::Steps(n) => n,
            FragmentLength::Auto => {
                let envs = self.num_env_runners.max(1) * self.num_envs_per_env_runner.max(1);
                self.train_batch_size.div_ceil(envs).max(1)
            }
        }
    }

    /// Checks that the shared settings hold together, and says what to change if not.
    /// Rules that only some algorithms need (minibatches, on-policy batch arithmetic) are
    /// theirs to check.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |s: String| Err(ConfigError(s));
        if self.env.is_empty() {
            return err("no env set: call .environment(\"CartPole-v1\") or set `env`".into());
        }
        self.check_finite()?;
        self.check_sizes()?;
        if self.lr <= 0.0 {
            return err(format!("lr = {} must be a positive finite number", self.lr));
        }
        if !(0.0..=1.0).contains(&self.gamma) {
            return err(format!("gamma = {} must lie in [0, 1]", self.gamma));
        }
        if self.train_batch_size == 0 {
            return err("train_batch_size = 0: it must be at least 1".into());
        }
        if self.num_envs_per_env_runner == 0 {
            return err("num_envs_per_env_runner = 0: each runner needs at least one env".into());
        }
        if self.rollout_fragment_length == FragmentLength::Steps(0) {
            return err("rollout_fragment_length = 0: use \"auto\" or a positive number".into());
        }
        if let Some(c) = self.grad_clip {
            if c <= 0.0 {
                return err(format!(
                    "grad_clip = {c} must be positive (or None for no clipping)"
                ));
            }
        }
        if let Some(0) = self.evaluation_interval {
            return err("evaluation_interval = 0: use None to never evaluate, or N ≥ 1".into());
        }
        if self.evaluation_interval.is_some() && self.evaluation_duration == 0 {
            return err("evaluation_duration = 0 with evaluation on: it must be at least 1".into());
        }
        if !matches!(
            self.observation_filter.as_str(),
            "NoFilter" | "MeanStdFilter"
        ) {
            return err(format!(
                "observation_filter = {:?}: use \"NoFilter\" or \"MeanStdFilter\"",
                self.observation_filter
            ));
        }
        if self.model_config.fcnet_hiddens.contains(&0) {
            return err(format!(
                "fcnet_hiddens = {:?}: layer sizes must be positive",
                self.model_config.fcnet_hiddens
            ));
        }
        let m = &self.model_config;
        for (key, activation) in [
            ("fcnet_activation", &m.fcnet_activation),
            ("head_fcnet_activation", &m.head_fcnet_activation),
        ] {
            if !matches!(activation.as_str(), "tanh" | "relu" | "linear") {
                return err(format!(
                    "{key} = {activation:?}: use \"tanh\", \"relu\" or \"linear\""
                ));
            }
        }
        if m.head_fcnet_hiddens.contains(&0) {
            return err(format!(
                "head_fcnet_hiddens = {:?}: layer sizes must be positive",
                m.head_fcnet_hiddens
            ));
        }
        for (key, init) in [
            ("fcnet_bias_initializer", &m.fcnet_bias_initializer),
            (
                "head_fcnet_bias_initializer",
                &m.head_fcnet_bias_initializer,
            ),
        ] {
            if let Some(i) = init.as_deref().filter(|&i| i != "zeros_") {
                return err(format!(
                    "{key} = {i:?}: use \"zeros_\" or None (the initializer's own bias)"
                ));
            }
        }
        if self.metrics_num_episodes_for_smoothing == 0 {
            return err("metrics_num_episodes_for_smoothing = 0: it must be at least 1".into());
        }
        // Runners get copies of the pipelines through JSON: check that they make it.
        let round_trips = [
            self.env_to_module_connector
                .as_ref()
                .map(|p| p.try_clone().err()),
            self.module_to_env_connector
                .as_ref()
                .map(|p| p.try_clone().err()),
            self.learner_connector.as_ref().map(|p| p.try_clone().err()),
        ];
        if let Some(e) = round_trips.into_iter().flatten().flatten().next() {
            return err(format!("{e}; a connector must read back its own JSON"));
        }
        Ok(())
    }

    /// Every float setting must be a finite number: NaN or ±∞ anywhere is refused, naming
    /// the key (a NaN compares false with every bound, so range checks alone let it in).
    fn check_finite(&self) -> Result<(), ConfigError> {
        let floats = [
            ("lr", Some(self.lr)),
            ("gamma", Some(self.gamma)),
            ("grad_clip", self.grad_clip),
            ("sample_timeout_s", self.sample_timeout_s),
            (
                "evaluation_sample_timeout_s",
                self.evaluation_sample_timeout_s,
            ),
        ];
        for (name, value) in floats {
            check_finite(name, value)?;
        }
        for (name, t) in [
            ("sample_timeout_s", self.sample_timeout_s),
            (
                "evaluation_sample_timeout_s",
                self.evaluation_sample_timeout_s,
            ),
        ] {
            if let Some(t) = t.filter(|&t| t <= 0.0) {
                return Err(ConfigError(format!(
                    "{name} = {t} must be positive (or None for no limit)"
                )));
            }
        }
        Ok(())
    }

    /// Sizes a config may ask for: generous for real runs, but bounded, so that a config
    /// file from someone else cannot make us allocate without limit.
    fn check_sizes(&self) -> Result<(), ConfigError> {
        let bounds = [
            ("num_env_runners", self.num_env_runners, MAX_ENV_RUNNERS),
            (
                "evaluation_num_env_runners",
                self.evaluation_num_env_runners,
                MAX_ENV_RUNNERS,
            ),
            (
                "num_envs_per_env_runner",
                self.num_envs_per_env_runner,
                MAX_ENVS_PER_RUNNER,
            ),
            ("train_batch_size", self.train_batch_size, MAX_BATCH),
            ("evaluation_duration", self.evaluation_duration, MAX_BATCH),
            (
                "metrics_num_episodes_for_smoothing",
                self.metrics_num_episodes_for_smoothing,
                MAX_BATCH,
            ),
            ("num_epochs", self.num_epochs, MAX_EPOCHS),
            (
                "fcnet_hiddens (number of layers)",
                self.model_config.fcnet_hiddens.len(),
                MAX_LAYERS,
            ),
        ];
        for (name, value, max) in bounds {
            if value > max {
                return Err(ConfigError(format!(
                    "{name} = {value} exceeds {max}, the most this build accepts (a bound that keeps an untrusted config from exhausting memory)"
                )));
            }
        }
        if let FragmentLength::Steps(n) = self.rollout_fragment_length {
            if n > MAX_BATCH {
                return Err(ConfigError(format!(
                    "rollout_fragment_length = {n} exceeds {MAX_BATCH}, the most this build accepts"
                )));
            }
        }
        if let Some(&h) = self
            .model_config
            .fcnet_hiddens
            .iter()
            .find(|&&h| h > MAX_LAYER_WIDTH)
        {
            return Err(ConfigError(format!(
                "fcnet_hiddens = {:?}: a layer of {h} units exceeds {MAX_LAYER_WIDTH}, the most this build accepts",
                self.model_config.fcnet_hiddens
            )));
        }
        Ok(())
    }

    /// The fault-tolerance settings for the training env runners.
    pub fn fault_tolerance(&self) -> crate::runner::FaultTolerance {
        crate::runner::FaultTolerance {
            restart_failed_env_runners: self.restart_failed_env_runners,
            max_num_env_runner_restarts: self.max_num_env_runner_restarts,
            ignore_env_runner_failures: self.ignore_env_runner_failures,
            num_consecutive_env_runner_failures_tolerance: self
                .num_consecutive_env_runner_failures_tolerance,
            sample_timeout_s: self.sample_timeout_s,
        }
    }

    /// The fault-tolerance settings for the evaluation env runners (their own timeout).
    pub fn evaluation_fault_tolerance(&self) -> crate::runner::FaultTolerance {
        crate::runner::FaultTolerance {
            sample_timeout_s: self.evaluation_sample_timeout_s,
            ..self.fault_tolerance()
        }
    }
}

/// Most env runners a config may ask for (also the most a checkpoint may hold).
pub const MAX_ENV_RUNNERS: usize = 4096;
/// Most envs per env runner.
pub const MAX_ENVS_PER_RUNNER: usize = 1 << 16;
/// Most env steps per batch, fragment or evaluation, and episodes per smoothing window.
pub const MAX_BATCH: usize = 1 << 28;
/// Most passes over a train batch.
pub const MAX_EPOCHS: usize = 1 << 20;
/// Most hidden layers.
pub const MAX_LAYERS: usize = 64;
/// Most units per hidden layer.
pub const MAX_LAYER_WIDTH: usize = 1 << 16;

/// Refuses a NaN or infinite value for the float setting `name`.
pub fn check_finite(name: &str, value: Option<f64>) -> Result<(), ConfigError> {
    match value {
        Some(v) if !v.is_finite() => Err(ConfigError(format!(
            "{name} = {v}: every float setting must be a finite number"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared config with an env, valid as it is.
    pub(super) fn cartpole() -> AlgorithmConfig {
        AlgorithmConfig {
            env: "CartPole-v1".into(),
            ..Default::default()
        }
    }

    #[test]
    fn validate_checks_the_shared_settings() {
        let mut c = cartpole();
        c.lr = 0.0;
        assert!(c.validate().unwrap_err().0.contains("lr = 0"));
        c.lr = 1e-3;
        assert!(c.validate().is_ok());
        c.env.clear();
        assert!(c.validate().unwrap_err().0.contains("no env set"));
    }

    #[test]
    fn model_config_builds_mlps_with_its_activation_and_initializer() {
        let mut m = ModelConfig::default();
        let c = m.mlp(4, 2, 0.01).unwrap();
        assert_eq!(
            (c.in_dim, c.hidden.clone(), c.output_dim),
            (4, vec![256, 256], Some(2))
        );
        assert_eq!(
            (c.activation, c.hidden_init),
            (Activation::Tanh, Init::TorchDefault)
        );
        m.fcnet_activation = "relu".into();
        m.initializer = "orthogonal".into();
        let c = m.mlp(4, 1, 1.0).unwrap();
        assert_eq!(c.activation, Activation::Relu);
        assert_eq!(c.output_init, Init::Orthogonal { gain: 1.0 });
        assert_eq!(
            c.hidden_init,
            Init::Orthogonal {
                gain: std::f32::consts::SQRT_2
            }
        );
        m.initializer = "he".into();
        let e = m.mlp(4, 1, 1.0).unwrap_err();
        assert!(e.0.contains("initializer = \"he\""), "{e}");
        m.initializer = "xavier".into();
        m.fcnet_activation = "gelu".into();
        assert!(m.mlp(4, 1, 1.0).unwrap_err().0.contains("fcnet_activation"));
    }

    #[test]
    fn auto_fragment_length_splits_the_batch() {
        let mut c = cartpole();
        c.train_batch_size = 500;
        assert_eq!(c.rollout_fragment_length(), 250);
        c.num_env_runners = 0;
        c.num_envs_per_env_runner = 4;
        assert_eq!(c.rollout_fragment_length(), 125);
    }
}
