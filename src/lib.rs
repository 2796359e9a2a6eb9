//! `rl`: reinforcement learning in Rust with RLlib's names and semantics.
//!
//! This facade re-exports the workspace's crates:
//! - [`nn`] (`rl-nn`): reverse-mode autodiff, layers, Adam, action distributions;
//! - [`core`] (`rl-core`): spaces, `Env`, `Policy`, connectors, env runners, learners;
//! - [`envs`] (`rl-envs`): Gymnasium's classic-control environments;
//! - [`algos`] (`rl-algos`): PPO and its `PPOConfig` builder.
//!
//! and adds what a user sees of a run:
//! - [`tune`]: Ray Tune's sweeps (search spaces, schedulers, trial files, resume);
//! - [`logger`]: result loggers, TensorBoard event files with Ray Tune's tags;
//! - [`results`]: reading trial and sweep directories back (ours or Ray Tune's);
//! - `plot` (feature `plot`, on by default): learning curves as PNG and SVG;
//! - [`render`]: CartPole drawn as text in the terminal;
//! - `cli` (feature `cli`, on by default): the `rl` command line and its argument structs.
#![warn(missing_docs)]

pub use rl_algos as algos;
pub use rl_core as core;
pub use rl_envs as envs;
pub use rl_nn as nn;

// The crates in our signatures, so that a user's crate (and `examples/custom_algorithm.rs`)
// uses the same versions without dependencies of its own.
#[doc(no_inline)]
pub use ndarray;
#[doc(no_inline)]
pub use serde;
#[doc(no_inline)]
pub use serde_json;

#[cfg(feature = "cli")]
pub mod cli;
pub mod logger;
#[cfg(feature = "plot")]
pub mod plot;
pub mod render;
pub mod results;
pub mod tune;
