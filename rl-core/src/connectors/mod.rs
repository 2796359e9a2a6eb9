//! Connector pipelines, as in RLlib's new API stack: three ordered lists of small
//! transformations, each a serializable plugin (typetag) that users can insert, remove or
//! replace.
//!
//! - [`env_to_module`]: env observations → the module's input batch
//!   (batching, optional mean/std filter);
//! - [`module_to_env`]: the module's action-distribution inputs → env actions
//!   (sample or greedy, then unsquash/clip);
//! - [`learner`]: episode chunks → a train batch (bootstrap step, batching, GAE,
//!   advantage standardization, loss mask).

pub mod env_to_module;
pub mod learner;
pub mod module_to_env;
pub mod pipeline;

pub use env_to_module::{CloneEnvToModule, EnvToModule, EnvToModuleBatch};
pub use learner::{CloneLearnerConnector, LearnerConnector, LearnerContext, LearnerData};
pub use module_to_env::{CloneModuleToEnv, ModuleToEnv, ModuleToEnvBatch};
pub use pipeline::{Connector, ConnectorStateEntry, Pipeline};

use crate::env::Space;
use crate::Rng;

/// Errors from connectors and pipeline edits.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectorError {
    /// No connector of that name is in the pipeline.
    #[error("no connector named `{name}` in the pipeline; present: {present:?}")]
    NotFound {
        /// The name asked for.
        name: String,
        /// The names in the pipeline.
        present: Vec<String>,
    },
    /// The data a connector received does not fit what it expects.
    #[error("connector `{connector}`: {reason}")]
    BadInput {
        /// The connector's name.
        connector: String,
        /// What was wrong.
        reason: String,
    },
    /// Saved connector states belong to a pipeline with other connectors.
    #[error("the saved states are of the connectors {saved:?}, the pipeline has {present:?}")]
    StateMismatch {
        /// The connectors the states were saved from.
        saved: Vec<String>,
        /// The pipeline's connectors.
        present: Vec<String>,
    },
}

/// What the env→module and module→env connectors may look at while they run.
pub struct ConnectorContext<'a> {
    /// Sample from the action distribution (training) or act greedily (evaluation).
    pub explore: bool,
    /// Whether stateful connectors (filters) update their statistics on this data.
    pub update_stats: bool,
    /// The env runner's RNG: the only source of randomness for sampling actions.
    pub rng: &'a mut Rng,
    /// The env's observation space.
    pub observation_space: &'a Space,
    /// The env's action space.
    pub action_space: &'a Space,
    /// Env steps the whole run has sampled so far, as the env runner estimates them: the
    /// `t` RLlib's env runner passes to `forward_exploration` (the count synced once per
    /// iteration plus this sample call's steps; see
    /// [`EnvRunner::global_env_steps`](crate::runner::EnvRunner::global_env_steps)). What an
    /// exploration schedule reads.
    pub global_env_steps: u64,
}

/// The methods every connector kind shares, with defaults, written once and expanded into
/// [`EnvToModule`], [`ModuleToEnv`] and [`LearnerConnector`]: a connector implements its
/// kind's trait (`process`) and overrides these only when it has a state or another name.
macro_rules! connector_methods {
    () => {
        /// The connector's name in its pipeline (what [`Pipeline::get`],
        /// [`Pipeline::insert_before`] and friends look for, and what checkpoints record with
        /// its state). By default its type's name without the path (`"MeanStdFilter"`), the
        /// same name typetag writes under `"type"`.
        fn name(&self) -> &str {
            $crate::connectors::pipeline::short_type_name(std::any::type_name::<Self>())
        }

        /// The connector's state (e.g. filter statistics), saved in checkpoints and synced
        /// between env runners. `None` (the default) for stateless connectors.
        fn get_state(&self) -> Option<serde_json::Value> {
            None
        }

        /// Restores a state from `get_state`. Does nothing by default.
        fn set_state(
            &mut self,
            state: &serde_json::Value,
        ) -> Result<(), $crate::connectors::ConnectorError> {
            let _ = state;
            Ok(())
        }

        /// Merges the states of the same connector on several env runners (in runner order)
        /// into this one, which then holds the synchronized state to broadcast. Does nothing
        /// by default.
        fn merge_states(
            &mut self,
            states: &[serde_json::Value],
        ) -> Result<(), $crate::connectors::ConnectorError> {
            let _ = states;
            Ok(())
        }
    };
}
use connector_methods;

/// Makes a kind's trait object a [`Connector`] of its pipelines, forwarding to the kind's
/// own methods.
macro_rules! impl_connector_for {
    ($kind:ident) => {
        impl $crate::connectors::Connector for dyn $kind {
            fn name(&self) -> &str {
                <dyn $kind as $kind>::name(self)
            }
            fn get_state(&self) -> Option<serde_json::Value> {
                <dyn $kind as $kind>::get_state(self)
            }
            fn set_state(
                &mut self,
                state: &serde_json::Value,
            ) -> Result<(), $crate::connectors::ConnectorError> {
                <dyn $kind as $kind>::set_state(self, state)
            }
        }
    };
}
use impl_connector_for;
