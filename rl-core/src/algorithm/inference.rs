//! Policy export: a trained policy alone, for inference (RLlib's `RLModule.from_checkpoint`
//! with its connectors), loaded from a checkpoint without a learner, env runners or envs.
//! Any registered algorithm's checkpoint loads: `metadata.json` names the algorithm, whose
//! registry entry reads its acting module.

use std::path::Path;

use rand::SeedableRng;

use crate::algorithm::checkpoint::{CheckpointError, CheckpointReader};
use crate::algorithm::driver::{ENV_TO_MODULE_FILE, MODULE_TO_ENV_FILE};
use crate::algorithm::registry::load_acting_module;
use crate::algorithm::{AlgorithmError, ConfigError};
use crate::connectors::{
    ConnectorContext, EnvToModule, EnvToModuleBatch, ModuleToEnv, ModuleToEnvBatch, Pipeline,
};
use crate::env::{Space, Value};
use crate::module::RLModule;
use crate::runner::RunnerError;
use crate::Rng;

/// A trained policy alone, for inference: the acting module with its env→module
/// (observation filter, frozen) and module→env (sampling or greedy action, unsquashing)
/// pipelines. Loaded from a checkpoint with [`InferencePolicy::from_checkpoint`] without
/// building a learner, env runners or envs (RLlib's `RLModule.from_checkpoint` plus
/// connectors), or taken from a live algorithm (`Driver::get_policy`).
pub struct InferencePolicy {
    module: Box<dyn RLModule>,
    env_to_module: Pipeline<dyn EnvToModule>,
    module_to_env: Pipeline<dyn ModuleToEnv>,
    observation_space: Space,
    action_space: Space,
    rng: Rng,
    e2m: EnvToModuleBatch,
    m2e: ModuleToEnvBatch,
}

impl std::fmt::Debug for InferencePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InferencePolicy")
            .field("env_to_module", &self.env_to_module)
            .field("module_to_env", &self.module_to_env)
            .finish_non_exhaustive()
    }
}

impl InferencePolicy {
    /// A policy from its parts (the spaces are the env's).
    pub fn new(
        module: Box<dyn RLModule>,
        env_to_module: Pipeline<dyn EnvToModule>,
        module_to_env: Pipeline<dyn ModuleToEnv>,
        observation_space: Space,
        action_space: Space,
    ) -> Self {
        InferencePolicy {
            module,
            env_to_module,
            module_to_env,
            observation_space,
            action_space,
            rng: Rng::seed_from_u64(0),
            e2m: EnvToModuleBatch::default(),
            m2e: ModuleToEnvBatch::default(),
        }
    }

    /// Loads the policy from a checkpoint directory: `metadata.json` (algorithm and
    /// spaces), the acting module (for PPO `learner/module/default_policy/`: architecture
    /// and weights) and the two connector pipelines in `env_runner/`. Nothing else is read.
    /// The algorithm that wrote the checkpoint must be registered
    /// (`rl_algos::register_builtins()` registers the built-in ones). Exploration samples
    /// from an RNG seeded with 0 (see [`InferencePolicy::seed`]).
    pub fn from_checkpoint(dir: impl AsRef<Path>) -> Result<Self, AlgorithmError> {
        let reader = CheckpointReader::open(dir)?;
        let module = load_acting_module(&reader)?;
        let e2m: Pipeline<dyn EnvToModule> = reader.read_json(ENV_TO_MODULE_FILE)?;
        let m2e: Pipeline<dyn ModuleToEnv> = reader.read_json(MODULE_TO_ENV_FILE)?;
        let meta = reader.metadata();
        if meta.observation_space.flat_dim() != module.obs_dim() {
            return Err(CheckpointError::malformed(
                reader.path(crate::algorithm::checkpoint::METADATA_FILE),
                format!(
                    "the module takes {} numbers but observations have {}",
                    module.obs_dim(),
                    meta.observation_space.flat_dim()
                ),
            )
            .into());
        }
        Ok(Self::new(
            module,
            e2m,
            m2e,
            meta.observation_space.clone(),
            meta.action_space.clone(),
        ))
    }

    /// Reseeds the RNG that exploring actions are sampled from.
    pub fn seed(&mut self, seed: u64) {
        self.rng = Rng::seed_from_u64(seed);
    }

    /// The acting module.
    pub fn module(&self) -> &dyn RLModule {
        &*self.module
    }

    /// The observation space actions are computed for.
    pub fn observation_space(&self) -> &Space {
        &self.observation_space
    }

    /// The action space actions come from.
    pub fn action_space(&self) -> &Space {
        &self.action_space
    }

    /// The action for one observation (RLlib's `compute_single_action`): greedy
    /// (`explore = false`: argmax or mean) or sampled (`explore = true`).
    pub fn compute_single_action(
        &mut self,
        obs: &Value,
        explore: bool,
    ) -> Result<Value, AlgorithmError> {
        let mut actions = self.compute_actions(std::slice::from_ref(obs), explore)?;
        actions
            .pop()
            .ok_or_else(|| AlgorithmError::Config(ConfigError("no action was computed".into())))
    }

    /// The actions for a batch of observations, in order (one forward pass).
    pub fn compute_actions(
        &mut self,
        obs: &[Value],
        explore: bool,
    ) -> Result<Vec<Value>, AlgorithmError> {
        let d = self.observation_space.flat_dim();
        self.e2m.env_obs.clear();
        self.e2m.env_obs.resize(obs.len() * d, 0.0);
        for (o, row) in obs.iter().zip(self.e2m.env_obs.chunks_exact_mut(d.max(1))) {
            self.observation_space.flatten_into(o, row)?;
        }
        self.e2m.rows = obs.len();
        if obs.is_empty() {
            return Ok(Vec::new());
        }
        let mut ctx = ConnectorContext {
            explore,
            update_stats: false,
            rng: &mut self.rng,
            observation_space: &self.observation_space,
            action_space: &self.action_space,
            global_env_steps: 0,
        };
        self.env_to_module
            .run(&mut self.e2m, &mut ctx)
            .map_err(RunnerError::from)?;
        let inputs = if explore {
            self.module.forward_exploration(self.e2m.obs.view())
        } else {
            self.module.forward_inference(self.e2m.obs.view())
        }
        .map_err(RunnerError::from)?;
        if self.m2e.dist.is_none() {
            self.m2e.dist = Some(self.module.action_dist());
        }
        self.m2e.action_dist_inputs = inputs;
        self.module_to_env
            .run(&mut self.m2e, &mut ctx)
            .map_err(RunnerError::from)?;
        Ok(std::mem::take(&mut self.m2e.env_actions))
    }
}
