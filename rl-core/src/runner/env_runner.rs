//! `EnvRunner`: steps a vector of envs with a copy of the policy through the env→module and
//! module→env pipelines and returns episode chunks (RLlib's `SingleAgentEnvRunner`).

use std::time::{Duration, Instant};

use ndarray::Array2;
use rand::SeedableRng;

use crate::connectors::{
    ConnectorContext, ConnectorStateEntry, EnvToModule, EnvToModuleBatch, ModuleToEnv,
    ModuleToEnvBatch, Pipeline,
};
use crate::env::{EnvError, EnvSpec, Space, SyncVectorEnv, VectorEnv};
use crate::episode::Episode;
use crate::metrics::EpisodeStats;
use crate::module::RLModule;
use crate::seeding::derive_seed;
use crate::seeding::RngState;
use crate::Rng;

use super::RunnerError;

/// Everything an env runner needs to continue sampling exactly where it stopped: its RNG,
/// its envs' states (physics, RNGs, time limits), the running episodes' chunks, returns,
/// lengths and current observations, the episode-id counter and its connectors' states.
/// The policy's weights are not included (they come from the learner).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EnvRunnerState {
    /// The runner's index in its group.
    pub index: usize,
    /// Sub-envs stepped together.
    pub num_envs: usize,
    /// The action-sampling RNG.
    pub rng: RngState,
    /// No episode is running (the next `sample` resets the envs).
    pub needs_reset: bool,
    /// The envs were seeded from the run's seed already.
    pub seeded: bool,
    /// Episodes started so far (episode ids derive from it).
    pub next_episode: u64,
    /// The running episodes' chunks, one per sub-env.
    pub chunks: Vec<Episode>,
    /// The running episodes' returns so far.
    pub returns: Vec<f64>,
    /// The running episodes' lengths so far.
    pub lengths: Vec<usize>,
    /// The module inputs of the current observations, `num_envs × obs_dim`, row-major.
    pub current_obs: Vec<f32>,
    /// The env→module connectors' states.
    pub env_to_module: Vec<ConnectorStateEntry>,
    /// The module→env connectors' states.
    pub module_to_env: Vec<ConnectorStateEntry>,
    /// The vector env's state ([`SyncVectorEnv::save_state`]); `None` when the env cannot
    /// save its state, in which case a restored runner starts fresh episodes.
    pub envs: Option<serde_json::Value>,
    /// How often the runner at this index was rebuilt after a failure (its seeds derive
    /// from it). Absent in checkpoints of older builds: 0.
    #[serde(default)]
    pub restarts: u64,
}

fn mismatch(what: String) -> RunnerError {
    RunnerError::Mismatch(format!("env runner state: {what}"))
}

/// What one [`EnvRunner::sample`] call returns.
#[derive(Clone, Debug, Default)]
pub struct SampleOutput {
    /// Episode chunks: those that ended during the call, then the cut-off running ones,
    /// in env order.
    pub episodes: Vec<Episode>,
    /// Return and length of every episode that ended during the call.
    pub finished: Vec<EpisodeStats>,
    /// Env steps taken (all envs together).
    pub env_steps: usize,
}

/// How an env runner is built.
#[derive(Clone, Debug)]
pub struct EnvRunnerSpec {
    /// The env every sub-env is made from.
    pub env: EnvSpec,
    /// Sub-envs stepped together.
    pub num_envs: usize,
    /// Index of the runner in its group (seeds and episode ids derive from it).
    pub index: usize,
    /// The run's seed.
    pub seed: u64,
    /// Sample actions (training) or act greedily (evaluation).
    pub explore: bool,
    /// Whether stateful env→module connectors update their statistics.
    pub update_connector_stats: bool,
}

/// Steps `num_envs` envs with its own policy copy and RNG; deterministic given its spec.
pub struct EnvRunner {
    spec: EnvRunnerSpec,
    envs: SyncVectorEnv,
    obs_space: Space,
    act_space: Space,
    policy: Box<dyn RLModule>,
    env_to_module: Pipeline<dyn EnvToModule>,
    module_to_env: Pipeline<dyn ModuleToEnv>,
    rng: Rng,
    /// The run's env-step count as last synced by the driver.
    global_env_steps: u64,
    /// Env steps this runner took in the current `sample*` call (RLlib's `ts`).
    call_env_steps: u64,
    /// Runners in this runner's group (RLlib's `num_env_runners or 1`).
    group_size: u64,
    needs_reset: bool,
    seeded: bool,
    next_episode: u64,
    chunks: Vec<Episode>,
    returns: Vec<f64>,
    lengths: Vec<usize>,
    current_obs: Array2<f32>,
    e2m: EnvToModuleBatch,
    m2e: ModuleToEnvBatch,
    /// Times the runner at this index was rebuilt after a failure; seeds derive from it.
    restarts: u64,
    /// How long one sample call may take (checked between env steps).
    sample_timeout: Option<Duration>,
}

impl std::fmt::Debug for EnvRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvRunner")
            .field("index", &self.spec.index)
            .field("num_envs", &self.spec.num_envs)
            .field("env_to_module", &self.env_to_module)
            .field("module_to_env", &self.module_to_env)
            .finish_non_exhaustive()
    }
}

impl EnvRunner {
    /// Builds the envs and takes the policy copy and pipelines.
    pub fn new(
        spec: EnvRunnerSpec,
        policy: Box<dyn RLModule>,
        env_to_module: Pipeline<dyn EnvToModule>,
        module_to_env: Pipeline<dyn ModuleToEnv>,
    ) -> Result<Self, RunnerError> {
        Self::build(spec, 0, policy, env_to_module, module_to_env)
    }

    fn build(
        spec: EnvRunnerSpec,
        restarts: u64,
        policy: Box<dyn RLModule>,
        env_to_module: Pipeline<dyn EnvToModule>,
        module_to_env: Pipeline<dyn ModuleToEnv>,
    ) -> Result<Self, RunnerError> {
        let envs = SyncVectorEnv::from_fn(spec.num_envs, |_| spec.env.make())?;
        let obs_space = envs.single_observation_space().clone();
        let act_space = envs.single_action_space().clone();
        if obs_space.flat_dim() != policy.obs_dim() {
            return Err(RunnerError::Mismatch(format!(
                "the env's observations have {} numbers but the module takes {}",
                obs_space.flat_dim(),
                policy.obs_dim()
            )));
        }
        let rng = Rng::seed_from_u64(stream_seed(&spec, restarts, "env_runner_actions"));
        Ok(EnvRunner {
            envs,
            obs_space,
            act_space,
            policy,
            env_to_module,
            module_to_env,
            rng,
            global_env_steps: 0,
            call_env_steps: 0,
            group_size: 1,
            needs_reset: true,
            seeded: false,
            next_episode: 0,
            chunks: Vec::new(),
            returns: Vec::new(),
            lengths: Vec::new(),
            current_obs: Array2::zeros((0, 0)),
            e2m: EnvToModuleBatch::default(),
            m2e: ModuleToEnvBatch::default(),
            spec,
            restarts,
            sample_timeout: None,
        })
    }

    /// A fresh runner in place of this one after a failure: the same spec, one more
    /// restart (its RNG and envs are seeded from the run's seed, its index and the restart
    /// count, so a run with the same faults is still deterministic), a copy of this
    /// runner's policy (the current weights), the given pipelines (the last synchronized
    /// connector states), the same sample timeout, and the episode-id counter continued so
    /// ids stay unique. Running episodes are not carried over.
    pub fn rebuilt(
        &self,
        env_to_module: Pipeline<dyn EnvToModule>,
        module_to_env: Pipeline<dyn ModuleToEnv>,
    ) -> Result<EnvRunner, RunnerError> {
        let mut r = Self::build(
            self.spec.clone(),
            self.restarts + 1,
            self.policy.clone_module(),
            env_to_module,
            module_to_env,
        )?;
        r.next_episode = self.next_episode;
        r.global_env_steps = self.global_env_steps;
        r.group_size = self.group_size;
        r.sample_timeout = self.sample_timeout;
        Ok(r)
    }

    /// Times the runner at this index was rebuilt after a failure.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    /// Bounds each sample call: past `timeout` (checked between env steps) the call fails
    /// with [`RunnerError::SampleTimeout`] (or [`RunnerError::EpisodeNeverEnds`] when
    /// evaluating by episodes and none ended). `None`: no bound.
    pub fn set_sample_timeout(&mut self, timeout: Option<Duration>) {
        self.sample_timeout = timeout;
    }

    /// The runner's spec.
    pub fn spec(&self) -> &EnvRunnerSpec {
        &self.spec
    }

    /// The runner's module copy.
    pub fn module(&self) -> &dyn RLModule {
        &*self.policy
    }

    /// The runner's module copy, mutably (weights sync).
    pub fn module_mut(&mut self) -> &mut dyn RLModule {
        &mut *self.policy
    }

    /// The env→module pipeline (its connectors' states are synced across runners).
    pub fn env_to_module(&self) -> &Pipeline<dyn EnvToModule> {
        &self.env_to_module
    }

    /// The env→module pipeline, mutably.
    pub fn env_to_module_mut(&mut self) -> &mut Pipeline<dyn EnvToModule> {
        &mut self.env_to_module
    }

    /// The run's env-step count as this runner estimates it, exactly as RLlib 2.60's
    /// `SingleAgentEnvRunner` computes the `t` it passes to `forward_exploration`:
    /// `(synced / k + ts) · k`, where `synced` is the count the driver last set
    /// ([`set_global_env_steps`](Self::set_global_env_steps); once per iteration), `ts`
    /// the env steps this runner took so far in its current (or last) `sample*` call, all
    /// its envs counted, and `k` the number of runners in its group. Each sample call
    /// starts again from `ts = 0`. Connectors see it as
    /// [`ConnectorContext::global_env_steps`] (an epsilon schedule reads it).
    pub fn global_env_steps(&self) -> u64 {
        let k = self.group_size.max(1);
        (self.global_env_steps / k + self.call_env_steps) * k
    }

    /// Sets the run's env-step count (RLlib syncs `num_env_steps_sampled_lifetime` to its
    /// env runners once per iteration, in `sync_env_runner_states`).
    pub fn set_global_env_steps(&mut self, steps: u64) {
        self.global_env_steps = steps;
    }

    /// Sets the number of runners in this runner's group (the `k` of
    /// [`global_env_steps`](Self::global_env_steps); [`EnvRunnerGroup::new`] sets it).
    ///
    /// [`EnvRunnerGroup::new`]: super::EnvRunnerGroup::new
    pub fn set_group_size(&mut self, runners: usize) {
        self.group_size = runners.max(1) as u64;
    }

    /// The action RNG (saved in checkpoints).
    pub fn rng(&self) -> &Rng {
        &self.rng
    }

    /// The env's observation space.
    pub fn observation_space(&self) -> &Space {
        &self.obs_space
    }

    /// The env's action space.
    pub fn action_space(&self) -> &Space {
        &self.act_space
    }

    /// The module→env pipeline.
    pub fn module_to_env(&self) -> &Pipeline<dyn ModuleToEnv> {
        &self.module_to_env
    }

    /// The runner's full state, to continue sampling exactly from here after
    /// [`set_state`](Self::set_state) (see [`EnvRunnerState`]). Envs that cannot save
    /// their state ([`EnvError::Unsupported`]) give `envs: None`.
    pub fn get_state(&self) -> Result<EnvRunnerState, RunnerError> {
        let envs = match self.envs.save_state() {
            Ok(v) => Some(v),
            Err(EnvError::Unsupported(_)) => None,
            Err(e) => return Err(e.into()),
        };
        Ok(EnvRunnerState {
            index: self.spec.index,
            num_envs: self.spec.num_envs,
            rng: RngState::of(&self.rng).map_err(mismatch)?,
            needs_reset: self.needs_reset,
            seeded: self.seeded,
            next_episode: self.next_episode,
            chunks: self.chunks.clone(),
            returns: self.returns.clone(),
            lengths: self.lengths.clone(),
            current_obs: self.current_obs.iter().copied().collect(),
            env_to_module: self.env_to_module.state_entries(),
            module_to_env: self.module_to_env.state_entries(),
            envs,
            restarts: self.restarts,
        })
    }

    /// Restores a state from [`get_state`](Self::get_state) of a runner with the same
    /// index, number of envs, env and connectors. Everything is checked before anything
    /// changes, except the connectors' and envs' own `set_state`/`load_state`, which may
    /// fail after earlier ones succeeded.
    pub fn set_state(&mut self, state: &EnvRunnerState) -> Result<(), RunnerError> {
        let n = self.spec.num_envs;
        if state.index != self.spec.index || state.num_envs != n {
            return Err(mismatch(format!(
                "saved by runner {} with {} envs, restoring into runner {} with {n} envs",
                state.index, state.num_envs, self.spec.index
            )));
        }
        let rng = state.rng.to_rng().map_err(mismatch)?;
        self.env_to_module
            .check_state_entries(&state.env_to_module)
            .map_err(|e| mismatch(format!("env→module: {e}")))?;
        self.module_to_env
            .check_state_entries(&state.module_to_env)
            .map_err(|e| mismatch(format!("module→env: {e}")))?;
        let running = !state.needs_reset && state.envs.is_some();
        if running {
            self.check_running_state(state)?;
        }
        self.env_to_module.set_state_entries(&state.env_to_module)?;
        self.module_to_env.set_state_entries(&state.module_to_env)?;
        self.rng = rng;
        self.next_episode = state.next_episode;
        self.restarts = state.restarts;
        if running {
            if let Some(envs) = &state.envs {
                self.envs.load_state(envs)?;
            }
            let d = self.policy.obs_dim();
            self.current_obs = Array2::from_shape_vec((n, d), state.current_obs.clone())
                .map_err(|e| mismatch(e.to_string()))?;
            self.chunks = state.chunks.clone();
            self.returns = state.returns.clone();
            self.lengths = state.lengths.clone();
            self.needs_reset = false;
            self.seeded = state.seeded;
        } else {
            // Nothing running (or envs that cannot be restored): start fresh episodes; the
            // envs are seeded from the run's seed unless they were already.
            self.needs_reset = true;
            self.seeded = state.seeded && state.envs.is_some();
            if let Some(envs) = &state.envs {
                self.envs.load_state(envs)?;
            }
        }
        Ok(())
    }

    fn check_running_state(&self, state: &EnvRunnerState) -> Result<(), RunnerError> {
        let n = self.spec.num_envs;
        let (d, a, k) = (
            self.policy.obs_dim(),
            self.act_dim(),
            self.policy.dist_dim(),
        );
        if state.chunks.len() != n || state.returns.len() != n || state.lengths.len() != n {
            return Err(mismatch(format!(
                "{} chunks, {} returns, {} lengths for {n} envs",
                state.chunks.len(),
                state.returns.len(),
                state.lengths.len()
            )));
        }
        if state.current_obs.len() != n * d {
            return Err(mismatch(format!(
                "{} current observation numbers for {n} envs × {d}",
                state.current_obs.len()
            )));
        }
        for (i, c) in state.chunks.iter().enumerate() {
            let t = c.rewards.len();
            let ok = c.obs_dim == d
                && c.act_dim == a
                && c.dist_dim == k
                && c.observations.len() == (t + 1) * d
                && c.actions.len() == t * a
                && c.action_logp.len() == t
                && c.action_dist_inputs.len() == t * k;
            if !ok {
                return Err(mismatch(format!(
                    "episode chunk {i} is inconsistent (obs_dim {}, act_dim {}, dist_dim {}, {} steps, {} observation numbers); expected obs_dim {d}, act_dim {a}, dist_dim {k}",
                    c.obs_dim,
                    c.act_dim,
                    c.dist_dim,
                    t,
                    c.observations.len()
                )));
            }
        }
        Ok(())
    }

    fn new_episode_id(&mut self) -> u64 {
        self.next_episode += 1;
        ((self.spec.index as u64) << 40) | self.next_episode
    }

    /// Runs the env→module pipeline on `rows` flattened observations in `self.e2m.env_obs`.
    fn process_obs(&mut self, rows: usize) -> Result<(), RunnerError> {
        self.e2m.rows = rows;
        let global_env_steps = self.global_env_steps();
        let mut ctx = ConnectorContext {
            explore: self.spec.explore,
            update_stats: self.spec.update_connector_stats,
            rng: &mut self.rng,
            observation_space: &self.obs_space,
            action_space: &self.act_space,
            global_env_steps,
        };
        self.env_to_module.run(&mut self.e2m, &mut ctx)?;
        Ok(())
    }

    /// Starts fresh episodes in every sub-env. The first call seeds the envs from the
    /// run's seed; later calls continue their RNGs.
    pub fn reset(&mut self) -> Result<(), RunnerError> {
        let n = self.spec.num_envs;
        let seed =
            (!self.seeded).then(|| stream_seed(&self.spec, self.restarts, "env_runner_envs"));
        self.seeded = true;
        let reset = self.envs.reset(seed, None)?;
        if let Some((i, &x)) = reset.obs.iter().enumerate().find(|(_, x)| !x.is_finite()) {
            return Err(RunnerError::NonFinite {
                env: self.spec.env.name.clone(),
                runner: self.spec.index,
                sub_env: i / self.obs_space.flat_dim().max(1),
                what: "reset observation",
                value: f64::from(x),
                step: 0,
            });
        }
        self.e2m.env_obs.clear();
        self.e2m.env_obs.extend_from_slice(reset.obs);
        self.process_obs(n)?;
        self.current_obs = self.e2m.obs.clone();
        let (act_dim, dist_dim) = (self.act_dim(), self.policy.dist_dim());
        self.chunks.clear();
        for i in 0..n {
            let id = self.new_episode_id();
            let row = self.current_obs.row(i).to_vec();
            self.chunks
                .push(Episode::new(id, 0, &row, act_dim, dist_dim));
        }
        self.returns = vec![0.0; n];
        self.lengths = vec![0; n];
        self.needs_reset = false;
        Ok(())
    }

    fn act_dim(&self) -> usize {
        match &self.act_space {
            Space::Box { low, .. } => low.len(),
            _ => 1,
        }
    }

    /// One step of every sub-env. Ended chunks go to `out`.
    fn step(&mut self, out: &mut SampleOutput) -> Result<(), RunnerError> {
        let n = self.spec.num_envs;
        let dist_inputs = if self.spec.explore {
            self.policy.forward_exploration(self.current_obs.view())?
        } else {
            self.policy.forward_inference(self.current_obs.view())?
        };
        if self.m2e.dist.is_none() {
            self.m2e.dist = Some(self.policy.action_dist());
        }
        self.m2e.action_dist_inputs = dist_inputs;
        {
            let global_env_steps = self.global_env_steps();
            let mut ctx = ConnectorContext {
                explore: self.spec.explore,
                update_stats: self.spec.update_connector_stats,
                rng: &mut self.rng,
                observation_space: &self.obs_space,
                action_space: &self.act_space,
                global_env_steps,
            };
            self.module_to_env.run(&mut self.m2e, &mut ctx)?;
        }
        let step = self.envs.step(&self.m2e.env_actions)?;
        // Observations after the step: the true final one where an episode ended.
        let d = step.obs_dim;
        self.e2m.env_obs.clear();
        let mut ended = Vec::new();
        let mut rewards = Vec::with_capacity(n);
        let mut flags = Vec::with_capacity(n);
        let mut reset_obs = Vec::new();
        if let Some((i, what, value)) = first_non_finite(&step) {
            return Err(RunnerError::NonFinite {
                env: self.spec.env.name.clone(),
                runner: self.spec.index,
                sub_env: i,
                what,
                value,
                step: out.env_steps / n.max(1) + 1,
            });
        }
        for i in 0..n {
            rewards.push(step.rewards[i]);
            flags.push((step.terminated[i], step.truncated[i]));
            match step.final_obs(i) {
                Some(fin) => {
                    self.e2m.env_obs.extend_from_slice(fin);
                    ended.push(i);
                    reset_obs.extend_from_slice(step.obs_row(i));
                }
                None => self.e2m.env_obs.extend_from_slice(step.obs_row(i)),
            }
        }
        debug_assert_eq!(self.e2m.env_obs.len(), n * d);
        self.process_obs(n)?;
        let next_obs = std::mem::take(&mut self.e2m.obs);
        for (i, chunk) in self.chunks.iter_mut().enumerate() {
            let act = self.m2e.actions.row(i);
            let dist = self.m2e.action_dist_inputs.row(i);
            // Connectors may hand back arrays in any layout: copy rows that are not
            // contiguous instead of assuming they are.
            chunk.add_step(
                &contiguous(act),
                self.m2e.action_logp[i],
                &contiguous(dist),
                rewards[i] as f32,
                &contiguous(next_obs.row(i)),
            );
            self.returns[i] += rewards[i];
            self.lengths[i] += 1;
        }
        self.current_obs = next_obs;
        if !ended.is_empty() {
            self.e2m.env_obs = reset_obs;
            self.process_obs(ended.len())?;
            let (act_dim, dist_dim) = (self.act_dim(), self.policy.dist_dim());
            for (k, &i) in ended.iter().enumerate() {
                let id = self.new_episode_id();
                let first = self.e2m.obs.row(k).to_vec();
                let mut chunk = std::mem::replace(
                    &mut self.chunks[i],
                    Episode::new(id, 0, &first, act_dim, dist_dim),
                );
                (chunk.is_terminated, chunk.is_truncated) = flags[i];
                out.episodes.push(chunk);
                out.finished.push(EpisodeStats {
                    episode_return: self.returns[i],
                    length: self.lengths[i],
                });
                self.returns[i] = 0.0;
                self.lengths[i] = 0;
                self.current_obs.row_mut(i).assign(&self.e2m.obs.row(k));
            }
        }
        out.env_steps += n;
        self.call_env_steps += n as u64;
        Ok(())
    }

    /// Collects `steps_per_env` steps in every sub-env (RLlib's `truncate_episodes` mode):
    /// episodes that end are returned whole-chunk, running ones are cut and continue in
    /// the next call.
    pub fn sample(&mut self, steps_per_env: usize) -> Result<SampleOutput, RunnerError> {
        self.call_env_steps = 0;
        let deadline = self.deadline();
        if self.needs_reset {
            self.reset()?;
        }
        let mut out = SampleOutput::default();
        for _ in 0..steps_per_env {
            self.step(&mut out)?;
            self.check_deadline(deadline, &out, false)?;
        }
        let (act_dim, dist_dim) = (self.act_dim(), self.policy.dist_dim());
        for chunk in self.chunks.iter_mut() {
            if chunk.is_empty() {
                continue;
            }
            let next = Episode::new(
                chunk.id,
                chunk.t_started + chunk.len(),
                chunk.last_obs(),
                act_dim,
                dist_dim,
            );
            out.episodes.push(std::mem::replace(chunk, next));
        }
        Ok(out)
    }

    /// Runs fresh episodes until `num_episodes` have ended (evaluation with
    /// `evaluation_duration_unit = "episodes"`); returns their statistics, in the order
    /// they ended (ties in env order). Episodes still running afterwards are dropped.
    ///
    /// An env whose episodes never end cannot hang this: past the sample timeout
    /// ([`set_sample_timeout`](Self::set_sample_timeout)) the call fails, with
    /// [`RunnerError::EpisodeNeverEnds`] when no episode ended at all.
    pub fn sample_episodes(&mut self, num_episodes: usize) -> Result<SampleOutput, RunnerError> {
        self.call_env_steps = 0;
        let deadline = self.deadline();
        self.needs_reset = true;
        self.reset()?;
        let mut out = SampleOutput::default();
        while out.finished.len() < num_episodes {
            self.step(&mut out)?;
            self.check_deadline(deadline, &out, true)?;
        }
        out.finished.truncate(num_episodes);
        out.episodes.truncate(num_episodes);
        self.needs_reset = true;
        Ok(out)
    }

    /// Runs fresh episodes for `steps` env steps in all (evaluation with
    /// `evaluation_duration_unit = "timesteps"`); returns the episodes that ended.
    pub fn sample_timesteps(&mut self, steps: usize) -> Result<SampleOutput, RunnerError> {
        self.call_env_steps = 0;
        let deadline = self.deadline();
        self.needs_reset = true;
        self.reset()?;
        let mut out = SampleOutput::default();
        while out.env_steps < steps {
            self.step(&mut out)?;
            self.check_deadline(deadline, &out, false)?;
        }
        self.needs_reset = true;
        Ok(out)
    }

    fn deadline(&self) -> Option<(Instant, Duration)> {
        self.sample_timeout.map(|t| (Instant::now(), t))
    }

    /// Fails the sample call once it has run past its timeout.
    fn check_deadline(
        &self,
        deadline: Option<(Instant, Duration)>,
        out: &SampleOutput,
        by_episodes: bool,
    ) -> Result<(), RunnerError> {
        let Some((start, timeout)) = deadline else {
            return Ok(());
        };
        if start.elapsed() <= timeout {
            return Ok(());
        }
        let (env, runner, steps, timeout_s) = (
            self.spec.env.name.clone(),
            self.spec.index,
            out.env_steps,
            timeout.as_secs_f64(),
        );
        Err(if by_episodes && out.finished.is_empty() {
            RunnerError::EpisodeNeverEnds {
                env,
                runner,
                steps,
                timeout_s,
            }
        } else {
            RunnerError::SampleTimeout {
                env,
                runner,
                steps,
                timeout_s,
            }
        })
    }
}

/// A row as a slice: borrowed when contiguous, copied otherwise (connectors may hand back
/// arrays in any layout).
fn contiguous<'a>(v: ndarray::ArrayView1<'a, f32>) -> std::borrow::Cow<'a, [f32]> {
    match v.to_slice() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(v.to_vec()),
    }
}

/// The first non-finite reward or observation number of a vector step (sub-env, what, value).
fn first_non_finite(step: &crate::env::VectorStep<'_>) -> Option<(usize, &'static str, f64)> {
    let bad = |xs: &[f32]| xs.iter().copied().find(|x| !x.is_finite());
    for i in 0..step.num_envs() {
        let r = step.rewards[i];
        if !r.is_finite() {
            return Some((i, "reward", r));
        }
        if let Some(x) = bad(step.obs_row(i)) {
            return Some((i, "observation", f64::from(x)));
        }
        if let Some(x) = step.final_obs(i).and_then(bad) {
            return Some((i, "final observation", f64::from(x)));
        }
    }
    None
}

/// The seed of one of a runner's RNG streams: the original runner's as always, a rebuilt
/// one's also derived from its restart count.
fn stream_seed(spec: &EnvRunnerSpec, restarts: u64, stream: &str) -> u64 {
    let index = spec.index.to_string();
    if restarts == 0 {
        derive_seed(spec.seed, &[stream, &index])
    } else {
        derive_seed(
            spec.seed,
            &[stream, &index, "restart", &restarts.to_string()],
        )
    }
}
