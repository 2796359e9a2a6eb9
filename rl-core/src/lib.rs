//! `rl-core`: the traits and machinery of an RLlib-style reinforcement-learning framework.
//!
//! Its folders are its wings:
//! - [`env`]: spaces, the `Env` trait, time limits, the registry, vectorized envs, `check_env`;

pub mod env;
pub mod testing;

/// The workspace's seeded, serializable random-number generator (the same type as `rl_nn::Rng`).
pub type Rng = rand_pcg::Pcg64;
