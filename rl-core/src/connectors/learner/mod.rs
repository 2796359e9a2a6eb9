//! Learner connectors: from episode chunks to a train batch.
//!
//! The building blocks of on-policy pipelines, RLlib's names: [`AddOneTsToEpisodesAndTruncate`]
//! (one bootstrap step per chunk), [`AddColumnsFromEpisodesToTrainBatch`] (batching and the
//! loss mask), [`GeneralAdvantageEstimation`] (value targets, standardized advantages; needs
//! a module with a [`ValueFunctionAPI`](crate::module::ValueFunctionAPI)). An algorithm
//! assembles its own default pipeline from them (PPO's is in `rl_algos::ppo`).

pub mod add_one_ts;
pub mod batch_columns;
pub mod gae;
pub mod general_advantage_estimation;

pub use add_one_ts::AddOneTsToEpisodesAndTruncate;
pub use batch_columns::AddColumnsFromEpisodesToTrainBatch;
pub use general_advantage_estimation::GeneralAdvantageEstimation;

use super::{ConnectorError, ConnectorState, Named, Pipeline};
use crate::batch::TrainBatch;
use crate::episode::Episode;
use crate::module::RLModule;

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

/// What learner connectors may use: the module being trained (for value predictions, through
/// its optional APIs such as [`RLModule::as_value_function`]).
pub struct LearnerContext<'a> {
    /// The module being trained.
    pub module: &'a mut dyn RLModule,
}

/// One learner-pipeline transformation; a serializable plugin like every connector.
#[typetag::serde(tag = "type")]
pub trait LearnerConnector: Named + ConnectorState + CloneLearnerConnector + Send + Sync {
    /// Transforms the data in place.
    fn process(
        &mut self,
        data: &mut LearnerData,
        ctx: &mut LearnerContext<'_>,
    ) -> Result<(), ConnectorError>;
}

crate::connectors::pipeline::connector_clone!(LearnerConnector, CloneLearnerConnector);

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
}
