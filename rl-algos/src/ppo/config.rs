//! `PPOConfig`: RLlib's PPO config with its builder method groups, names and defaults.

use rl_core::algorithm::config;
use rl_core::algorithm::{self, AlgoConfig, AlgorithmConfig, ConfigError, FragmentLength};
use rl_core::connectors::{LearnerConnector, Pipeline};
use serde::{Deserialize, Serialize};

use crate::builder::{self, builder_methods, setters};

/// PPO's configuration: the shared [`AlgorithmConfig`] plus PPO's own settings, flat and
/// serializable, every field under its RLlib name.
///
/// ```
/// use rl_algos::PPOConfig;
/// let config = PPOConfig::new()
///     .environment("CartPole-v1")
///     .env_runners(|r| r.num_env_runners(2))
///     .training(|t| t.train_batch_size(500).lr(3e-4).gamma(0.99).minibatch_size(128).num_epochs(5))
///     .evaluation(|e| e.evaluation_interval(Some(10)).evaluation_duration(10));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PPOConfig {
    /// Settings every algorithm shares (env, env runners, training basics, evaluation, …).
    #[serde(flatten)]
    pub base: AlgorithmConfig,
    /// GAE's λ (RLlib's `lambda_`; PPO default 1.0).
    pub lambda_: f64,
    /// Surrogate clipping ε (default 0.3).
    pub clip_param: f64,
    /// Clip the squared value error at this (default 10.0).
    pub vf_clip_param: f64,
    /// Weight of the value loss (default 1.0).
    pub vf_loss_coeff: f64,
    /// Weight of the entropy bonus (default 0.0).
    pub entropy_coeff: f64,
    /// Initial KL-penalty coefficient (default 0.2).
    pub kl_coeff: f64,
    /// KL target the coefficient adapts towards (default 0.01).
    pub kl_target: f64,
    /// Add the KL penalty to the loss (default true).
    pub use_kl_loss: bool,
    /// Piecewise-linear learning-rate schedule `[[timestep, lr], …]` over lifetime env steps
    /// (overrides `lr` when set).
    pub lr_schedule: Option<Vec<(u64, f64)>>,
    /// Piecewise-linear entropy-coefficient schedule `[[timestep, coeff], …]`.
    pub entropy_coeff_schedule: Option<Vec<(u64, f64)>>,
    /// Adam's ε (torch's default 1e-8; CleanRL uses 1e-5). Not an RLlib setting.
    pub adam_eps: f64,
}

impl Default for PPOConfig {
    fn default() -> Self {
        PPOConfig {
            base: AlgorithmConfig {
                lr: 5e-5,
                train_batch_size: 4000,
                minibatch_size: 128,
                num_epochs: 30,
                ..AlgorithmConfig::default()
            },
            lambda_: 1.0,
            clip_param: 0.3,
            vf_clip_param: 10.0,
            vf_loss_coeff: 1.0,
            entropy_coeff: 0.0,
            kl_coeff: 0.2,
            kl_target: 0.01,
            use_kl_loss: true,
            lr_schedule: None,
            entropy_coeff_schedule: None,
            adam_eps: 1e-8,
        }
    }
}

/// `.env_runners(...)` arguments (the shared [`builder::EnvRunnersArgs`]).
pub type EnvRunnersArgs<'a> = builder::EnvRunnersArgs<'a, PPOConfig>;
/// `.training(...)` arguments: the shared training basics and PPO's own keys.
#[derive(Debug)]
pub struct TrainingArgs<'a>(&'a mut PPOConfig);
/// `.evaluation(...)` arguments (the shared [`builder::EvaluationArgs`]).
pub type EvaluationArgs<'a> = builder::EvaluationArgs<'a, PPOConfig>;
/// `.rl_module(...)` arguments (the shared [`builder::RlModuleArgs`]; PPO's `validate()`
/// refuses `head_fcnet_hiddens` and the bias initializers, which its module does not have).
pub type RlModuleArgs<'a> = builder::RlModuleArgs<'a, PPOConfig>;
/// `.reporting(...)` arguments (the shared [`builder::ReportingArgs`]).
pub type ReportingArgs<'a> = builder::ReportingArgs<'a, PPOConfig>;

setters!(TrainingArgs {
    /// Env steps per iteration.
    train_batch_size: usize => base.train_batch_size;
    /// Learning rate.
    lr: f64 => base.lr;
    /// Discount factor.
    gamma: f64 => base.gamma;
    /// Rows per gradient step.
    minibatch_size: usize => base.minibatch_size;
    /// Passes over the batch per iteration.
    num_epochs: usize => base.num_epochs;
    /// Reshuffle at every pass.
    shuffle_batch_per_epoch: bool => base.shuffle_batch_per_epoch;
    /// Global-norm gradient clipping.
    grad_clip: Option<f64> => base.grad_clip;
    /// GAE λ.
    lambda_: f64 => lambda_;
    /// Surrogate clipping ε.
    clip_param: f64 => clip_param;
    /// Squared value-error clip.
    vf_clip_param: f64 => vf_clip_param;
    /// Value-loss weight.
    vf_loss_coeff: f64 => vf_loss_coeff;
    /// Entropy-bonus weight.
    entropy_coeff: f64 => entropy_coeff;
    /// Initial KL coefficient.
    kl_coeff: f64 => kl_coeff;
    /// KL target.
    kl_target: f64 => kl_target;
    /// Add the KL penalty.
    use_kl_loss: bool => use_kl_loss;
    /// Learning-rate schedule.
    lr_schedule: Option<Vec<(u64, f64)>> => lr_schedule;
    /// Entropy-coefficient schedule.
    entropy_coeff_schedule: Option<Vec<(u64, f64)>> => entropy_coeff_schedule;
    /// Adam's ε.
    adam_eps: f64 => adam_eps;
    /// A whole learner pipeline replacing PPO's default.
    learner_connector: Option<Pipeline<dyn LearnerConnector>> => base.learner_connector;
});

builder_methods!(PPOConfig, "PPO");

impl PPOConfig {
    /// `.training(...)`.
    pub fn training(
        mut self,
        f: impl for<'a, 'b> FnOnce(&'a mut TrainingArgs<'b>) -> &'a mut TrainingArgs<'b>,
    ) -> Self {
        f(&mut TrainingArgs(&mut self));
        self
    }

    /// Checks the settings, saying what to change: the shared ones, PPO's on-policy batch
    /// arithmetic (minibatches within the train batch, whole sample rounds), then PPO's own.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.base.validate()?;
        let err = |s: String| Err(ConfigError(s));
        let b = &self.base;
        if b.minibatch_size == 0 {
            return err("minibatch_size = 0: it must be at least 1".into());
        }
        if b.minibatch_size > b.train_batch_size {
            return err(format!(
                    "minibatch_size = {} > train_batch_size = {}: a minibatch cannot be larger than the train batch; lower minibatch_size or raise train_batch_size",
                    b.minibatch_size, b.train_batch_size
                ));
        }
        if b.num_epochs == 0 {
            return err("num_epochs = 0: it must be at least 1".into());
        }
        if let FragmentLength::Steps(n) = b.rollout_fragment_length {
            let envs = b.num_env_runners.max(1) * b.num_envs_per_env_runner;
            if !b.train_batch_size.is_multiple_of(n * envs) {
                return err(format!(
                        "train_batch_size = {} is not a multiple of rollout_fragment_length × runners × envs = {n} × {} × {} = {}: each sample round collects {} steps, so the batch cannot be filled exactly; use rollout_fragment_length = \"auto\" or a train_batch_size like {}",
                        b.train_batch_size,
                        b.num_env_runners.max(1),
                        b.num_envs_per_env_runner,
                        n * envs,
                        n * envs,
                        b.train_batch_size.div_ceil(n * envs) * n * envs
                    ));
            }
        }

        for (name, value) in [
            ("lambda_", self.lambda_),
            ("clip_param", self.clip_param),
            ("vf_clip_param", self.vf_clip_param),
            ("vf_loss_coeff", self.vf_loss_coeff),
            ("entropy_coeff", self.entropy_coeff),
            ("kl_coeff", self.kl_coeff),
            ("kl_target", self.kl_target),
            ("adam_eps", self.adam_eps),
        ] {
            algorithm::check_finite(name, Some(value))?;
        }
        for (name, sched) in [
            ("lr_schedule", &self.lr_schedule),
            ("entropy_coeff_schedule", &self.entropy_coeff_schedule),
        ] {
            for &(_, v) in sched.iter().flatten() {
                algorithm::check_finite(name, Some(v))?;
            }
        }
        if !(0.0..=1.0).contains(&self.lambda_) {
            return err(format!("lambda_ = {} must lie in [0, 1]", self.lambda_));
        }
        if self.clip_param.is_nan() || self.clip_param <= 0.0 {
            return err(format!("clip_param = {} must be positive", self.clip_param));
        }
        if self.vf_clip_param.is_nan() || self.vf_clip_param <= 0.0 {
            return err(format!(
                "vf_clip_param = {} must be positive",
                self.vf_clip_param
            ));
        }
        if self.kl_coeff < 0.0
            || self.kl_target < 0.0
            || self.entropy_coeff < 0.0
            || self.vf_loss_coeff < 0.0
        {
            return err("kl_coeff, kl_target, entropy_coeff and vf_loss_coeff must be ≥ 0".into());
        }
        for (name, sched) in [
            ("lr_schedule", &self.lr_schedule),
            ("entropy_coeff_schedule", &self.entropy_coeff_schedule),
        ] {
            if let Some(s) = sched {
                if s.is_empty() {
                    return err(format!(
                        "{name} is empty: give at least one [timestep, value] pair or None"
                    ));
                }
                if s.windows(2).any(|w| w[1].0 < w[0].0) {
                    return err(format!("{name} = {s:?}: timesteps must not decrease"));
                }
                if name == "lr_schedule" && s.iter().any(|&(_, v)| v.is_nan() || v < 0.0) {
                    return err(format!("{name} = {s:?}: learning rates must be ≥ 0"));
                }
            }
        }
        if self.adam_eps.is_nan() || self.adam_eps <= 0.0 {
            return err(format!("adam_eps = {} must be positive", self.adam_eps));
        }
        // Model settings PPO's module does not have: refused rather than ignored.
        let m = &b.model_config;
        if !m.head_fcnet_hiddens.is_empty()
            || m.fcnet_bias_initializer.is_some()
            || m.head_fcnet_bias_initializer.is_some()
        {
            return err("PPO's module has linear pi/vf heads and `initializer`'s biases: leave head_fcnet_hiddens empty and fcnet_bias_initializer / head_fcnet_bias_initializer unset".into());
        }
        // GAE's γ and λ come from `gamma` and `lambda_`; pipelines may not say otherwise.
        config::check_connectors(self)
    }

    /// A config from a JSON value (what [`rl_core::algorithm::build_algorithm`] receives), as
    /// [`from_json`](Self::from_json).
    pub fn from_value(value: &serde_json::Value) -> Result<Self, ConfigError> {
        config::from_value(value)
    }
}

impl AlgoConfig for PPOConfig {
    const KEY_DOCS_SOURCE: &'static str = include_str!("config.rs");

    fn base(&self) -> &AlgorithmConfig {
        &self.base
    }

    fn base_mut(&mut self) -> &mut AlgorithmConfig {
        &mut self.base
    }

    fn validate(&self) -> Result<(), ConfigError> {
        PPOConfig::validate(self)
    }
}

pub use crate::schedule::schedule_value;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed_config() -> PPOConfig {
        PPOConfig::new()
            .environment("CartPole-v1")
            .env_runners(|r| r.num_env_runners(2))
            .training(|t| {
                t.train_batch_size(500)
                    .lr(3e-4)
                    .gamma(0.99)
                    .minibatch_size(128)
                    .num_epochs(5)
            })
            .evaluation(|e| e.evaluation_interval(Some(10)).evaluation_duration(10))
    }

    #[test]
    fn defaults_are_rllib_ppo_defaults() {
        let c = PPOConfig::new();
        assert_eq!(
            (
                c.base.lr,
                c.base.train_batch_size,
                c.base.minibatch_size,
                c.base.num_epochs
            ),
            (5e-5, 4000, 128, 30)
        );
        assert_eq!(
            (
                c.lambda_,
                c.clip_param,
                c.vf_clip_param,
                c.kl_coeff,
                c.kl_target
            ),
            (1.0, 0.3, 10.0, 0.2, 0.01)
        );
        assert!(c.use_kl_loss && c.base.grad_clip.is_none());
    }

    #[test]
    fn builder_json_toml_roundtrip() {
        let c = seed_config();
        assert_eq!(c.base.minibatch_size, 128);
        assert_eq!(PPOConfig::from_json(&c.to_json()).unwrap(), c);
        assert_eq!(PPOConfig::from_toml(&c.to_toml().unwrap()).unwrap(), c);
        let json: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(
            json["train_batch_size"],
            json!(500),
            "keys are flat, RLlib's names"
        );
    }

    #[test]
    fn set_by_rllib_name() {
        let mut c = seed_config();
        c.set("minibatch_size", json!(256)).unwrap();
        c.set("lambda_", json!(0.95)).unwrap();
        c.set("lr", json!(1e-3)).unwrap();
        assert_eq!(
            (c.base.minibatch_size, c.lambda_, c.base.lr),
            (256, 0.95, 1e-3)
        );
        assert_eq!(c.get("minibatch_size"), Some(json!(256)));
        assert!(c.set("no_such_key", json!(1)).is_err());
        c.set("minibatch_size", json!(1000)).unwrap();
        assert!(c
            .validate()
            .unwrap_err()
            .0
            .contains("minibatch_size = 1000 > train_batch_size = 500"));
    }

    #[test]
    fn shared_method_groups_set_the_shared_settings() {
        let c = seed_config()
            .rl_module(|m| m.fcnet_hiddens(vec![32]).vf_share_layers(true))
            .reporting(|r| r.min_sample_timesteps_per_iteration(1000));
        assert_eq!(c.base.model_config.fcnet_hiddens, vec![32]);
        assert!(c.base.model_config.vf_share_layers);
        assert_eq!(c.base.min_sample_timesteps_per_iteration, 1000);
        assert_eq!(c.base.num_env_runners, 2);
        assert_eq!(c.base.evaluation_interval, Some(10));
        assert!(c.validate().is_ok());
        // The shared `.rl_module(...)` has every DefaultModelConfig key; PPO's module has
        // no head layers or bias initializers and says so.
        for c in [
            seed_config().rl_module(|m| m.head_fcnet_hiddens(vec![8])),
            seed_config().rl_module(|m| m.fcnet_bias_initializer(Some("zeros_".into()))),
        ] {
            assert!(c
                .validate()
                .unwrap_err()
                .0
                .contains("head_fcnet_hiddens empty"));
        }
    }

    #[test]
    fn schedules_interpolate() {
        let s = [(0, 1.0), (100, 0.0)];
        assert_eq!(schedule_value(&s, 0), 1.0);
        assert_eq!(schedule_value(&s, 50), 0.5);
        assert_eq!(schedule_value(&s, 1000), 0.0);
    }
}
