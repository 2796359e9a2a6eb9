//! `rl-nn`: pure-Rust reverse-mode autodiff on `ndarray` for reinforcement learning.

/// The random-number generator used everywhere in the workspace: seeded explicitly,
/// serializable (its state goes into checkpoints), fast.
pub type Rng = rand_pcg::Pcg64;
