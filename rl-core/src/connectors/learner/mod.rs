//! Learner connectors: from episode chunks to a train batch.
//!
//! RLlib's PPO pipeline, in order: [`AddOneTsToEpisodesAndTruncate`] (one bootstrap step per
//! chunk), [`AddColumnsFromEpisodesToTrainBatch`] (batching and the loss mask),
//! [`GeneralAdvantageEstimation`] (value targets, standardized advantages).

pub mod add_one_ts;
pub mod batch_columns;
pub mod gae;
pub mod general_advantage_estimation;

pub use add_one_ts::AddOneTsToEpisodesAndTruncate;
pub use batch_columns::AddColumnsFromEpisodesToTrainBatch;
pub use general_advantage_estimation::GeneralAdvantageEstimation;

use super::{ConnectorError, ConnectorState, Named, Pipeline};
use crate::episode::Episode;
use crate::learner::TrainBatch;
use crate::policy::Policy;

/// What a learner pipeline transforms: episode chunks in, a train batch out.
#[derive(Clone, Debug, Default)]
pub struct LearnerData {
    /// The episode chunks of this iteration, in runner order.
    pub episodes: Vec<Episode>,
    /// Set by [`AddOneTsToEpisodesAndTruncate`]: every chunk ends in an extra bootstrap step.
    pub bootstrap_steps_added: bool,
    /// The train batch the pipeline builds.
    pub batch: TrainBatch,
}

/// What learner connectors may use: the module (for value predictions).
pub struct LearnerContext<'a> {
    /// The module being trained.
    pub policy: &'a mut dyn Policy,
}

/// One learner-pipeline transformation; a serializable plugin like every connector.
#[typetag::serde(tag = "type")]
pub trait LearnerConnector: Named + ConnectorState + Send + Sync {
    /// Transforms the data in place.
    fn process(
        &mut self,
        data: &mut LearnerData,
        ctx: &mut LearnerContext<'_>,
    ) -> Result<(), ConnectorError>;
}

impl Pipeline<dyn LearnerConnector> {
    /// Runs every connector in order.
    pub fn run(
        &mut self,
        data: &mut LearnerData,
        ctx: &mut LearnerContext<'_>,
    ) -> Result<(), ConnectorError> {
        self.connectors_mut()
            .iter_mut()
            .try_for_each(|c| c.process(data, ctx))
    }

    /// RLlib's PPO learner pipeline with these GAE parameters.
    pub fn default_ppo_learner(gamma: f32, lambda: f32) -> Self {
        Pipeline::new(vec![
            Box::new(AddOneTsToEpisodesAndTruncate),
            Box::new(AddColumnsFromEpisodesToTrainBatch),
            Box::new(GeneralAdvantageEstimation::new(gamma, lambda)),
        ])
    }
}
