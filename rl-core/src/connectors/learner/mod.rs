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

use super::{connector_methods, impl_connector_for, ConnectorError, Pipeline};
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
pub trait LearnerConnector: CloneLearnerConnector + Send + Sync {
    connector_methods!();

    /// Takes the settings the algorithm's config owns (GAE's γ and λ) from the whole config
    /// as JSON (RLlib's key names), before the learner first runs the pipeline; refuses a
    /// setting of its own that contradicts the config. Does nothing by default.
    fn configure(&mut self, config: &serde_json::Value) -> Result<(), ConnectorError> {
        let _ = config;
        Ok(())
    }

    /// Transforms the data in place.
    fn process(
        &mut self,
        data: &mut LearnerData,
        ctx: &mut LearnerContext<'_>,
    ) -> Result<(), ConnectorError>;
}

impl_connector_for!(LearnerConnector);
crate::connectors::pipeline::connector_clone!(LearnerConnector, CloneLearnerConnector);

impl Pipeline<dyn LearnerConnector> {
    /// Gives every connector the algorithm's config ([`LearnerConnector::configure`]); a
    /// learner calls it once, when it is built.
    pub fn configure(&mut self, config: &serde_json::Value) -> Result<(), ConnectorError> {
        self.connectors_mut()
            .iter_mut()
            .try_for_each(|c| c.configure(config))
    }

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

    /// The learner pipeline of actor-critic algorithms (RLlib's PPO default): one bootstrap
    /// step per chunk ([`AddOneTsToEpisodesAndTruncate`]), the batch columns
    /// ([`AddColumnsFromEpisodesToTrainBatch`]), then value targets and standardized
    /// advantages ([`GeneralAdvantageEstimation`]; the module needs a critic).
    pub fn gae_learner(gamma: f32, lambda: f32) -> Self {
        Pipeline::new(vec![
            Box::new(AddOneTsToEpisodesAndTruncate),
            Box::new(AddColumnsFromEpisodesToTrainBatch),
            Box::new(GeneralAdvantageEstimation::with(gamma, lambda)),
        ])
    }

    /// Runs the pipeline on `episodes` with `module` as the module being trained and
    /// returns the train batch it built (what a learner's update starts from).
    pub fn batch_from_episodes(
        &mut self,
        episodes: Vec<Episode>,
        module: &mut dyn RLModule,
    ) -> Result<TrainBatch, ConnectorError> {
        let mut data = LearnerData {
            episodes,
            ..Default::default()
        };
        self.run(&mut data, &mut LearnerContext { module })?;
        Ok(data.batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::learner::module_learner::test_support::TinyModule;

    fn episode(steps: usize) -> Episode {
        let mut ep = Episode::new(7, 0, &[0.0, 1.0], 1, 2);
        for t in 0..steps {
            let x = t as f32;
            ep.add_step(&[1.0], -0.7, &[0.1, -0.1], 1.0, &[x, x + 1.0]);
        }
        ep.is_terminated = true;
        ep
    }

    #[test]
    fn gae_learner_is_the_actor_critic_pipeline() {
        let p = Pipeline::gae_learner(0.99, 0.95);
        assert_eq!(
            p.names(),
            [
                "AddOneTsToEpisodesAndTruncate",
                "AddColumnsFromEpisodesToTrainBatch",
                "GeneralAdvantageEstimation"
            ]
        );
    }

    #[test]
    fn batch_from_episodes_runs_the_pipeline() {
        let mut module = TinyModule::new(2, vec![], 0);
        let mut p: Pipeline<dyn LearnerConnector> = Pipeline::new(vec![
            Box::new(AddOneTsToEpisodesAndTruncate),
            Box::new(AddColumnsFromEpisodesToTrainBatch),
        ]);
        let batch = p
            .batch_from_episodes(vec![episode(3)], &mut module)
            .unwrap();
        assert_eq!(batch.len(), 4, "3 steps and the bootstrap step");
        assert_eq!(batch.loss_mask.to_vec(), [true, true, true, false]);
        // The module has no critic: GAE says so.
        let e = Pipeline::gae_learner(0.99, 1.0)
            .batch_from_episodes(vec![episode(3)], &mut module)
            .unwrap_err();
        assert!(e.to_string().contains("ValueFunctionAPI"), "{e}");
    }
}
