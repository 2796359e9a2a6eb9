//! The algorithm wing: shared config, the `Algorithm` trait, and what a run writes.

pub mod checkpoint;
pub mod config;

pub use config::{
    check_finite, get_by_key, set_by_key, AlgorithmConfig, ConfigError, DurationUnit,
    FragmentLength, ModelConfig,
};

use crate::env::EnvError;
use crate::learner::LearnerError;
use crate::metrics::ResultDict;
use crate::runner::RunnerError;

/// Errors from building, training or saving an algorithm.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlgorithmError {
    /// The config does not hold together.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Building or stepping an env failed.
    #[error("env: {0}")]
    Env(#[from] EnvError),
    /// Sampling failed.
    #[error("sampling: {0}")]
    Runner(#[from] RunnerError),
    /// Learning failed.
    #[error("learning: {0}")]
    Learner(#[from] LearnerError),
    /// Reading or writing files failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A checkpoint cannot be written or used: the file at fault and what is wrong
    /// (checksum mismatch, missing file, newer format, another algorithm or space, …).
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
}

/// An algorithm as users drive it: RLlib's `Algorithm`.
pub trait Algorithm {
    /// Runs one training iteration and returns its result (RLlib's nested keys).
    fn train(&mut self) -> Result<ResultDict, AlgorithmError>;
    /// Runs the evaluation (as configured) now and returns its results
    /// (the part that goes under `evaluation/`).
    fn evaluate(&mut self) -> Result<ResultDict, AlgorithmError>;
    /// Completed training iterations.
    fn iteration(&self) -> usize;
}
