//! The sampling wing: env runners and the group that runs them on threads.

pub mod env_runner;
pub mod group;

pub use env_runner::{EnvRunner, EnvRunnerSpec, EnvRunnerState, SampleOutput};
pub use group::EnvRunnerGroup;

use crate::connectors::ConnectorError;
use crate::env::EnvError;
use crate::module::ModuleError;

/// Errors while sampling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// An env failed.
    #[error("env: {0}")]
    Env(#[from] EnvError),
    /// A connector failed.
    #[error("connector: {0}")]
    Connector(#[from] ConnectorError),
    /// The module failed.
    #[error("module: {0}")]
    Module(#[from] ModuleError),
    /// The env and the module do not fit together.
    #[error("{0}")]
    Mismatch(String),
    /// A runner thread panicked (a bug, reported instead of propagated).
    #[error("env runner {0} panicked")]
    Panicked(usize),
}
