//! `rl-algos`: reinforcement-learning algorithms on `rl-core`. PPO is the reference one:
//! [`PPOConfig`] builds a [`PPO`] whose `train()` runs one RLlib training iteration.
#![warn(missing_docs)]

pub mod ppo;

pub use ppo::{PPOConfig, PPO};
pub use rl_core::algorithm::Algorithm;
