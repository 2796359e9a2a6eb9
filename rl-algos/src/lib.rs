//! `rl-algos`: reinforcement-learning algorithms on `rl-core`, each the shared driver
//! around its own logic: [`PPOConfig`] builds a [`PPO`], [`DQNConfig`] a [`DQN`], whose
//! `train()` runs one RLlib training iteration.
#![warn(missing_docs)]

pub mod builder;
mod checkpoint_io;
pub mod dqn;
pub mod ppo;
pub mod schedule;

pub use dqn::{DQNConfig, DQN};
pub use ppo::{PPOConfig, PPO};
pub use rl_core::algorithm::Algorithm;

use std::sync::Once;

use rl_core::algorithm::register_algorithm;

/// Registers the built-in algorithms (`"PPO"`, `"DQN"`) in rl-core's algorithm registry, so that
/// [`rl_core::algorithm::build_algorithm`],
/// [`rl_core::algorithm::algorithm_from_checkpoint`] and
/// [`InferencePolicy::from_checkpoint`](rl_core::algorithm::InferencePolicy::from_checkpoint)
/// find them by name; also registers the built-in envs. Runs once per process (building
/// any built-in algorithm calls it).
pub fn register_builtins() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        rl_envs::register_builtins();
        register_algorithm(PPO::registration());
        register_algorithm(DQN::registration());
    });
}
