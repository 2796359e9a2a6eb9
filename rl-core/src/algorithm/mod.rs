//! The algorithm wing: the [`Algorithm`] trait that Tune and the command line drive, the
//! shared [`Driver`] every algorithm runs in, the [`AlgorithmLogic`] an algorithm brings, the
//! shared config, counters, checkpoints and the registry that builds algorithms by name.

pub mod checkpoint;
pub mod config;
pub mod counters;
pub mod driver;
pub mod inference;
pub mod logic;
pub mod registry;

pub use config::{
    check_finite, get_by_key, set_by_key, AlgoConfig, AlgorithmConfig, ConfigError, DurationUnit,
    FragmentLength, KeyDoc, ModelConfig,
};
pub use counters::Counters;
pub use driver::{Driver, StepContext, DEFAULT_MODULE_ID};
pub use inference::InferencePolicy;
pub use logic::{AlgorithmLogic, Spaces};
pub use registry::{
    algorithm_from_checkpoint, build_algorithm, config_key_docs, config_reference, default_config,
    register_algorithm, registered_algorithms, AlgorithmRegistration,
};

use std::path::{Path, PathBuf};

use crate::env::EnvError;
use crate::learner::LearnerError;
use crate::metrics::{ResultDict, ResultLogger};
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
    /// Building a module (its layers and parameters) failed.
    #[error("module: {0}")]
    Nn(#[from] rl_nn::NnError),
    /// A replay buffer refused an add, a sample or a priority update.
    #[error("replay buffer: {0}")]
    Replay(#[from] crate::replay::ReplayError),
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

/// An algorithm as users, Tune and the command line drive it: RLlib's `Algorithm` (a Tune
/// `Trainable`). Object-safe, so that `Box<dyn Algorithm>` from
/// [`build_algorithm`] drives any registered algorithm by name.
pub trait Algorithm: Send {
    /// The name the algorithm is registered under (`"PPO"`), as checkpoints record it.
    fn name(&self) -> &str;
    /// Runs one training iteration and returns its result (RLlib's nested keys).
    fn train(&mut self) -> Result<ResultDict, AlgorithmError>;
    /// Runs the evaluation (as configured) now and returns its results
    /// (the part that goes under `evaluation/`).
    fn evaluate(&mut self) -> Result<ResultDict, AlgorithmError>;
    /// Completed training iterations.
    fn iteration(&self) -> usize;
    /// Saves a checkpoint of everything needed to continue exactly from here into `dir`
    /// (created; an existing checkpoint there is replaced atomically); returns `dir`.
    fn save_to_path(&self, dir: &Path) -> Result<PathBuf, AlgorithmError>;
    /// Restores the state saved in a checkpoint of the same algorithm, keeping this
    /// algorithm's config (RLlib's `restore_from_path`; what PBT does after changing
    /// hyperparameters).
    fn restore_from_path(&mut self, dir: &Path) -> Result<(), AlgorithmError>;
    /// Writes Tune's trial files (`params.json`, `result.json`, `progress.csv`) into `dir`
    /// from now on, and makes it the home of periodic and end-of-run checkpoints; returns
    /// the directory.
    fn log_to(&mut self, dir: &Path) -> Result<PathBuf, AlgorithmError>;
    /// Ends the run (RLlib's `stop()`): with `checkpoint_at_end`, saves a final checkpoint
    /// into the output directory and returns its path.
    fn stop(&mut self) -> Result<Option<PathBuf>, AlgorithmError>;
    /// The config the algorithm was built from, as JSON (every key, RLlib's names).
    fn config_json(&self) -> serde_json::Value;
    /// Feeds every later result to `logger` too (after the trial files of
    /// [`log_to`](Algorithm::log_to)), e.g. a TensorBoard event file.
    fn add_logger(&mut self, logger: Box<dyn ResultLogger>);
}

impl std::fmt::Debug for dyn Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Algorithm")
            .field("name", &self.name())
            .field("iteration", &self.iteration())
            .finish_non_exhaustive()
    }
}
