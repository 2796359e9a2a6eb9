//! The learning wing: the train batch, RLlib's minibatch iterator, the `Learner` trait, the
//! statistics an update reports, and [`ModuleLearner`] (one module, Adam, gradient clipping).

pub mod minibatch;
pub mod module_learner;

pub use crate::batch::{columns, BatchError, Column, TrainBatch};
pub use minibatch::MiniBatchCyclicIterator;
pub use module_learner::{Loss, ModuleLearner};

use crate::connectors::ConnectorError;

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
    /// A column is missing or ragged.
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// Restoring learner state failed.
    #[error("learner state: {0}")]
    State(String),
    /// Recording the loss or stepping the optimizer failed (shapes that do not fit, an
    /// invalid action for the distribution, gradients that do not fit the parameters).
    #[error("loss or optimizer: {0}")]
    Nn(#[from] rl_nn::NnError),
}

/// What one learner update reports.
#[derive(Clone, Debug, Default)]
pub struct UpdateReport {
    /// Statistics under RLlib's names (`policy_loss`, `vf_loss`, …) for
    /// `learners/default_policy/`.
    pub stats: Vec<(String, serde_json::Value)>,
    /// RLlib's `num_env_steps_trained`: train-batch rows × minibatch updates.
    pub num_env_steps_trained: u64,
    /// Rows passed through gradient updates: minibatches × `minibatch_size`.
    pub num_module_steps_trained: u64,
}

/// What the driver needs of an algorithm's learner (RLlib's `Learner`): the weights its
/// env runners act with. How the learner updates (from episodes through a learner pipeline,
/// from replayed batches, …) is the algorithm's own business, called from its
/// `training_step`; it reports statistics as an [`UpdateReport`]. PPO's learner is
/// `rl_algos::ppo::PPOLearner`.
pub trait Learner: Send {
    /// The acting module's weights, flattened in its parameter order (what
    /// `RLModule::set_weights` takes): broadcast to the env runners after an update.
    fn get_weights(&self) -> Vec<f32>;
}
