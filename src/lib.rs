//! `rl`: reinforcement learning in Rust with RLlib's names and semantics.
//!
//! ```no_run
//! use rl::prelude::*;
//!
//! # fn main() -> Result<(), AlgorithmError> {
//! let mut algo = PPOConfig::new()
//!     .environment("CartPole-v1")
//!     .env_runners(|r| r.num_env_runners(2))
//!     .training(|t| t.train_batch_size(500).lr(3e-4).minibatch_size(128).num_epochs(5))
//!     .build()?;
//! let result = algo.train()?; // RLlib's keys: result["env_runners"]["episode_return_mean"]
//! # let _ = result;
//! # Ok(())
//! # }
//! ```
//!
//! - [`prelude`]: what a first program needs (`use rl::prelude::*;`).
//! - [`algos`] (`rl-algos`): PPO (`PPOConfig`, `PPO`) and `register_builtins`;
//! - [`core`] (`rl-core`): spaces and the `Env` trait, env runners, connectors, modules,
//!   learners, the algorithm seam (`Algorithm`, `AlgorithmLogic`, the shared driver, the
//!   registry), configs, checkpoints, metrics;
//! - [`envs`] (`rl-envs`): Gymnasium's classic-control environments;
//! - [`nn`] (`rl-nn`): reverse-mode autodiff, layers, Adam, action distributions.
//!
//! Beside them, `rl` has what a user sees of a run:
//! - [`tune`]: Ray Tune's sweeps (search spaces, schedulers, trial files, resume);
//! - [`logger`]: result loggers, TensorBoard event files with Ray Tune's tags;
//! - [`results`]: reading trial and sweep directories back (ours or Ray Tune's);
//! - `plot` (feature `plot`, on by default): learning curves as PNG and SVG;
//! - [`render`]: CartPole drawn as text in the terminal;
//! - `cli` (feature `cli`, on by default): the `rl` command line and its argument structs,
//!   with `clap` re-exported for your own programs' flags.
//!
//! The crates that appear in these signatures are re-exported — [`rand`], [`ndarray`],
//! [`serde_json`], [`serde`], [`typetag`] — so that a program uses the same versions: seed
//! [`core::Rng`] through `rl::rand::SeedableRng` (the prelude brings it), not a `rand` of
//! another version, whose `SeedableRng` is another trait.
#![warn(missing_docs)]

#[doc(inline)]
pub use rl_algos as algos;
#[doc(inline)]
pub use rl_core as core;
#[doc(inline)]
pub use rl_envs as envs;
#[doc(inline)]
pub use rl_nn as nn;

#[cfg(feature = "cli")]
pub mod cli;
pub mod logger;
#[cfg(feature = "plot")]
pub mod plot;
pub mod render;
pub mod results;
pub mod tune;

/// clap, which parses the `rl` command line (feature `cli`): a program of yours derives
/// `rl::clap::Parser` for its flags (with `use rl::clap;` in scope, which the derive's paths
/// resolve through) without a `clap` dependency of its own, as
/// `examples/custom_algorithm.rs` does.
#[cfg(feature = "cli")]
#[doc(no_inline)]
pub use clap;
#[doc(no_inline)]
pub use ndarray;
#[doc(no_inline)]
pub use rand;
#[doc(no_inline)]
pub use serde;
#[doc(no_inline)]
pub use serde_json;
#[doc(no_inline)]
pub use typetag;

/// What a first program needs, in one import: `use rl::prelude::*;`.
///
/// PPO and its config; the [`Algorithm`](crate::core::algorithm::Algorithm) trait and the registry that builds algorithms by
/// name; the `Env` trait, spaces and the env registry; the module and connector traits a
/// plugin implements; the seeded [`Rng`](crate::core::Rng) with the `rand` traits that seed and draw from it;
/// `json!`; and the `serde_json` and `typetag` crates, so that `serde_json::Value` and
/// `#[typetag::serde]` on a connector resolve without dependencies of your own (the derives
/// of your connectors' `Serialize`/`Deserialize` still need `serde` with its `derive`
/// feature in your `Cargo.toml`).
pub mod prelude {
    #[doc(no_inline)]
    pub use crate::{serde_json, typetag};
    #[doc(no_inline)]
    pub use rand::{Rng as _, SeedableRng};
    #[doc(no_inline)]
    pub use rl_algos::{register_builtins, DQNConfig, PPOConfig, DQN, PPO};
    #[doc(no_inline)]
    pub use rl_core::algorithm::{
        algorithm_from_checkpoint, build_algorithm, default_config, register_algorithm,
        registered_algorithms, AlgoConfig, Algorithm, AlgorithmConfig, AlgorithmError,
        AlgorithmLogic, AlgorithmRegistration, ConfigError, Driver, InferencePolicy, Spaces,
        StepContext,
    };
    #[doc(no_inline)]
    pub use rl_core::connectors::{
        ConnectorContext, ConnectorError, EnvToModule, EnvToModuleBatch, LearnerConnector,
        LearnerContext, LearnerData, ModuleToEnv, ModuleToEnvBatch, Pipeline,
    };
    #[doc(no_inline)]
    pub use rl_core::env::{
        check_env, register, register_env, Env, EnvError, EnvRegistration, Info, Space, StepResult,
        Value, VectorEnv,
    };
    #[doc(no_inline)]
    pub use rl_core::learner::{Learner, TrainBatch, UpdateReport};
    #[doc(no_inline)]
    pub use rl_core::metrics::ResultDict;
    #[doc(no_inline)]
    pub use rl_core::module::{QNetAPI, RLModule, TargetNetworkAPI, ValueFunctionAPI};
    #[doc(no_inline)]
    pub use rl_core::Rng;
    #[doc(no_inline)]
    pub use rl_envs::{make, make_vec};
    #[doc(no_inline)]
    pub use serde_json::json;
}
