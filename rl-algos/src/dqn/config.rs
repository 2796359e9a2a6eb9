//! `DQNConfig`: RLlib 2.60's new-stack DQN config with its builder method groups, names
//! and defaults (`rllib/algorithms/dqn/dqn.py`).

use rl_core::algorithm::{AlgoConfig, AlgorithmConfig, ConfigError, FragmentLength};
use rl_core::replay::NStep;
use serde::{Deserialize, Serialize};

use crate::builder::{self, builder_methods, setters};
use crate::schedule::schedule_value;

/// RLlib's `replay_buffer_config`: which buffer and its settings.
///
/// As in RLlib, a config that keeps the type updates the defaults key by key (`{"capacity":
/// 60000}` keeps α 0.6 and β 0.4), and one that changes the type starts from that type's
/// own defaults (`{"type": "EpisodeReplayBuffer"}` holds 10000 steps, RLlib's
/// `EpisodeReplayBuffer` default). Keys a type does not have are refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", try_from = "RawReplayBufferConfig")]
pub enum ReplayBufferConfig {
    /// `PrioritizedEpisodeReplayBuffer` (DQN's default): proportional prioritization.
    PrioritizedEpisodeReplayBuffer {
        /// Capacity in env steps (DQN default 50000).
        capacity: usize,
        /// Prioritization exponent (DQN default 0.6; 0 is uniform).
        alpha: f64,
        /// Importance-sampling exponent (DQN default 0.4).
        beta: f64,
    },
    /// `EpisodeReplayBuffer`: uniform over the stored env steps.
    EpisodeReplayBuffer {
        /// Capacity in env steps (RLlib's default 10000).
        capacity: usize,
    },
}

impl Default for ReplayBufferConfig {
    fn default() -> Self {
        ReplayBufferConfig::PrioritizedEpisodeReplayBuffer {
            capacity: 50_000,
            alpha: 0.6,
            beta: 0.4,
        }
    }
}

impl ReplayBufferConfig {
    /// Capacity in env steps.
    pub fn capacity(&self) -> usize {
        match *self {
            ReplayBufferConfig::PrioritizedEpisodeReplayBuffer { capacity, .. }
            | ReplayBufferConfig::EpisodeReplayBuffer { capacity } => capacity,
        }
    }

    /// β of the samples (0 for the uniform buffer, whose weights are all 1).
    pub fn beta(&self) -> f64 {
        match *self {
            ReplayBufferConfig::PrioritizedEpisodeReplayBuffer { beta, .. } => beta,
            ReplayBufferConfig::EpisodeReplayBuffer { .. } => 0.0,
        }
    }
}

/// `replay_buffer_config` as written: every key optional.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplayBufferConfig {
    #[serde(rename = "type")]
    buffer_type: Option<String>,
    capacity: Option<usize>,
    alpha: Option<f64>,
    beta: Option<f64>,
}

impl TryFrom<RawReplayBufferConfig> for ReplayBufferConfig {
    type Error = String;

    fn try_from(raw: RawReplayBufferConfig) -> Result<Self, String> {
        let defaults = ReplayBufferConfig::default();
        match raw.buffer_type.as_deref() {
            None | Some("PrioritizedEpisodeReplayBuffer") => {
                let ReplayBufferConfig::PrioritizedEpisodeReplayBuffer {
                    capacity,
                    alpha,
                    beta,
                } = defaults
                else {
                    // invariant: ReplayBufferConfig::default() is the prioritized buffer.
                    unreachable!("the default buffer is prioritized")
                };
                Ok(ReplayBufferConfig::PrioritizedEpisodeReplayBuffer {
                    capacity: raw.capacity.unwrap_or(capacity),
                    alpha: raw.alpha.unwrap_or(alpha),
                    beta: raw.beta.unwrap_or(beta),
                })
            }
            Some("EpisodeReplayBuffer") => {
                if raw.alpha.is_some() || raw.beta.is_some() {
                    return Err("replay_buffer_config: an EpisodeReplayBuffer samples uniformly and has no alpha or beta; remove them or use type = \"PrioritizedEpisodeReplayBuffer\"".into());
                }
                Ok(ReplayBufferConfig::EpisodeReplayBuffer {
                    capacity: raw.capacity.unwrap_or(10_000),
                })
            }
            Some(other) => Err(format!(
                "replay_buffer_config: unknown type {other:?}; use \"PrioritizedEpisodeReplayBuffer\" or \"EpisodeReplayBuffer\""
            )),
        }
    }
}

/// RLlib's `epsilon`: a constant, or a piecewise-linear schedule `[[timestep, value], …]`
/// over the run's env steps starting at timestep 0 (constant after the last point).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Epsilon {
    /// The same ε at every step.
    Constant(f64),
    /// `[[timestep, ε], …]`, linearly interpolated.
    Schedule(Vec<(u64, f64)>),
}

impl Default for Epsilon {
    /// RLlib's DQN default: 1.0 → 0.05 over 10k env steps.
    fn default() -> Self {
        Epsilon::Schedule(vec![(0, 1.0), (10_000, 0.05)])
    }
}

impl Epsilon {
    /// ε at the run's env step `t` (RLlib's `Scheduler.get_current_value` after
    /// `update(t)`).
    pub fn value(&self, t: u64) -> f64 {
        match self {
            Epsilon::Constant(e) => *e,
            Epsilon::Schedule(s) => schedule_value(s, t),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let err = |s: String| Err(ConfigError(s));
        let values: Vec<f64> = match self {
            Epsilon::Constant(e) => vec![*e],
            Epsilon::Schedule(s) => {
                match s.first() {
                    None => return err("epsilon = []: give a value or [[0, value], …]".into()),
                    Some((t0, _)) if *t0 != 0 => {
                        return err(format!(
                            "epsilon = {s:?}: a schedule must start at timestep 0 (as RLlib's)"
                        ))
                    }
                    _ => {}
                }
                if s.windows(2).any(|w| w[1].0 < w[0].0) {
                    return err(format!("epsilon = {s:?}: timesteps must not decrease"));
                }
                s.iter().map(|&(_, v)| v).collect()
            }
        };
        match values.iter().find(|v| !(0.0..=1.0).contains(*v)) {
            Some(v) => err(format!("epsilon value {v} must lie in [0, 1]")),
            None => Ok(()),
        }
    }
}

/// RLlib's `td_error_loss_fn`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TdErrorLossFn {
    /// `torch.nn.HuberLoss` (δ = 1): `½x²` for `|x| < 1`, `|x| − ½` beyond (the default).
    #[default]
    Huber,
    /// `torch.nn.MSELoss`: `x²`.
    Mse,
}

/// DQN's configuration: the shared [`AlgorithmConfig`] plus DQN's own settings, flat and
/// serializable, every field under its RLlib name and with RLlib 2.60's default.
///
/// ```
/// use rl_algos::dqn::{DQNConfig, ReplayBufferConfig};
/// use rl_core::replay::NStep;
/// let config = DQNConfig::new()
///     .environment("CartPole-v1")
///     .env_runners(|r| r.num_env_runners(1))
///     .training(|t| {
///         t.lr(5e-4)
///             .train_batch_size(32)
///             .n_step(NStep::Range(2, 5))
///             .replay_buffer_config(ReplayBufferConfig::PrioritizedEpisodeReplayBuffer {
///                 capacity: 50_000,
///                 alpha: 0.6,
///                 beta: 0.4,
///             })
///     })
///     .rl_module(|m| m.fcnet_hiddens(vec![256]).head_fcnet_hiddens(vec![256]));
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DQNConfig {
    /// Settings every algorithm shares (env, env runners, training basics, evaluation, …),
    /// with DQN's defaults: `lr` 5e-4, `train_batch_size` 32, `grad_clip` 40,
    /// `min_sample_timesteps_per_iteration` 1000, `num_env_runners` 0, `minibatch_size` 0
    /// (RLlib's `None`: the whole train batch), `num_epochs` 1.
    #[serde(flatten, deserialize_with = "dqn_base")]
    pub base: AlgorithmConfig,
    /// The replay buffer (default: prioritized, 50000 steps, α 0.6, β 0.4).
    pub replay_buffer_config: ReplayBufferConfig,
    /// Env steps sampled before the first update (default 1000).
    pub num_steps_sampled_before_learning_starts: u64,
    /// Update the target network once at least this many env steps were sampled since the
    /// last update (default 500).
    pub target_network_update_freq: u64,
    /// Target update `target ← τ·online + (1 − τ)·target` (default 1.0: a copy).
    pub tau: f64,
    /// Double Q-learning: the online network picks the bootstrap action (default true).
    pub double_q: bool,
    /// Dueling architecture: advantage and value streams (default true).
    pub dueling: bool,
    /// n-step targets: a number, or `[lo, hi]` to draw n per sampled transition from
    /// `lo..hi` (hi excluded, as RLlib's buffers do; default 1).
    pub n_step: NStep,
    /// Epsilon-greedy exploration: a constant or a schedule over the run's env steps
    /// (default `[[0, 1.0], [10000, 0.05]]`).
    pub epsilon: Epsilon,
    /// Replayed env steps per sampled env step (`None`: RLlib's natural ratio, one update
    /// per sample round).
    pub training_intensity: Option<f64>,
    /// `"huber"` (default) or `"mse"`.
    pub td_error_loss_fn: TdErrorLossFn,
    /// RLlib's old-stack head sizes (default `[256]`): its new stack, which this is, builds
    /// the heads from `model_config.head_fcnet_hiddens` instead, and so do we; any other
    /// value is refused rather than ignored.
    pub hiddens: Vec<usize>,
    /// Store the replay buffer's contents in checkpoints (default false; RLlib 2.60's new
    /// stack accepts the key but never stores the buffer, `docs/dqn.md`).
    pub store_buffer_in_checkpoints: bool,
    /// Adam's ε (default 1e-8, torch's; RLlib's new stack keeps the same default).
    pub adam_epsilon: f64,
    /// Atoms of distributional Q-learning: only 1 (expected Q-values) is implemented.
    pub num_atoms: usize,
    /// Noisy networks: not implemented (must be false).
    pub noisy: bool,
}

impl Default for DQNConfig {
    fn default() -> Self {
        DQNConfig {
            base: AlgorithmConfig {
                lr: 5e-4,
                train_batch_size: 32,
                grad_clip: Some(40.0),
                min_sample_timesteps_per_iteration: 1000,
                num_env_runners: 0,
                minibatch_size: 0,
                num_epochs: 1,
                shuffle_batch_per_epoch: false,
                ..AlgorithmConfig::default()
            },
            replay_buffer_config: ReplayBufferConfig::default(),
            num_steps_sampled_before_learning_starts: 1000,
            target_network_update_freq: 500,
            tau: 1.0,
            double_q: true,
            dueling: true,
            n_step: NStep::Fixed(1),
            epsilon: Epsilon::default(),
            training_intensity: None,
            td_error_loss_fn: TdErrorLossFn::Huber,
            hiddens: vec![256],
            store_buffer_in_checkpoints: false,
            adam_epsilon: 1e-8,
            num_atoms: 1,
            noisy: false,
        }
    }
}

/// The shared settings of a DQN config as written, over DQN's defaults (serde fills a
/// flattened struct's missing keys from that struct's own `Default`, which is not DQN's).
fn dqn_base<'de, D: serde::Deserializer<'de>>(d: D) -> Result<AlgorithmConfig, D::Error> {
    use serde::de::Error;
    let given = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
    let mut base = match serde_json::to_value(DQNConfig::default().base) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => return Err(D::Error::custom("DQN's default settings do not serialize")),
    };
    base.extend(given);
    serde_json::from_value(serde_json::Value::Object(base)).map_err(D::Error::custom)
}

/// `.training(...)` arguments.
#[derive(Debug)]
pub struct TrainingArgs<'a>(&'a mut DQNConfig);

setters!(TrainingArgs {
    /// Rows sampled from the buffer per update (RLlib's `train_batch_size_per_learner`).
    train_batch_size: usize => base.train_batch_size;
    /// Learning rate.
    lr: f64 => base.lr;
    /// Discount factor.
    gamma: f64 => base.gamma;
    /// Global-norm gradient clipping (default 40).
    grad_clip: Option<f64> => base.grad_clip;
    /// The replay buffer.
    replay_buffer_config: ReplayBufferConfig => replay_buffer_config;
    /// Env steps before learning starts.
    num_steps_sampled_before_learning_starts: u64 => num_steps_sampled_before_learning_starts;
    /// Env steps between target-network updates.
    target_network_update_freq: u64 => target_network_update_freq;
    /// Polyak coefficient of the target update.
    tau: f64 => tau;
    /// Double Q-learning.
    double_q: bool => double_q;
    /// Dueling streams.
    dueling: bool => dueling;
    /// n-step targets.
    n_step: NStep => n_step;
    /// Exploration ε (constant or schedule).
    epsilon: Epsilon => epsilon;
    /// Replayed per sampled env steps.
    training_intensity: Option<f64> => training_intensity;
    /// `huber` or `mse`.
    td_error_loss_fn: TdErrorLossFn => td_error_loss_fn;
    /// Keep the buffer in checkpoints.
    store_buffer_in_checkpoints: bool => store_buffer_in_checkpoints;
    /// Adam's ε.
    adam_epsilon: f64 => adam_epsilon;
});

builder_methods!(DQNConfig, "DQN");

impl DQNConfig {
    /// `.training(...)`.
    pub fn training(
        mut self,
        f: impl for<'a, 'b> FnOnce(&'a mut TrainingArgs<'b>) -> &'a mut TrainingArgs<'b>,
    ) -> Self {
        f(&mut TrainingArgs(&mut self));
        self
    }

    /// The `rollout_fragment_length` DQN samples with: the configured number, or for
    /// `"auto"` RLlib's DQN rule, `n_step` (its upper end for a range).
    pub fn rollout_fragment_length(&self) -> usize {
        match self.base.rollout_fragment_length {
            FragmentLength::Steps(n) => n,
            FragmentLength::Auto => match self.n_step {
                NStep::Fixed(n) => n,
                NStep::Range(_, hi) => hi,
            },
        }
    }

    /// Sample rounds and updates per `training_step` (RLlib's `calculate_rr_weights`):
    /// `[1, 1]` without `training_intensity`; otherwise the intensity over the natural
    /// ratio `train_batch_size / (rollout_fragment_length × num_envs_per_env_runner ×
    /// (num_env_runners + 1))`, rounded, as `[rounds, 1]` below 1 or `[1, updates]` above.
    pub fn round_robin_weights(&self) -> (usize, usize) {
        let Some(intensity) = self.training_intensity else {
            return (1, 1);
        };
        let b = &self.base;
        let native = b.train_batch_size as f64
            / (self.rollout_fragment_length() * b.num_envs_per_env_runner * (b.num_env_runners + 1))
                as f64;
        let weight = intensity / native;
        if weight < 1.0 {
            (round_half_even(1.0 / weight), 1)
        } else {
            (1, round_half_even(weight))
        }
    }

    /// Checks the settings, saying what to change.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.base.validate()?;
        let err = |s: String| Err(ConfigError(s));
        let b = &self.base;
        if b.num_epochs != 1 || (b.minibatch_size != 0 && b.minibatch_size != b.train_batch_size) {
            return err(format!(
                "minibatch_size = {}, num_epochs = {}: DQN takes one gradient step on each sampled train batch (RLlib's minibatch_size=None, num_epochs=1); leave minibatch_size at 0 (the whole batch) and num_epochs at 1, and raise training_intensity for more updates per env step",
                b.minibatch_size, b.num_epochs
            ));
        }
        if b.learner_connector.is_some() {
            return err("learner_connector is set but DQN learns from replayed transitions, not through a learner pipeline; remove it".into());
        }
        if let Err(e) = self.n_step.validate() {
            return err(format!("n_step = {:?}: {e}", self.n_step));
        }
        if let FragmentLength::Steps(n) = b.rollout_fragment_length {
            if n < self.n_step.max() {
                return err(format!(
                    "rollout_fragment_length = {n} is smaller than n_step = {:?}; set rollout_fragment_length to \"auto\" or at least {}",
                    self.n_step,
                    self.n_step.max()
                ));
            }
        }
        match self.replay_buffer_config {
            ReplayBufferConfig::PrioritizedEpisodeReplayBuffer {
                capacity,
                alpha,
                beta,
            } => {
                if capacity == 0 {
                    return err(
                        "replay_buffer_config.capacity = 0: it must hold at least one env step"
                            .into(),
                    );
                }
                if !(alpha >= 0.0 && alpha.is_finite()) {
                    return err(format!(
                        "replay_buffer_config.alpha = {alpha} must be finite and ≥ 0"
                    ));
                }
                if !(beta >= 0.0 && beta.is_finite()) {
                    return err(format!(
                        "replay_buffer_config.beta = {beta} must be finite and ≥ 0"
                    ));
                }
            }
            ReplayBufferConfig::EpisodeReplayBuffer { capacity: 0 } => {
                return err(
                    "replay_buffer_config.capacity = 0: it must hold at least one env step".into(),
                );
            }
            ReplayBufferConfig::EpisodeReplayBuffer { .. } => {}
        }
        if !(0.0..=1.0).contains(&self.tau) || self.tau == 0.0 {
            return err(format!(
                "tau = {} must lie in (0, 1] (1: copy the online network)",
                self.tau
            ));
        }
        self.epsilon.validate()?;
        if let Some(t) = self.training_intensity {
            if !(t > 0.0 && t.is_finite()) {
                return err(format!(
                    "training_intensity = {t} must be positive (or None for the natural ratio)"
                ));
            }
        }
        if self.hiddens != [256] {
            return err(format!(
                "hiddens = {:?}: RLlib's new-stack DQN (and ours) builds its heads from model_config.head_fcnet_hiddens; set that instead and leave hiddens at [256]",
                self.hiddens
            ));
        }
        if !(self.adam_epsilon > 0.0 && self.adam_epsilon.is_finite()) {
            return err(format!(
                "adam_epsilon = {} must be positive",
                self.adam_epsilon
            ));
        }
        if self.num_atoms != 1 {
            return err(format!(
                "num_atoms = {}: distributional Q-learning is not implemented; use num_atoms = 1",
                self.num_atoms
            ));
        }
        if self.noisy {
            return err("noisy = true: noisy networks are not implemented; use epsilon-greedy exploration (noisy = false)".into());
        }
        // A configured module→env pipeline must not contradict `epsilon`.
        if let Some(p) = &b.module_to_env_connector {
            let own = serde_json::to_value(&self.epsilon).ok();
            let pipeline = serde_json::to_value(p).unwrap_or_default();
            let clash = pipeline.as_array().into_iter().flatten().find(|c| {
                c.get("type").and_then(|t| t.as_str()) == Some("EpsilonGreedy")
                    && c.get("epsilon") != own.as_ref()
            });
            if let Some(c) = clash {
                return err(format!(
                    "module_to_env_connector has an EpsilonGreedy with epsilon = {} but epsilon = {}; set one of them (DQNConfig::default_module_to_env builds the pipeline from epsilon)",
                    c["epsilon"],
                    own.unwrap_or_default()
                ));
            }
        }
        if b.model_config.vf_share_layers {
            return err("vf_share_layers = true: DQN's streams always share one encoder; leave vf_share_layers false".into());
        }
        Ok(())
    }

    /// A config from a JSON value; missing fields take their defaults.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, ConfigError> {
        builder::from_value(value, "DQN")
    }
}

/// NumPy's `np.round`: halves to even.
fn round_half_even(x: f64) -> usize {
    let r = x.round();
    let r = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    };
    r.max(0.0) as usize
}

impl AlgoConfig for DQNConfig {
    fn base(&self) -> &AlgorithmConfig {
        &self.base
    }

    fn base_mut(&mut self) -> &mut AlgorithmConfig {
        &mut self.base
    }

    fn validate(&self) -> Result<(), ConfigError> {
        DQNConfig::validate(self)
    }

    const KEY_DOCS_SOURCE: &'static str = include_str!("config.rs");

    fn get_rollout_fragment_length(&self) -> usize {
        self.rollout_fragment_length()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tuned() -> DQNConfig {
        DQNConfig::new()
            .environment("CartPole-v1")
            .env_runners(|r| r.num_env_runners(1))
            .training(|t| {
                t.n_step(NStep::Range(2, 5))
                    .epsilon(Epsilon::Schedule(vec![(0, 1.0), (10_000, 0.02)]))
            })
            .rl_module(|m| {
                m.fcnet_hiddens(vec![256])
                    .head_fcnet_hiddens(vec![256])
                    .head_fcnet_activation("tanh")
                    .fcnet_bias_initializer(Some("zeros_".into()))
                    .head_fcnet_bias_initializer(Some("zeros_".into()))
            })
    }

    #[test]
    fn defaults_are_rllib_dqn_defaults() {
        let c = DQNConfig::new();
        assert_eq!(
            (c.base.lr, c.base.train_batch_size, c.base.grad_clip),
            (5e-4, 32, Some(40.0))
        );
        assert_eq!(c.base.min_sample_timesteps_per_iteration, 1000);
        assert_eq!(
            (
                c.num_steps_sampled_before_learning_starts,
                c.target_network_update_freq,
                c.tau
            ),
            (1000, 500, 1.0)
        );
        assert!(c.double_q && c.dueling && !c.store_buffer_in_checkpoints);
        assert_eq!(c.n_step, NStep::Fixed(1));
        assert_eq!(c.epsilon.value(0), 1.0);
        assert!((c.epsilon.value(5000) - 0.525).abs() < 1e-12);
        assert_eq!(c.epsilon.value(20_000), 0.05);
        assert_eq!(c.replay_buffer_config, ReplayBufferConfig::default());
        assert_eq!(c.td_error_loss_fn, TdErrorLossFn::Huber);
        assert_eq!(c.rollout_fragment_length(), 1);
        assert!(c.clone().environment("CartPole-v1").validate().is_ok());
    }

    #[test]
    fn json_toml_roundtrip_with_rllib_names() {
        let c = tuned();
        assert_eq!(DQNConfig::from_json(&c.to_json()).unwrap(), c);
        assert_eq!(DQNConfig::from_toml(&c.to_toml().unwrap()).unwrap(), c);
        let v: serde_json::Value = serde_json::from_str(&c.to_json()).unwrap();
        assert_eq!(v["n_step"], json!([2, 5]));
        assert_eq!(
            v["replay_buffer_config"]["type"],
            "PrioritizedEpisodeReplayBuffer"
        );
        assert_eq!(v["model_config"]["head_fcnet_hiddens"], json!([256]));
        assert_eq!(v["epsilon"], json!([[0, 1.0], [10000, 0.02]]));
        assert_eq!(c.rollout_fragment_length(), 5, "auto = n_step's upper end");
        // Keys left out take DQN's defaults, the shared ones included.
        assert_eq!(DQNConfig::from_json("{}").unwrap(), DQNConfig::new());
        assert_eq!(DQNConfig::from_toml("").unwrap(), DQNConfig::new());
        let c = DQNConfig::from_value(&json!({"env": "CartPole-v1", "gamma": 0.9})).unwrap();
        assert_eq!((c.base.lr, c.base.gamma, c.base.num_epochs), (5e-4, 0.9, 1));
    }

    #[test]
    fn replay_buffer_config_updates_like_rllib() {
        let mut c = DQNConfig::new();
        c.set("replay_buffer_config", json!({"capacity": 60000}))
            .unwrap();
        assert_eq!(
            c.replay_buffer_config,
            ReplayBufferConfig::PrioritizedEpisodeReplayBuffer {
                capacity: 60_000,
                alpha: 0.6,
                beta: 0.4
            }
        );
        c.set("replay_buffer_config/alpha", json!(0.5)).unwrap();
        assert_eq!(c.get("replay_buffer_config/alpha"), Some(json!(0.5)));
        c.set(
            "replay_buffer_config",
            json!({"type": "EpisodeReplayBuffer"}),
        )
        .unwrap();
        assert_eq!(
            c.replay_buffer_config,
            ReplayBufferConfig::EpisodeReplayBuffer { capacity: 10_000 }
        );
        let e = c
            .set(
                "replay_buffer_config",
                json!({"type": "EpisodeReplayBuffer", "alpha": 0.6}),
            )
            .unwrap_err();
        assert!(e.0.contains("no alpha"), "{e}");
        let e = c
            .set("replay_buffer_config", json!({"capacty": 5}))
            .unwrap_err();
        assert!(e.0.contains("capacty"), "{e}");
        let e = c
            .set("replay_buffer_config", json!({"type": "ReplayBuffer"}))
            .unwrap_err();
        assert!(e.0.contains("unknown type"), "{e}");
    }

    #[test]
    fn validation_names_what_to_change() {
        let msg = |c: DQNConfig| c.validate().unwrap_err().0;
        let ok = tuned();
        assert!(ok.validate().is_ok());
        let mut c = ok.clone();
        c.base.num_epochs = 3;
        assert!(msg(c).contains("one gradient step"));
        let mut c = ok.clone();
        c.base.minibatch_size = 32;
        assert!(
            c.validate().is_ok(),
            "minibatch_size = train_batch_size is the whole batch"
        );
        c.base.minibatch_size = 16;
        assert!(msg(c).contains("minibatch_size = 16"));
        let mut c = ok.clone();
        c.base.rollout_fragment_length = FragmentLength::Steps(2);
        assert!(msg(c).contains("smaller than n_step"));
        let mut c = ok.clone();
        c.epsilon = Epsilon::Schedule(vec![(100, 1.0)]);
        assert!(msg(c).contains("start at timestep 0"));
        let mut c = ok.clone();
        c.epsilon = Epsilon::Constant(1.5);
        assert!(msg(c).contains("[0, 1]"));
        let mut c = ok.clone();
        c.hiddens = vec![64];
        assert!(msg(c).contains("head_fcnet_hiddens"));
        let mut c = ok.clone();
        c.tau = 0.0;
        assert!(msg(c).contains("tau"));
        let mut c = ok.clone();
        c.num_atoms = 51;
        assert!(msg(c).contains("distributional"));
        let mut c = ok.clone();
        c.n_step = NStep::Range(3, 3);
        assert!(msg(c).contains("n_step"));
        let mut c = ok.clone();
        c.base.module_to_env_connector = Some(c.default_module_to_env());
        assert!(c.validate().is_ok());
        c.epsilon = Epsilon::Constant(0.1);
        assert!(msg(c).contains("EpsilonGreedy"));
    }

    #[test]
    fn round_robin_weights_as_rllib() {
        let mut c = tuned();
        assert_eq!(c.round_robin_weights(), (1, 1));
        // native = 32 / (5 · 1 · 2) = 3.2
        c.training_intensity = Some(32.0);
        assert_eq!(c.round_robin_weights(), (1, 10));
        c.training_intensity = Some(1.0);
        assert_eq!(c.round_robin_weights(), (3, 1));
        assert_eq!(round_half_even(2.5), 2);
        assert_eq!(round_half_even(3.5), 4);
        assert_eq!(round_half_even(3.2), 3);
    }
}
