//! The learning wing: the train batch, RLlib's minibatch iterator, and the `Learner` trait.

pub mod batch;
pub mod minibatch;

pub use batch::TrainBatch;
pub use minibatch::MiniBatchCyclicIterator;

use crate::connectors::ConnectorError;
use crate::episode::Episode;
use crate::metrics::ResultDict;

/// Errors while learning.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LearnerError {
    /// The learner pipeline failed.
    #[error("learner connector: {0}")]
    Connector(#[from] ConnectorError),
    /// The batch cannot be trained on.
    #[error("{0}")]
    BadBatch(String),
    /// Restoring learner state failed.
    #[error("learner state: {0}")]
    State(String),
}

/// Turns episode chunks into weight updates (RLlib's `Learner`): runs the learner pipeline,
/// then epochs of minibatch updates; reports statistics under RLlib's names.
pub trait Learner: Send {
    /// One update from this iteration's episodes; returns the module's statistics
    /// (`policy_loss`, `vf_loss`, …) as they go under `learners/default_policy/`.
    fn update(&mut self, episodes: Vec<Episode>) -> Result<ResultDict, LearnerError>;
    /// The module's weights, flattened (to broadcast to the env runners).
    fn get_weights(&self) -> Vec<f32>;
}
