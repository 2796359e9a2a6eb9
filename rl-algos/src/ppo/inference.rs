//! Policy export: a trained policy alone, for inference (RLlib's `RLModule.from_checkpoint`
//! with its connectors), loaded from a checkpoint without a learner, env runners or envs.

use std::path::Path;

use rand::SeedableRng;
use rl_core::algorithm::checkpoint::{CheckpointError, CheckpointReader};
use rl_core::algorithm::{AlgorithmError, ConfigError};
use rl_core::connectors::{
    ConnectorContext, EnvToModule, EnvToModuleBatch, ModuleToEnv, ModuleToEnvBatch, Pipeline,
};
use rl_core::env::{Space, Value};
use rl_core::policy::Policy;
use rl_core::runner::RunnerError;
use rl_core::Rng;

use super::checkpoint::{
    read_module, ALGORITHM, ENV_TO_MODULE_FILE, MODULE_CONFIG_FILE, MODULE_TO_ENV_FILE,
};
use super::module::PPOModule;
use super::policy::PPOPolicy;

/// A trained policy alone, for inference: the module with its env→module (observation
/// filter, frozen) and module→env (sampling or greedy action, unsquashing) pipelines.
/// Loaded from a checkpoint with [`InferencePolicy::from_checkpoint`] without building
/// a learner, env runners or envs (RLlib's `RLModule.from_checkpoint` plus connectors).
pub struct InferencePolicy {
    policy: PPOPolicy,
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
            .field("module", self.policy.module().config())
            .field("env_to_module", &self.env_to_module)
            .field("module_to_env", &self.module_to_env)
            .finish_non_exhaustive()
    }
}

impl InferencePolicy {
    pub(super) fn new(
        module: PPOModule,
        env_to_module: Pipeline<dyn EnvToModule>,
        module_to_env: Pipeline<dyn ModuleToEnv>,
        observation_space: Space,
        action_space: Space,
    ) -> Self {
        InferencePolicy {
            policy: PPOPolicy::new(module),
            env_to_module,
            module_to_env,
            observation_space,
            action_space,
            rng: Rng::seed_from_u64(0),
            e2m: EnvToModuleBatch::default(),
            m2e: ModuleToEnvBatch::default(),
        }
    }

    /// Loads the policy from a checkpoint directory: `metadata.json` (spaces),
    /// `learner/module/default_policy/` (architecture and weights) and the two connector
    /// pipelines in `env_runner/`. Nothing else is read. Exploration samples from an RNG
    /// seeded with 0 (see [`InferencePolicy::seed`]).
    pub fn from_checkpoint(dir: impl AsRef<Path>) -> Result<Self, AlgorithmError> {
        let reader = CheckpointReader::open(dir)?;
        reader.expect_algorithm(ALGORITHM)?;
        let module = read_module(&reader)?;
        let e2m: Pipeline<dyn EnvToModule> = reader.read_json(ENV_TO_MODULE_FILE)?;
        let m2e: Pipeline<dyn ModuleToEnv> = reader.read_json(MODULE_TO_ENV_FILE)?;
        let meta = reader.metadata();
        if meta.observation_space.flat_dim() != module.obs_dim() {
            return Err(CheckpointError::malformed(
                reader.path(MODULE_CONFIG_FILE),
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

    /// The module.
    pub fn module(&self) -> &PPOModule {
        self.policy.module()
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
        };
        self.env_to_module
            .run(&mut self.e2m, &mut ctx)
            .map_err(RunnerError::from)?;
        let inputs = if explore {
            self.policy.forward_exploration(self.e2m.obs.view())
        } else {
            self.policy.forward_inference(self.e2m.obs.view())
        }
        .map_err(RunnerError::from)?;
        self.m2e.dist_kind = Some(self.policy.dist_kind());
        self.m2e.action_dist_inputs = inputs;
        self.module_to_env
            .run(&mut self.m2e, &mut ctx)
            .map_err(RunnerError::from)?;
        Ok(std::mem::take(&mut self.m2e.env_actions))
    }
}
