//! `rl-core`: the traits and machinery of an RLlib-style reinforcement-learning framework.
//!
//! Its folders are its wings, in the order one training iteration flows through them:
//! - [`env`](mod@env): spaces, the `Env` trait, time limits, the registry, vectorized envs, `check_env`;
//! - [`runner`]: env runners stepping envs through the connector pipelines into
//!   [`episode`] chunks, and the group that runs them on threads;
//! - [`connectors`]: the env→module, module→env and learner pipelines (batching, GAE, …);
//! - [`batch`]: the train batch (RLlib's standard columns, plus any named ones);
//! - [`learner`]: minibatches, the `Learner` trait, update reports;
//! - [`algorithm`]: configs, the `Algorithm` trait, errors;
//! - [`metrics`]: smoothed episode statistics, result dicts, Tune's trial files;
//! - [`replay`]: replay buffers for off-policy algorithms (uniform and prioritized).
//!
//! [`module`] holds the `RLModule` trait (acting) and the optional training-side APIs
//! (`ValueFunctionAPI`, `QNetAPI`, `TargetNetworkAPI`) they all talk to.
#![warn(missing_docs)]

pub mod algorithm;
pub mod batch;
pub mod connectors;
pub mod env;
pub mod episode;
pub mod learner;
pub mod metrics;
pub mod module;
pub mod replay;
pub mod runner;
pub mod safetensors;
pub mod seeding;
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod testing;

/// The workspace's seeded, serializable random-number generator (the same type as `rl_nn::Rng`).
pub type Rng = rand_pcg::Pcg64;
