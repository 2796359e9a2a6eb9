//! Builder pieces every algorithm config shares (RLlib's `AlgorithmConfig` method groups
//! `.env_runners(...)`, `.evaluation(...)`, `.rl_module(...)`, `.reporting(...)`), generic
//! over the whole config, and the JSON/TOML and by-name plumbing behind each config's
//! inherent methods.

use rl_core::algorithm::{self, AlgoConfig, ConfigError, DurationUnit, FragmentLength};
use rl_core::connectors::{EnvToModule, ModuleToEnv, Pipeline};

/// `.env_runners(...)` arguments.
#[derive(Debug)]
pub struct EnvRunnersArgs<'a, C>(pub(crate) &'a mut C);
/// `.evaluation(...)` arguments.
#[derive(Debug)]
pub struct EvaluationArgs<'a, C>(pub(crate) &'a mut C);
/// `.rl_module(...)` arguments: RLlib's `DefaultModelConfig` keys, all of them for every
/// algorithm; a key the algorithm's module does not have (PPO's `head_fcnet_hiddens` and
/// bias initializers, DQN's `vf_share_layers`) is refused by its `validate()`, saying so.
#[derive(Debug)]
pub struct RlModuleArgs<'a, C>(pub(crate) &'a mut C);
/// `.reporting(...)` arguments.
#[derive(Debug)]
pub struct ReportingArgs<'a, C>(pub(crate) &'a mut C);

/// Setters on an argument group: `name: type => path;` sets `config.path` (through
/// `base_mut()` for the shared settings).
macro_rules! setters {
    (base $args:ident { $($(#[$doc:meta])* $name:ident : $ty:ty => $($field:ident).+;)* }) => {
        impl<C: rl_core::algorithm::AlgoConfig> $args<'_, C> {
            $(
                $(#[$doc])*
                pub fn $name(&mut self, value: $ty) -> &mut Self {
                    self.0.base_mut().$($field).+ = value.into();
                    self
                }
            )*
        }
    };
    ($args:ident { $($(#[$doc:meta])* $name:ident : $ty:ty => $($field:ident).+;)* }) => {
        impl $args<'_> {
            $(
                $(#[$doc])*
                pub fn $name(&mut self, value: $ty) -> &mut Self {
                    self.0.$($field).+ = value.into();
                    self
                }
            )*
        }
    };
}
pub(crate) use setters;

setters!(base EnvRunnersArgs {
    /// Env runner threads (0: sample in the driver).
    num_env_runners: usize => num_env_runners;
    /// Envs per runner, stepped together.
    num_envs_per_env_runner: usize => num_envs_per_env_runner;
    /// Steps per env per sample call.
    rollout_fragment_length: FragmentLength => rollout_fragment_length;
    /// `"NoFilter"` or `"MeanStdFilter"`.
    observation_filter: &str => observation_filter;
    /// A whole env→module pipeline replacing the default.
    env_to_module_connector: Option<Pipeline<dyn EnvToModule>> => env_to_module_connector;
    /// A whole module→env pipeline replacing the algorithm's default.
    module_to_env_connector: Option<Pipeline<dyn ModuleToEnv>> => module_to_env_connector;
});

setters!(base EvaluationArgs {
    /// Evaluate every N iterations (`None`: never).
    evaluation_interval: Option<usize> => evaluation_interval;
    /// How much to evaluate.
    evaluation_duration: usize => evaluation_duration;
    /// Episodes or timesteps.
    evaluation_duration_unit: DurationUnit => evaluation_duration_unit;
    /// Evaluation runner threads (0: in the driver).
    evaluation_num_env_runners: usize => evaluation_num_env_runners;
    /// Explore while evaluating (default false: greedy).
    evaluation_explore: bool => evaluation_explore;
});

setters!(base RlModuleArgs {
    /// Encoder hidden layer sizes.
    fcnet_hiddens: Vec<usize> => model_config.fcnet_hiddens;
    /// Encoder activation: `"tanh"`, `"relu"` or `"linear"`.
    fcnet_activation: &str => model_config.fcnet_activation;
    /// Encoder bias initializer (`"zeros_"` or `None`).
    fcnet_bias_initializer: Option<String> => model_config.fcnet_bias_initializer;
    /// Head hidden layer sizes.
    head_fcnet_hiddens: Vec<usize> => model_config.head_fcnet_hiddens;
    /// Head activation: `"tanh"`, `"relu"` or `"linear"`.
    head_fcnet_activation: &str => model_config.head_fcnet_activation;
    /// Head bias initializer (`"zeros_"` or `None`).
    head_fcnet_bias_initializer: Option<String> => model_config.head_fcnet_bias_initializer;
    /// `"torch_default"`, `"orthogonal"` or `"xavier"` (not an RLlib key).
    initializer: &str => model_config.initializer;
    /// One encoder for the actor and the critic (RLlib's `vf_share_layers`, default false).
    vf_share_layers: bool => model_config.vf_share_layers;
});

setters!(base ReportingArgs {
    /// Episodes the episode statistics are smoothed over.
    metrics_num_episodes_for_smoothing: usize => metrics_num_episodes_for_smoothing;
    /// Call `training_step` until this many env steps were sampled in the iteration.
    min_sample_timesteps_per_iteration: usize => min_sample_timesteps_per_iteration;
    /// Call `training_step` until the iteration took this long.
    min_time_s_per_iteration: Option<f64> => min_time_s_per_iteration;
});

/// The builder methods every config has, as inherent methods of `$config` (a struct with a
/// `base: AlgorithmConfig` field): `new`, `.environment(...)`, the shared method groups
/// above, `.debugging(...)`, `.checkpointing(...)`, `set`/`get` by RLlib name and JSON/TOML.
/// Each config adds its own `.training(...)` and `from_value`.
macro_rules! builder_methods {
    ($config:ident, $algo:literal) => {
        impl $config {
            #[doc = concat!("RLlib's ", $algo, " defaults.")]
            pub fn new() -> Self {
                Self::default()
            }

            /// `.environment(env)`: the registered env name.
            pub fn environment(mut self, env: &str) -> Self {
                self.base.env = env.to_string();
                self
            }

            /// `.environment(env, env_config)`: the env name and its keyword overrides.
            pub fn environment_with_config(
                mut self,
                env: &str,
                env_config: serde_json::Value,
            ) -> Self {
                self.base.env = env.to_string();
                self.base.env_config = env_config;
                self
            }

            /// `.env_runners(...)`.
            pub fn env_runners(
                mut self,
                f: impl for<'a, 'b> FnOnce(
                    &'a mut $crate::builder::EnvRunnersArgs<'b, $config>,
                )
                    -> &'a mut $crate::builder::EnvRunnersArgs<'b, $config>,
            ) -> Self {
                f(&mut $crate::builder::EnvRunnersArgs(&mut self));
                self
            }

            /// `.evaluation(...)`.
            pub fn evaluation(
                mut self,
                f: impl for<'a, 'b> FnOnce(
                    &'a mut $crate::builder::EvaluationArgs<'b, $config>,
                )
                    -> &'a mut $crate::builder::EvaluationArgs<'b, $config>,
            ) -> Self {
                f(&mut $crate::builder::EvaluationArgs(&mut self));
                self
            }

            /// `.rl_module(model_config=...)`: the network.
            pub fn rl_module(
                mut self,
                f: impl for<'a, 'b> FnOnce(
                    &'a mut $crate::builder::RlModuleArgs<'b, $config>,
                )
                    -> &'a mut $crate::builder::RlModuleArgs<'b, $config>,
            ) -> Self {
                f(&mut $crate::builder::RlModuleArgs(&mut self));
                self
            }

            /// `.reporting(...)`.
            pub fn reporting(
                mut self,
                f: impl for<'a, 'b> FnOnce(
                    &'a mut $crate::builder::ReportingArgs<'b, $config>,
                )
                    -> &'a mut $crate::builder::ReportingArgs<'b, $config>,
            ) -> Self {
                f(&mut $crate::builder::ReportingArgs(&mut self));
                self
            }

            /// `.debugging(seed=...)`.
            pub fn debugging(mut self, seed: Option<u64>) -> Self {
                self.base.seed = seed;
                self
            }

            /// `.checkpointing(...)`: save every `frequency` iterations (0: never), at the
            /// end, keep the last `num_to_keep`.
            pub fn checkpointing(
                mut self,
                frequency: usize,
                at_end: bool,
                num_to_keep: Option<usize>,
            ) -> Self {
                self.base.checkpoint_frequency = frequency;
                self.base.checkpoint_at_end = at_end;
                self.base.num_checkpoints_to_keep = num_to_keep;
                self
            }

            /// Sets a field by its RLlib name from a JSON value (`"lr"`,
            /// `"model_config/fcnet_hiddens"`, `"env_config/max_episode_steps"`, …): what a
            /// sweep tool does to build a trial. An unknown key is refused with the nearest
            /// known one named.
            pub fn set(
                &mut self,
                key: &str,
                value: serde_json::Value,
            ) -> Result<(), rl_core::algorithm::ConfigError> {
                rl_core::algorithm::set_by_key(self, key, value)
            }

            /// Reads a field by its RLlib name.
            pub fn get(&self, key: &str) -> Option<serde_json::Value> {
                rl_core::algorithm::get_by_key(self, key)
            }

            /// The config as pretty JSON.
            pub fn to_json(&self) -> String {
                $crate::builder::to_json(self)
            }

            /// A config from JSON: missing keys take their defaults, unknown keys are
            /// refused with the nearest known one named.
            pub fn from_json(text: &str) -> Result<Self, rl_core::algorithm::ConfigError> {
                rl_core::algorithm::config::from_json(text)
            }

            /// The config as TOML (an error names a key TOML cannot hold).
            pub fn to_toml(&self) -> Result<String, rl_core::algorithm::ConfigError> {
                rl_core::algorithm::config::to_toml(self)
            }

            /// A config from TOML, as [`from_json`](Self::from_json); errors name the key
            /// and its line.
            pub fn from_toml(text: &str) -> Result<Self, rl_core::algorithm::ConfigError> {
                rl_core::algorithm::config::from_toml(text)
            }
        }
    };
}
pub(crate) use builder_methods;

/// A config as pretty JSON.
pub(crate) fn to_json<C: AlgoConfig>(config: &C) -> String {
    serde_json::to_string_pretty(config).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

/// A config from a JSON value (`rl_core::algorithm::config::from_value`); errors name the
/// algorithm.
pub(crate) fn from_value<C: AlgoConfig>(
    value: &serde_json::Value,
    name: &str,
) -> Result<C, ConfigError> {
    algorithm::config::from_value(value).map_err(|e| ConfigError(format!("{name} config: {}", e.0)))
}
