//! `rl`: reinforcement learning in Rust with RLlib's names and semantics.
//!
//! This facade re-exports the workspace's crates:
//! - [`nn`] (`rl-nn`): reverse-mode autodiff, layers, Adam, action distributions;
//! - [`core`] (`rl-core`): spaces, `Env`, `Policy`, connectors, env runners, learners;
//! - [`envs`] (`rl-envs`): Gymnasium's classic-control environments;
//! - [`algos`] (`rl-algos`): PPO and its `PPOConfig` builder;
//!
//! and holds [`tune`]: Ray Tune's sweeps (search spaces, schedulers, trial files, resume).
#![warn(missing_docs)]

pub use rl_algos as algos;
pub use rl_core as core;
pub use rl_envs as envs;
pub use rl_nn as nn;

pub mod tune;
