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
    /// A loss or gradient was NaN or infinite: the update stopped before the optimizer
    /// step and the learner's weights and optimizer state are as before the update.
    #[error("non-finite {tensor} ({value}) in training iteration {iteration}, minibatch {minibatch}: the update was stopped before the optimizer step and the weights and optimizer state are unchanged; lower lr, set grad_clip, or check the env's rewards and observations")]
    NonFinite {
        /// The training iteration (1-based; 0 when the learner was called outside one).
        iteration: usize,
        /// The minibatch of the update (0-based, counted over all epochs).
        minibatch: usize,
        /// What was not finite: `"loss total_loss"` or `"gradient of <parameter>[<index>]"`.
        tensor: String,
        /// The value.
        value: f64,
    },
}

impl LearnerError {
    /// The error with the training iteration it happened in (the driver knows it, the
    /// learner does not).
    pub fn in_iteration(self, training_iteration: usize) -> Self {
        match self {
            LearnerError::NonFinite {
                minibatch,
                tensor,
                value,
                ..
            } => LearnerError::NonFinite {
                iteration: training_iteration,
                minibatch,
                tensor,
                value,
            },
            other => other,
        }
    }
}

/// The learner guard: the first non-finite value among a minibatch's loss and gradients,
/// as a [`LearnerError::NonFinite`] (iteration 0 until the driver sets it with
/// [`LearnerError::in_iteration`]). Call it between backward and the optimizer step.
pub fn check_finite_update(
    loss: f32,
    grads: &rl_nn::Grads,
    params: &rl_nn::ParamStore,
    minibatch: usize,
) -> Result<(), LearnerError> {
    let fail = |tensor: String, value: f32| LearnerError::NonFinite {
        iteration: 0,
        minibatch,
        tensor,
        value: f64::from(value),
    };
    if !loss.is_finite() {
        return Err(fail("loss total_loss".into(), loss));
    }
    match grads.first_non_finite() {
        None => Ok(()),
        Some(nf) => {
            let name = params.iter().nth(nf.param.index()).map_or_else(
                || format!("#{}", nf.param.index()),
                |(_, n, _)| n.to_string(),
            );
            Err(fail(format!("gradient of {name}[{}]", nf.index), nf.value))
        }
    }
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
