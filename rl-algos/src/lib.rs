//! `rl-algos`: reinforcement-learning algorithms on `rl-core`. PPO is the reference one:
//! [`PPOConfig`] builds a [`PPO`] whose `train()` runs one RLlib training iteration.
#![warn(missing_docs)]

pub mod ppo;

pub use ppo::{PPOConfig, PPO};
pub use rl_core::algorithm::Algorithm;

use rl_core::algorithm::{register_algorithm, AlgorithmRegistration};

/// Registers the built-in algorithms (`"PPO"`) in rl-core's algorithm registry, so that
/// [`rl_core::algorithm::build_algorithm`] and
/// [`rl_core::algorithm::algorithm_from_checkpoint`] find them by name. Idempotent; also
/// registers the built-in envs.
pub fn register_builtins() {
    rl_envs::register_builtins();
    register_algorithm(
        AlgorithmRegistration::new("PPO", |config| {
            Ok(Box::new(PPOConfig::from_value(config)?.build()?))
        })
        .default_config(|| serde_json::to_value(PPOConfig::default()).unwrap_or_default())
        .from_checkpoint(|dir| Ok(Box::new(PPO::from_checkpoint(dir)?))),
    );
}
