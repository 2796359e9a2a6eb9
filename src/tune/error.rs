//! Tune's errors: what was wrong and how to fix it.

use std::path::PathBuf;

use rl_core::algorithm::AlgorithmError;

/// Errors from setting up, running or restoring a sweep.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TuneError {
    /// The param space does not hold together (an unknown key, bad bounds, …).
    #[error("search space: {0}")]
    SearchSpace(String),
    /// The Tune, run or scheduler settings do not hold together.
    #[error("config: {0}")]
    Config(String),
    /// Building an algorithm failed before any trial ran (e.g. the algorithm is not
    /// registered).
    #[error(transparent)]
    Algorithm(#[from] AlgorithmError),
    /// Reading or writing a file of the sweep failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A saved sweep cannot be restored.
    #[error("restore: {0}")]
    Restore(String),
    /// A result grid question without an answer (no trial reported the metric, …).
    #[error("results: {0}")]
    Results(String),
}

impl TuneError {
    /// An I/O error about `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TuneError::Io {
            path: path.into(),
            source,
        }
    }
}
