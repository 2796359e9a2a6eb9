//! `DQN`: RLlib 2.60's new-stack DQN, the shared [`Driver`] around [`DQNLogic`].
//!
//! DQN's `training_step` (RLlib's `_training_step_new_api_stack`), with
//! `(rounds, updates)` from `training_intensity` (`[1, 1]` without it):
//! 1. `rounds` times: one sample round from the env runners (`rollout_fragment_length`
//!    steps per env; `"auto"` is `n_step`, its upper end for a range), added to the buffer;
//! 2. once the run has sampled `num_steps_sampled_before_learning_starts` env steps,
//!    `updates` times: sample `train_batch_size` n-step transitions (RLlib's `n_step`,
//!    `gamma`, `beta`), one gradient step (then the target update if due), and the TD
//!    errors back to the buffer as priorities; then the new weights go to the runners.
//!
//! The driver calls it until `min_sample_timesteps_per_iteration` (1000) env steps were
//! sampled in the iteration, evaluates, and reports; DQN adds `replay_buffer/…` and the
//! learner's `qf_loss`, `qf_mean`, …, `num_target_updates` under
//! `learners/default_policy/`.

use std::time::Instant;

use rand::SeedableRng;
use rl_core::algorithm::checkpoint::{CheckpointReader, CheckpointWriter};
use rl_core::algorithm::{
    AlgoConfig, AlgorithmError, AlgorithmLogic, ConfigError, Driver, Spaces, StepContext,
};
use rl_core::connectors::module_to_env::NormalizeAndClipActions;
use rl_core::connectors::{ModuleToEnv, Pipeline};
use rl_core::learner::TrainBatch;
use rl_core::module::RLModule;
use rl_core::replay::{ReplayBatch, ReplayError, SampleRequest};
use rl_core::seeding::derive_seed;
use rl_core::Rng;

use super::checkpoint::{self as state, DQNState, Saved};
use super::config::DQNConfig;
use super::exploration::EpsilonGreedy;
use super::learner::{train_batch_from_replay, DQNLearner};
use super::module::DQNModule;
use super::replay::{MetricsTally, ReplayBuffer};

/// RLlib's DQN algorithm: the shared driver with DQN's logic.
pub type DQN = Driver<DQNLogic>;

/// What DQN brings to the driver: its learner, its replay buffer and sampler, its
/// training step.
#[derive(Debug)]
pub struct DQNLogic {
    learner: DQNLearner,
    buffer: ReplayBuffer,
    replay_rng: Rng,
    settings: StepSettings,
    sample: ReplayBatch,
    batch: TrainBatch,
    metrics: MetricsTally,
}

#[derive(Clone, Debug)]
struct StepSettings {
    rounds: usize,
    updates: usize,
    request: SampleRequest,
    learning_starts: u64,
    store_buffer: bool,
}

impl DQNConfig {
    /// Validates the config and builds the algorithm (RLlib's `config.build_algo()`).
    pub fn build(&self) -> Result<DQN, AlgorithmError> {
        AlgoConfig::validate(self)?;
        Driver::new(self.clone())
    }

    /// DQN's default module→env pipeline: epsilon-greedy over the Q-values (in place of
    /// RLlib's `GetActions`, which passes DQN's actions through), then
    /// `NormalizeAndClipActions` (a no-op for discrete actions).
    pub fn default_module_to_env(&self) -> Pipeline<dyn ModuleToEnv> {
        Pipeline::new(vec![
            Box::new(EpsilonGreedy {
                epsilon: self.epsilon.clone(),
            }),
            Box::new(NormalizeAndClipActions {
                normalize_actions: self.base.normalize_actions,
                clip_actions: self.base.clip_actions,
            }),
        ])
    }
}

impl DQNLogic {
    /// The replay buffer.
    pub fn replay_buffer(&self) -> &ReplayBuffer {
        &self.buffer
    }

    /// Samples, trains and updates priorities once (step 2 of the [module docs](self)).
    /// A buffer that cannot yet form a transition (empty, or no episode as long as the
    /// smallest n after a restore without the buffer) skips the update.
    fn update_once(&mut self, ctx: &mut StepContext<'_>) -> Result<bool, AlgorithmError> {
        let t = Instant::now();
        match self.buffer.sample_into(
            &self.settings.request,
            &mut self.replay_rng,
            &mut self.sample,
        ) {
            Ok(()) => {}
            Err(ReplayError::Empty | ReplayError::NoWindowFits { .. }) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        ctx.add_timer("replay_buffer_sampling_timer", t.elapsed().as_secs_f64());

        let t = Instant::now();
        train_batch_from_replay(&self.sample, &mut self.batch)?;
        let lifetime = ctx.counters().num_env_steps_sampled_lifetime;
        let iteration = ctx.counters().training_iteration + 1;
        let update = self
            .learner
            .update(&self.batch, lifetime)
            .map_err(|e| e.in_iteration(iteration))?;
        ctx.record_update(update.report, t.elapsed().as_secs_f64());

        let t = Instant::now();
        self.buffer
            .update_priorities(&self.sample, &update.td_errors)?;
        ctx.add_timer(
            "replay_buffer_update_prios_timer",
            t.elapsed().as_secs_f64(),
        );
        Ok(true)
    }
}

impl AlgorithmLogic for DQNLogic {
    type Config = DQNConfig;
    type Learner = DQNLearner;
    type State = DQNState;
    const NAME: &'static str = state::ALGORITHM;
    const MODULE_CLASS: &'static str = "DefaultDQNRLModule";

    fn prepare() {
        crate::register_builtins();
    }

    fn build(config: &DQNConfig, spaces: &Spaces, seed: u64) -> Result<Self, AlgorithmError> {
        let cannot = |e: rl_core::module::ModuleError| {
            ConfigError(format!("cannot build the DQN module: {e}"))
        };
        let module_config = DQNModule::config_for(
            &spaces.observation,
            &spaces.action,
            &config.base.model_config,
            config.dueling,
        )
        .map_err(cannot)?;
        let mut init_rng = rl_core::algorithm::driver::seeded_rng(seed, "module_init");
        let module = DQNModule::new(&module_config, &mut init_rng).map_err(cannot)?;
        let (rounds, updates) = config.round_robin_weights();
        Ok(DQNLogic {
            learner: DQNLearner::new(module, config),
            buffer: ReplayBuffer::new(&config.replay_buffer_config)?,
            replay_rng: Rng::seed_from_u64(derive_seed(seed, &["replay_buffer"])),
            settings: StepSettings {
                rounds,
                updates,
                request: SampleRequest::new(config.base.train_batch_size)
                    .n_step(config.n_step)
                    .gamma(config.base.gamma)
                    .beta(config.replay_buffer_config.beta()),
                learning_starts: config.num_steps_sampled_before_learning_starts,
                store_buffer: config.store_buffer_in_checkpoints,
            },
            sample: ReplayBatch::default(),
            batch: TrainBatch::default(),
            metrics: MetricsTally::default(),
        })
    }

    fn acting_module(&self) -> Box<dyn RLModule> {
        Box::new(self.learner.module().inference_only())
    }

    fn module_to_env_pipeline(config: &DQNConfig) -> Pipeline<dyn ModuleToEnv> {
        config
            .base
            .module_to_env_connector
            .clone()
            .unwrap_or_else(|| config.default_module_to_env())
    }

    fn training_step(&mut self, ctx: &mut StepContext<'_>) -> Result<(), AlgorithmError> {
        for _ in 0..self.settings.rounds {
            let episodes = ctx.sample_env_steps(0)?;
            let t = Instant::now();
            self.buffer.add(&episodes)?;
            ctx.add_timer("replay_buffer_add_data_timer", t.elapsed().as_secs_f64());
        }
        if ctx.counters().num_env_steps_sampled_lifetime >= self.settings.learning_starts {
            let mut trained = false;
            for _ in 0..self.settings.updates {
                trained |= self.update_once(ctx)?;
            }
            if trained {
                ctx.sync_weights(&self.learner.get_weights())?;
            }
        }
        let iteration = ctx.counters().training_iteration;
        self.metrics.add(iteration, self.buffer.metrics());
        ctx.set_result("replay_buffer", self.metrics.to_json());
        Ok(())
    }

    fn learner(&self) -> &DQNLearner {
        &self.learner
    }

    fn learner_mut(&mut self) -> &mut DQNLearner {
        &mut self.learner
    }

    fn save_state(&self, writer: &mut CheckpointWriter) -> Result<(), AlgorithmError> {
        state::write(
            Saved {
                module: self.learner.module(),
                optimizer: self.learner.optimizer(),
                target_updates: self.learner.target_state(),
                replay_rng: &self.replay_rng,
                buffer: self.settings.store_buffer.then_some(&self.buffer),
            },
            writer,
        )
    }

    fn read_state(&self, reader: &CheckpointReader) -> Result<DQNState, AlgorithmError> {
        state::read(
            reader,
            self.learner.module(),
            &self.buffer,
            self.settings.store_buffer,
        )
    }

    fn apply_state(&mut self, loaded: DQNState) -> Result<(), AlgorithmError> {
        let DQNState {
            module,
            optimizer,
            target_updates,
            replay_rng,
            buffer,
        } = loaded;
        let own = self.learner.module_mut();
        let bad = |e: rl_nn::NnError| {
            rl_core::algorithm::checkpoint::CheckpointError::malformed(
                state::MODULE_WEIGHTS_FILE,
                e.to_string(),
            )
        };
        own.params_mut().copy_from(module.params()).map_err(bad)?;
        if let (Some(dst), Some(src)) = (own.target_params_mut(), module.target_params()) {
            dst.copy_from(src).map_err(bad)?;
        }
        self.learner.set_state(optimizer, target_updates);
        self.replay_rng = replay_rng;
        if let Some(buffer) = buffer {
            self.buffer = buffer;
        }
        Ok(())
    }

    fn load_acting_module(reader: &CheckpointReader) -> Result<Box<dyn RLModule>, AlgorithmError> {
        Ok(Box::new(state::read_module(reader)?))
    }
}
