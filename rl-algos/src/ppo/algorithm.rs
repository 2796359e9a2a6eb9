//! `PPO`: the algorithm users drive — one `train()` call is one RLlib training iteration.
//!
//! Sample `train_batch_size` env steps from the env runners → merge the connector states →
//! the learner turns the episode chunks into a train batch and runs its minibatch epochs →
//! the new weights go back to the runners → evaluate every `evaluation_interval`
//! iterations → return the iteration's result under RLlib's keys.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rl_core::algorithm::{Algorithm, AlgorithmError, DurationUnit};
use rl_core::connectors::{EnvToModule, ModuleToEnv, Pipeline};
use rl_core::env::EnvSpec;
use rl_core::metrics::{float, set_path, EpisodeStats, EpisodeWindow, ResultDict, TrialWriter};
use rl_core::policy::Policy;
use rl_core::runner::{EnvRunner, EnvRunnerGroup, EnvRunnerSpec};
use rl_core::seeding::derive_seed;
use rl_core::Rng;
use serde_json::Value;

use super::learner::PPOLearner;
use super::module::PPOModule;
use super::policy::PPOPolicy;
use super::PPOConfig;

/// Counters that survive across iterations (and checkpoints).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    /// Completed training iterations.
    pub training_iteration: usize,
    /// Env steps sampled for training, all runners together.
    pub num_env_steps_sampled_lifetime: u64,
    /// RLlib's count: rows of the train batch × minibatch updates (see `docs/metrics.md`).
    pub num_env_steps_trained_lifetime: u64,
    /// Rows actually passed through gradient updates.
    pub num_module_steps_trained_lifetime: u64,
    /// Training episodes that ended.
    pub num_episodes_lifetime: u64,
    /// Evaluation episodes that ended.
    pub num_evaluation_episodes_lifetime: u64,
    /// Env steps sampled by evaluation.
    pub num_evaluation_env_steps_lifetime: u64,
    /// Seconds spent in `train()`, all iterations.
    pub time_total_s: f64,
}

/// The PPO algorithm (RLlib's `PPO`), built from a [`PPOConfig`].
pub struct PPO {
    pub(crate) config: PPOConfig,
    pub(crate) learner: PPOLearner,
    pub(crate) runners: EnvRunnerGroup,
    pub(crate) eval_runners: Option<EnvRunnerGroup>,
    pub(crate) window: EpisodeWindow,
    pub(crate) counters: Counters,
    pub(crate) connector_states: Vec<Option<Value>>,
    pub(crate) trial: Option<TrialWriter>,
    pub(crate) iterations_since_restore: usize,
}

impl std::fmt::Debug for PPO {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PPO")
            .field("env", &self.config.base.env)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl PPOConfig {
    /// Validates the config and builds the algorithm (RLlib's `config.build_algo()`).
    pub fn build(&self) -> Result<PPO, AlgorithmError> {
        // Validate before copying: the copy goes through the connectors' JSON.
        self.validate()?;
        PPO::new(self.clone())
    }
}

/// Which env-runner group to build.
#[derive(Clone, Copy, Debug)]
enum RunnerRole {
    /// Samples the train batches: explores and updates connector statistics.
    Training,
    /// Runs evaluation: its own seed stream, `evaluation_explore`, frozen statistics.
    Evaluation,
}

fn runner_group(
    config: &PPOConfig,
    role: RunnerRole,
    policy: &dyn Policy,
    env_to_module: &Pipeline<dyn EnvToModule>,
    module_to_env: &Pipeline<dyn ModuleToEnv>,
) -> Result<EnvRunnerGroup, AlgorithmError> {
    let base = &config.base;
    let seed = base.seed.unwrap_or(0);
    let (num_runners, seed, explore, update_stats, fault_tolerance) = match role {
        RunnerRole::Training => (
            base.num_env_runners,
            seed,
            true,
            true,
            base.fault_tolerance(),
        ),
        RunnerRole::Evaluation => (
            base.evaluation_num_env_runners,
            derive_seed(seed, &["evaluation"]),
            base.evaluation_explore,
            false,
            base.evaluation_fault_tolerance(),
        ),
    };
    let env = EnvSpec::with_config(config.base.env.clone(), config.base.env_config.clone());
    let runners = (0..num_runners.max(1))
        .map(|index| {
            EnvRunner::new(
                EnvRunnerSpec {
                    env: env.clone(),
                    num_envs: config.base.num_envs_per_env_runner,
                    index,
                    seed,
                    explore,
                    update_connector_stats: update_stats,
                },
                policy.clone_policy(),
                env_to_module.clone(),
                module_to_env.clone(),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EnvRunnerGroup::new(runners, num_runners > 0).with_fault_tolerance(fault_tolerance))
}

impl PPO {
    /// Builds envs, module, learner and env runners from a validated config.
    pub fn new(config: PPOConfig) -> Result<Self, AlgorithmError> {
        rl_envs::register_builtins();
        config.validate()?;
        let seed = config.base.seed.unwrap_or(0);
        let probe =
            EnvSpec::with_config(config.base.env.clone(), config.base.env_config.clone()).make()?;
        let mut init_rng = Rng::seed_from_u64(derive_seed(seed, &["module_init"]));
        let module = PPOModule::from_spaces(
            probe.observation_space(),
            probe.action_space(),
            &config.base.model_config,
            &mut init_rng,
        )
        .map_err(|e| rl_core::algorithm::ConfigError(format!("cannot build the module: {e}")))?;
        let policy = PPOPolicy::new(module.clone());
        let env_to_module = config.base.env_to_module_pipeline();
        let module_to_env = config.base.module_to_env_pipeline();
        let runners = runner_group(
            &config,
            RunnerRole::Training,
            &policy,
            &env_to_module,
            &module_to_env,
        )?;
        let eval_runners = match config.base.evaluation_interval {
            Some(_) => Some(runner_group(
                &config,
                RunnerRole::Evaluation,
                &policy,
                &env_to_module,
                &module_to_env,
            )?),
            None => None,
        };
        let learner = PPOLearner::new(module, &config, derive_seed(seed, &["learner"]));
        Ok(PPO {
            window: EpisodeWindow::new(config.base.metrics_num_episodes_for_smoothing),
            config,
            learner,
            runners,
            eval_runners,
            counters: Counters::default(),
            connector_states: Vec::new(),
            trial: None,
            iterations_since_restore: 0,
        })
    }

    /// The config the algorithm was built from.
    pub fn config(&self) -> &PPOConfig {
        &self.config
    }

    /// The learner (module, optimizer, KL coefficient).
    pub fn learner(&self) -> &PPOLearner {
        &self.learner
    }

    /// The learner, mutably.
    pub fn learner_mut(&mut self) -> &mut PPOLearner {
        &mut self.learner
    }

    /// The training env runners.
    pub fn env_runners(&self) -> &EnvRunnerGroup {
        &self.runners
    }

    /// The training env runners, mutably (e.g. to sample outside `train()`).
    pub fn env_runners_mut(&mut self) -> &mut EnvRunnerGroup {
        &mut self.runners
    }

    /// Lifetime counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Writes Tune's trial files (`params.json`, `result.json`, `progress.csv`) into `dir`
    /// from now on; returns the directory.
    pub fn log_to(&mut self, dir: impl AsRef<Path>) -> Result<PathBuf, AlgorithmError> {
        let dir = dir.as_ref();
        let params = serde_json::to_value(&self.config).map_err(|e| AlgorithmError::Io {
            context: "serializing the config".into(),
            source: e.into(),
        })?;
        let writer = TrialWriter::create(dir, &params).map_err(|source| AlgorithmError::Io {
            context: format!("creating trial files in {}", dir.display()),
            source,
        })?;
        self.trial = Some(writer);
        Ok(dir.to_path_buf())
    }

    /// Runs one evaluation with the current weights and returns the results that go under
    /// `evaluation/` (`env_runners/episode_return_mean`, …).
    fn run_evaluation(&mut self) -> Result<ResultDict, AlgorithmError> {
        let start = Instant::now();
        let weights = self.learner.get_weights();
        let Some(eval) = self.eval_runners.as_mut() else {
            return Ok(ResultDict::new());
        };
        eval.sync_weights(&weights)?;
        eval.set_connector_states(&self.connector_states)?;
        let duration = self.config.base.evaluation_duration;
        let out = match self.config.base.evaluation_duration_unit {
            DurationUnit::Episodes => eval.sample_episodes(duration)?,
            DurationUnit::Timesteps => eval.sample_timesteps(duration)?,
        };
        self.counters.num_evaluation_episodes_lifetime += out.finished.len() as u64;
        self.counters.num_evaluation_env_steps_lifetime += out.env_steps as u64;
        let mut window = EpisodeWindow::new(out.finished.len().max(1));
        window.extend(out.finished.iter().copied());
        let mut r = ResultDict::new();
        episode_keys(&mut r, "env_runners", &window);
        set_path(&mut r, "env_runners/num_episodes", out.finished.len());
        set_path(&mut r, "env_runners/num_env_steps_sampled", out.env_steps);
        set_path(
            &mut r,
            "env_runners/num_episodes_lifetime",
            self.counters.num_evaluation_episodes_lifetime,
        );
        set_path(
            &mut r,
            "env_runners/num_env_steps_sampled_lifetime",
            self.counters.num_evaluation_env_steps_lifetime,
        );
        set_path(
            &mut r,
            "timers/evaluation_iteration",
            start.elapsed().as_secs_f64(),
        );
        Ok(r)
    }

    fn should_evaluate(&self) -> bool {
        matches!(self.config.base.evaluation_interval, Some(k) if self.counters.training_iteration.is_multiple_of(k))
    }
}

/// `episode_return_{mean,min,max}` and `episode_len_{mean,min,max}` under `prefix`.
fn episode_keys(r: &mut ResultDict, prefix: &str, w: &EpisodeWindow) {
    set_path(
        r,
        &format!("{prefix}/episode_return_mean"),
        float(w.return_mean()),
    );
    set_path(
        r,
        &format!("{prefix}/episode_return_min"),
        float(w.return_min()),
    );
    set_path(
        r,
        &format!("{prefix}/episode_return_max"),
        float(w.return_max()),
    );
    set_path(
        r,
        &format!("{prefix}/episode_len_mean"),
        float(w.len_mean()),
    );
    set_path(r, &format!("{prefix}/episode_len_min"), float(w.len_min()));
    set_path(r, &format!("{prefix}/episode_len_max"), float(w.len_max()));
}

impl Algorithm for PPO {
    fn train(&mut self) -> Result<ResultDict, AlgorithmError> {
        let start = Instant::now();
        let mut result = ResultDict::new();

        // 1. Sample at least train_batch_size env steps.
        let t = Instant::now();
        let steps_per_env = self.config.base.rollout_fragment_length();
        let mut episodes = Vec::new();
        let mut finished: Vec<EpisodeStats> = Vec::new();
        let mut env_steps = 0;
        while env_steps < self.config.base.train_batch_size {
            let out = self.runners.sample(steps_per_env)?;
            env_steps += out.env_steps;
            episodes.extend(out.episodes);
            finished.extend(out.finished);
        }
        set_path(
            &mut result,
            "timers/env_runner_sampling_timer",
            t.elapsed().as_secs_f64(),
        );
        rl_core::metrics::fault_tolerance_keys(&mut result, &self.runners);

        // 2. Merge connector states (observation filters) across runners.
        let t = Instant::now();
        self.connector_states = self.runners.sync_connector_states()?;
        set_path(
            &mut result,
            "timers/synch_env_connectors",
            t.elapsed().as_secs_f64(),
        );

        // 3. Episode metrics.
        self.window.extend(finished.iter().copied());
        self.counters.num_env_steps_sampled_lifetime += env_steps as u64;
        self.counters.num_episodes_lifetime += finished.len() as u64;
        episode_keys(&mut result, "env_runners", &self.window);
        set_path(&mut result, "env_runners/num_episodes", finished.len());
        set_path(&mut result, "env_runners/num_env_steps_sampled", env_steps);
        set_path(
            &mut result,
            "env_runners/num_env_steps_sampled_lifetime",
            self.counters.num_env_steps_sampled_lifetime,
        );
        set_path(
            &mut result,
            "env_runners/num_episodes_lifetime",
            self.counters.num_episodes_lifetime,
        );

        // 4. Learner update.
        let t = Instant::now();
        let update = self
            .learner
            .update_from_episodes(episodes, self.counters.num_env_steps_sampled_lifetime)
            .map_err(|e| e.in_iteration(self.counters.training_iteration + 1))?;
        let learner_time = t.elapsed().as_secs_f64();
        set_path(&mut result, "timers/learner_update_timer", learner_time);
        self.counters.num_env_steps_trained_lifetime += update.num_env_steps_trained;
        self.counters.num_module_steps_trained_lifetime += update.num_module_steps_trained;
        for (k, v) in update.stats {
            set_path(&mut result, &format!("learners/default_policy/{k}"), v);
        }
        set_path(
            &mut result,
            "learners/default_policy/num_module_steps_trained",
            update.num_module_steps_trained,
        );
        set_path(
            &mut result,
            "learners/default_policy/num_module_steps_trained_lifetime",
            self.counters.num_module_steps_trained_lifetime,
        );
        set_path(
            &mut result,
            "learners/__all_modules__/num_env_steps_trained",
            update.num_env_steps_trained,
        );
        set_path(
            &mut result,
            "learners/__all_modules__/num_env_steps_trained_lifetime",
            self.counters.num_env_steps_trained_lifetime,
        );
        set_path(
            &mut result,
            "learners/__all_modules__/num_module_steps_trained_lifetime",
            self.counters.num_module_steps_trained_lifetime,
        );

        // 5. Broadcast the new weights.
        let t = Instant::now();
        let weights = self.learner.get_weights();
        self.runners.sync_weights(&weights)?;
        set_path(
            &mut result,
            "timers/synch_weights",
            t.elapsed().as_secs_f64(),
        );

        self.counters.training_iteration += 1;
        self.iterations_since_restore += 1;

        // 6. Evaluation.
        if self.should_evaluate() {
            let eval = self.run_evaluation()?;
            result.insert("evaluation".into(), Value::Object(eval));
        }

        let elapsed = start.elapsed().as_secs_f64();
        self.counters.time_total_s += elapsed;
        set_path(&mut result, "timers/training_iteration", elapsed);
        set_path(
            &mut result,
            "env_runners/num_env_steps_sampled_lifetime_throughput",
            float(env_steps as f64 / elapsed),
        );
        set_path(
            &mut result,
            "learners/__all_modules__/num_module_steps_trained_throughput",
            float(update.num_module_steps_trained as f64 / learner_time),
        );
        set_path(
            &mut result,
            "num_env_steps_sampled_lifetime",
            self.counters.num_env_steps_sampled_lifetime,
        );
        set_path(
            &mut result,
            "num_env_steps_trained_lifetime",
            self.counters.num_env_steps_trained_lifetime,
        );
        set_path(
            &mut result,
            "num_episodes_lifetime",
            self.counters.num_episodes_lifetime,
        );
        set_path(&mut result, "num_training_step_calls_per_iteration", 1);
        set_path(
            &mut result,
            "training_iteration",
            self.counters.training_iteration,
        );
        set_path(
            &mut result,
            "iterations_since_restore",
            self.iterations_since_restore,
        );
        set_path(&mut result, "time_this_iter_s", elapsed);
        set_path(&mut result, "time_total_s", self.counters.time_total_s);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        set_path(&mut result, "timestamp", now);
        set_path(&mut result, "done", false);

        if let Some(trial) = self.trial.as_mut() {
            trial.write(&result).map_err(|source| AlgorithmError::Io {
                context: format!("writing results into {}", trial.dir().display()),
                source,
            })?;
        }
        // Periodic checkpoints into the run's output directory (see checkpoint.rs);
        // `checkpoint_at_end` is honoured by `PPO::stop()`.
        self.checkpoint_if_due()?;
        Ok(result)
    }

    fn evaluate(&mut self) -> Result<ResultDict, AlgorithmError> {
        if self.eval_runners.is_none() {
            // Evaluation was not configured: build a group on demand (greedy, as RLlib).
            let policy = PPOPolicy::new(self.learner.module().clone());
            self.eval_runners = Some(runner_group(
                &self.config,
                RunnerRole::Evaluation,
                &policy,
                &self.config.base.env_to_module_pipeline(),
                &self.config.base.module_to_env_pipeline(),
            )?);
        }
        self.run_evaluation()
    }

    fn iteration(&self) -> usize {
        self.counters.training_iteration
    }
}
