//! What an algorithm brings to the shared [`Driver`](super::Driver): RLlib's `Algorithm`
//! subclass hooks — its config, how to build its module and learner, its `training_step`,
//! and how it saves its own state — and nothing the driver already does.
//!
//! The driver owns the env runners (training and evaluation), the counters, the episode
//! window, the result dict under RLlib's keys, evaluation every `evaluation_interval`,
//! Tune's trial files, the checkpoint cadence and the checkpoint directory with its
//! validation. An [`AlgorithmLogic`] owns the learner (module, optimizer, replay buffer, …)
//! and says, in [`training_step`](AlgorithmLogic::training_step), what one step of training
//! is, reaching the runners through a [`StepContext`].

use crate::algorithm::checkpoint::{read_saved_config, CheckpointReader, CheckpointWriter};
use crate::algorithm::config::AlgoConfig;
use crate::algorithm::AlgorithmError;
use crate::connectors::{ModuleToEnv, Pipeline};
use crate::env::Space;
use crate::learner::Learner;
use crate::module::RLModule;

use super::StepContext;

/// The env's spaces, as the driver found them on a probe env.
#[derive(Clone, Debug, PartialEq)]
pub struct Spaces {
    /// One observation.
    pub observation: Space,
    /// One action.
    pub action: Space,
}

/// An algorithm's own part; [`Driver<Self>`](super::Driver) is then an
/// [`Algorithm`](super::Algorithm) with results, evaluation, trial files and checkpoints.
///
/// PPO's is `rl_algos::ppo::PPOLogic` (`rl_algos::PPO = Driver<PPOLogic>`); a user's own
/// algorithm implements this trait in its crate and registers `Driver::<Its>::registration()`.
pub trait AlgorithmLogic: Sized + Send + 'static {
    /// Its config: the shared settings plus its own (RLlib's `AlgorithmConfig` subclass).
    type Config: AlgoConfig;
    /// Its learner.
    type Learner: Learner;
    /// What a checkpoint holds of it, read and validated by
    /// [`read_state`](AlgorithmLogic::read_state) before anything is applied.
    type State;
    /// The name it registers under and checkpoints record (`"PPO"`).
    const NAME: &'static str;
    /// The class of its module in checkpoint metadata (`"PPOModule"`).
    const MODULE_CLASS: &'static str;

    /// Called before anything is built, e.g. to register the envs the algorithm's crate
    /// brings. Does nothing by default.
    fn prepare() {}

    /// Builds module, learner and whatever else it needs from a validated config and the
    /// env's spaces; `seed` is the run's seed (derive streams with
    /// [`derive_seed`](crate::seeding::derive_seed)).
    fn build(config: &Self::Config, spaces: &Spaces, seed: u64) -> Result<Self, AlgorithmError>;

    /// A copy of the module the env runners act with (RLlib's inference-only module); its
    /// parameter order is the one of [`Learner::get_weights`].
    fn acting_module(&self) -> Box<dyn RLModule>;

    /// The module→env pipeline the runners use: the config's when set, else the
    /// algorithm's default (RLlib's `GetActions` → `NormalizeAndClipActions` unless
    /// overridden, e.g. by an epsilon-greedy connector).
    fn module_to_env_pipeline(config: &Self::Config) -> Pipeline<dyn ModuleToEnv> {
        config.base().module_to_env_pipeline()
    }

    /// One training step (RLlib's `training_step`): sample through `ctx`, update the
    /// learner, report its statistics with [`StepContext::record_update`], send the new
    /// weights with [`StepContext::sync_weights`]. The driver calls it once per iteration,
    /// or until `min_sample_timesteps_per_iteration` env steps were sampled.
    fn training_step(&mut self, ctx: &mut StepContext<'_>) -> Result<(), AlgorithmError>;

    /// The learner.
    fn learner(&self) -> &Self::Learner;

    /// The learner, mutably.
    fn learner_mut(&mut self) -> &mut Self::Learner;

    /// Writes its state (module weights and architecture, optimizer, …) into a checkpoint
    /// being written, under `learner/` by convention.
    fn save_state(&self, writer: &mut CheckpointWriter) -> Result<(), AlgorithmError>;

    /// Reads and validates its state from a checkpoint without changing anything (a
    /// checkpoint of another architecture is refused here, naming the file).
    fn read_state(&self, reader: &CheckpointReader) -> Result<Self::State, AlgorithmError>;

    /// Applies a state from [`read_state`](AlgorithmLogic::read_state).
    fn apply_state(&mut self, state: Self::State) -> Result<(), AlgorithmError>;

    /// Reads the acting module alone from a checkpoint of this algorithm (policy export:
    /// [`InferencePolicy::from_checkpoint`](super::InferencePolicy::from_checkpoint)).
    ///
    /// By default the algorithm's part is rebuilt from the config and spaces the checkpoint
    /// holds ([`build`](AlgorithmLogic::build)), its state read and applied, and its
    /// [`acting_module`](AlgorithmLogic::acting_module) returned: no env, env runner or
    /// driver is built. Override it to read fewer files (PPO reads only its module's).
    fn load_acting_module(reader: &CheckpointReader) -> Result<Box<dyn RLModule>, AlgorithmError> {
        let config: Self::Config = read_saved_config(reader, Self::NAME)?;
        let meta = reader.metadata();
        let spaces = Spaces {
            observation: meta.observation_space.clone(),
            action: meta.action_space.clone(),
        };
        let mut logic = Self::build(&config, &spaces, config.base().seed.unwrap_or(0))?;
        let state = logic.read_state(reader)?;
        logic.apply_state(state)?;
        Ok(logic.acting_module())
    }
}
