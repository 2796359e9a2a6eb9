//! `PPO`: RLlib's PPO, the shared [`Driver`] around [`PPOLogic`] — one `train()` call is one
//! RLlib training iteration.
//!
//! PPO's `training_step`: sample `train_batch_size` env steps from the env runners → the
//! learner turns the episode chunks into a train batch and runs its minibatch epochs → the
//! new weights go back to the runners. The driver does the rest (connector-state merging,
//! counters, evaluation, results, trial files, checkpoints).

use std::time::Instant;

use rl_core::algorithm::checkpoint::{CheckpointReader, CheckpointWriter};
use rl_core::algorithm::{
    AlgoConfig, AlgorithmError, AlgorithmLogic, ConfigError, Driver, Spaces, StepContext,
};
use rl_core::module::RLModule;

use super::checkpoint::{self as state, PPOState};
use super::learner::PPOLearner;
use super::module::PPOModule;
use super::policy::PPOPolicy;
use super::PPOConfig;

/// RLlib's PPO algorithm: the shared driver with PPO's logic.
pub type PPO = Driver<PPOLogic>;

/// What PPO brings to the driver: its learner (module, Adam, KL coefficient, learner
/// pipeline) and its training step.
#[derive(Debug)]
pub struct PPOLogic {
    learner: PPOLearner,
    train_batch_size: usize,
}

impl PPOConfig {
    /// Validates the config and builds the algorithm (RLlib's `config.build_algo()`).
    pub fn build(&self) -> Result<PPO, AlgorithmError> {
        // Validate before copying: the copy goes through the connectors' JSON.
        AlgoConfig::validate(self)?;
        Driver::new(self.clone())
    }
}

impl AlgorithmLogic for PPOLogic {
    type Config = PPOConfig;
    type Learner = PPOLearner;
    type State = PPOState;
    const NAME: &'static str = state::ALGORITHM;
    const MODULE_CLASS: &'static str = "PPOModule";

    fn prepare() {
        crate::register_builtins();
    }

    fn build(config: &PPOConfig, spaces: &Spaces, seed: u64) -> Result<Self, AlgorithmError> {
        let mut init_rng = rl_core::algorithm::driver::seeded_rng(seed, "module_init");
        let module = PPOModule::from_spaces(
            &spaces.observation,
            &spaces.action,
            &config.base.model_config,
            &mut init_rng,
        )
        .map_err(|e| ConfigError(format!("cannot build the module: {e}")))?;
        let learner_seed = rl_core::seeding::derive_seed(seed, &["learner"]);
        Ok(PPOLogic {
            learner: PPOLearner::new(module, config, learner_seed)?,
            train_batch_size: config.base.train_batch_size,
        })
    }

    fn acting_module(&self) -> Box<dyn RLModule> {
        Box::new(PPOPolicy::new(self.learner.module().clone()))
    }

    fn training_step(&mut self, ctx: &mut StepContext<'_>) -> Result<(), AlgorithmError> {
        let episodes = ctx.sample_env_steps(self.train_batch_size)?;
        let t = Instant::now();
        let lifetime = ctx.counters().num_env_steps_sampled_lifetime;
        let iteration = ctx.counters().training_iteration + 1;
        let report = self
            .learner
            .update_from_episodes(episodes, lifetime)
            .map_err(|e| e.in_iteration(iteration))?;
        ctx.record_update(report, t.elapsed().as_secs_f64());
        ctx.sync_weights(&self.learner.get_weights())
    }

    fn learner(&self) -> &PPOLearner {
        &self.learner
    }

    fn learner_mut(&mut self) -> &mut PPOLearner {
        &mut self.learner
    }

    fn save_state(&self, writer: &mut CheckpointWriter) -> Result<(), AlgorithmError> {
        state::write(&self.learner, writer)
    }

    fn read_state(&self, reader: &CheckpointReader) -> Result<PPOState, AlgorithmError> {
        state::read(reader, self.learner.module())
    }

    fn apply_state(&mut self, loaded: PPOState) -> Result<(), AlgorithmError> {
        state::apply(&mut self.learner, loaded)
    }

    fn load_acting_module(reader: &CheckpointReader) -> Result<Box<dyn RLModule>, AlgorithmError> {
        Ok(Box::new(PPOPolicy::new(state::read_module(reader)?)))
    }
}
