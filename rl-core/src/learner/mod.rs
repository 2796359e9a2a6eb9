//! The learning wing: the train batch, RLlib's minibatch iterator, and the `Learner` trait.

pub mod batch;
pub mod minibatch;

pub use batch::TrainBatch;
pub use minibatch::MiniBatchCyclicIterator;

use crate::connectors::ConnectorError;
use crate::episode::Episode;

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

/// What one [`Learner::update_from_episodes`] reports.
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

/// Turns episode chunks into weight updates (RLlib's `Learner`): runs the learner pipeline,
/// then epochs of minibatch updates; reports statistics under RLlib's names. PPO's is
/// `rl_algos::ppo::PPOLearner`; another algorithm brings its own.
pub trait Learner: Send {
    /// One update from this iteration's episodes. `lifetime_steps` (env steps sampled so
    /// far) positions any schedule.
    fn update_from_episodes(
        &mut self,
        episodes: Vec<Episode>,
        lifetime_steps: u64,
    ) -> Result<UpdateReport, LearnerError>;
    /// The module's weights, flattened (to broadcast to the env runners).
    fn get_weights(&self) -> Vec<f32>;
}
