//! The driver every algorithm shares (RLlib's `Algorithm` base class): [`Driver<L>`] builds
//! the env runners, calls the algorithm's [`training_step`](AlgorithmLogic::training_step),
//! evaluates every `evaluation_interval` iterations, assembles the iteration's result under
//! RLlib's keys, writes Tune's trial files and checkpoints on cadence.
//!
//! One `train()`: `training_step` (once, or until `min_sample_timesteps_per_iteration` env
//! steps were sampled) → counters → evaluation → the result dict → `result.json` /
//! `progress.csv` → a periodic checkpoint when due.

mod checkpointing;
mod evaluation;
mod step;

pub use checkpointing::{ALGORITHM_STATE_FILE, ENV_TO_MODULE_FILE, MODULE_TO_ENV_FILE};
pub use step::StepContext;

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use serde_json::Value;

use crate::algorithm::config::AlgoConfig;
use crate::algorithm::logic::{AlgorithmLogic, Spaces};
use crate::algorithm::registry::AlgorithmRegistration;
use crate::algorithm::{Algorithm, AlgorithmError, ConfigError, Counters, InferencePolicy};
use crate::env::EnvSpec;
use crate::learner::Learner;
use crate::metrics::{float, EpisodeWindow, ResultDict, ResultLogger, TrialWriter};
use crate::runner::EnvRunnerGroup;

use evaluation::RunnerRole;
use step::{put, IterationTally};

/// The module id of single-agent results and checkpoints (RLlib's `DEFAULT_MODULE_ID`).
pub const DEFAULT_MODULE_ID: &str = "default_policy";

/// An algorithm: the shared driver around an algorithm's own [`AlgorithmLogic`]
/// (`rl_algos::PPO` is `Driver<PPOLogic>`).
pub struct Driver<L: AlgorithmLogic> {
    config: L::Config,
    logic: L,
    runners: EnvRunnerGroup,
    eval_runners: Option<EnvRunnerGroup>,
    window: EpisodeWindow,
    counters: Counters,
    connector_states: Vec<Option<Value>>,
    trial: Option<TrialWriter>,
    loggers: Vec<Box<dyn ResultLogger>>,
    iterations_since_restore: usize,
}

impl<L: AlgorithmLogic> std::fmt::Debug for Driver<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct(L::NAME)
            .field("env", &self.config.base().env)
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl<L: AlgorithmLogic> Driver<L> {
    /// Validates the config, builds the envs, the algorithm's module and learner, and the
    /// env runners (RLlib's `config.build_algo()`).
    pub fn new(config: L::Config) -> Result<Self, AlgorithmError> {
        L::prepare();
        config.validate()?;
        let base = config.base();
        let seed = base.seed.unwrap_or(0);
        let probe = EnvSpec::with_config(base.env.clone(), base.env_config.clone()).make()?;
        let spaces = Spaces {
            observation: probe.observation_space().clone(),
            action: probe.action_space().clone(),
        };
        let logic = L::build(&config, &spaces, seed)?;
        let runners = evaluation::runner_group(&config, RunnerRole::Training, &logic)?;
        let eval_runners = match base.evaluation_interval {
            Some(_) => Some(evaluation::runner_group(
                &config,
                RunnerRole::Evaluation,
                &logic,
            )?),
            None => None,
        };
        Ok(Driver {
            window: EpisodeWindow::new(base.metrics_num_episodes_for_smoothing),
            config,
            logic,
            runners,
            eval_runners,
            counters: Counters::default(),
            connector_states: Vec::new(),
            trial: None,
            loggers: Vec::new(),
            iterations_since_restore: 0,
        })
    }

    /// How to register this algorithm by [`AlgorithmLogic::NAME`]: built from a JSON config
    /// (missing keys take their defaults, unknown ones are refused), with its default config,
    /// its keys' docs and its checkpoint loader.
    pub fn registration() -> AlgorithmRegistration {
        AlgorithmRegistration::new(L::NAME, |value| {
            let config = L::Config::from_value(value)
                .map_err(|e| ConfigError(format!("{} config: {}", L::NAME, e.0)))?;
            Ok(Box::new(Driver::<L>::new(config)?))
        })
        .default_config(|| serde_json::to_value(L::Config::default()).unwrap_or_default())
        .key_docs(crate::algorithm::config::key_docs::<L::Config>)
        .from_checkpoint(|dir| Ok(Box::new(Driver::<L>::from_checkpoint(dir)?)))
        .load_module(L::load_acting_module)
    }

    /// The policy as it stands, for inference: the same as
    /// [`InferencePolicy::from_checkpoint`] on a checkpoint saved now.
    pub fn get_policy(&self) -> Result<InferencePolicy, AlgorithmError> {
        let r0 = self
            .runners
            .runners()
            .first()
            .ok_or_else(|| ConfigError("the algorithm has no env runner".into()))?;
        let mut module = self.logic.acting_module();
        module
            .set_weights(&self.acting_weights())
            .map_err(crate::runner::RunnerError::from)?;
        Ok(InferencePolicy::new(
            module,
            self.driver_env_to_module()?,
            r0.module_to_env().clone(),
            r0.observation_space().clone(),
            r0.action_space().clone(),
        ))
    }

    /// The config the algorithm was built from.
    pub fn config(&self) -> &L::Config {
        &self.config
    }

    /// The algorithm's own part.
    pub fn logic(&self) -> &L {
        &self.logic
    }

    /// The algorithm's own part, mutably.
    pub fn logic_mut(&mut self) -> &mut L {
        &mut self.logic
    }

    /// The learner (module, optimizer, …).
    pub fn learner(&self) -> &L::Learner {
        self.logic.learner()
    }

    /// The learner, mutably.
    pub fn learner_mut(&mut self) -> &mut L::Learner {
        self.logic.learner_mut()
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

    /// The env→module connectors' states merged over the training runners (observation
    /// filter statistics), one per connector.
    pub fn connector_states(&self) -> &[Option<Value>] {
        &self.connector_states
    }

    /// Writes Tune's trial files (`params.json`, `result.json`, `progress.csv`) into `dir`
    /// from now on, and keeps periodic and end-of-run checkpoints there; returns the
    /// directory.
    ///
    /// A fresh algorithm starts fresh files. One restored from a checkpoint (it has
    /// completed iterations) continues the files already in `dir`: the rows up to its
    /// iteration are kept, later ones (written after that checkpoint, before the run
    /// stopped) are dropped, columns are merged — so nothing is lost and nothing is listed
    /// twice.
    pub fn log_to(&mut self, dir: impl AsRef<Path>) -> Result<PathBuf, AlgorithmError> {
        let dir = dir.as_ref();
        let params = serde_json::to_value(&self.config).map_err(|e| AlgorithmError::Io {
            context: "serializing the config".into(),
            source: e.into(),
        })?;
        let iteration = self.counters.training_iteration;
        let writer = if iteration > 0 {
            TrialWriter::resume(dir, &params, iteration as u64)
        } else {
            TrialWriter::create(dir, &params)
        }
        .map_err(|source| AlgorithmError::Io {
            context: format!("creating trial files in {}", dir.display()),
            source,
        })?;
        self.trial = Some(writer);
        Ok(dir.to_path_buf())
    }

    /// The run's output directory (see [`Driver::log_to`]), if any.
    pub fn trial_dir(&self) -> Option<&Path> {
        self.trial.as_ref().map(|t| t.dir())
    }

    fn should_evaluate(&self) -> bool {
        matches!(self.config.base().evaluation_interval, Some(k) if self.counters.training_iteration.is_multiple_of(k))
    }

    /// Runs `training_step` once, or until `min_sample_timesteps_per_iteration` env steps
    /// were sampled this iteration (and `min_time_s_per_iteration` seconds passed).
    fn training_steps(&mut self, start: Instant) -> Result<IterationTally, AlgorithmError> {
        let mut tally = IterationTally::default();
        let base = self.config.base();
        let (min_steps, min_time) = (
            base.min_sample_timesteps_per_iteration,
            base.min_time_s_per_iteration.unwrap_or(0.0),
        );
        loop {
            let mut ctx = StepContext {
                config: self.config.base(),
                rollout_fragment_length: self.config.get_rollout_fragment_length(),
                runners: &mut self.runners,
                window: &mut self.window,
                counters: &mut self.counters,
                connector_states: &mut self.connector_states,
                tally: &mut tally,
            };
            self.logic.training_step(&mut ctx)?;
            tally.calls += 1;
            if tally.env_steps >= min_steps && start.elapsed().as_secs_f64() >= min_time {
                return Ok(tally);
            }
        }
    }

    /// One training iteration (see the [module docs](self)); [`Algorithm::train`].
    fn train_iteration(&mut self) -> Result<ResultDict, AlgorithmError> {
        let start = Instant::now();
        let tally = self.training_steps(start)?;
        // RLlib's `sync_env_runner_states` after the training steps: the runners' count of
        // the run's env steps (what an exploration schedule reads) moves once per iteration.
        self.runners
            .set_global_env_steps(self.counters.num_env_steps_sampled_lifetime);
        self.counters.training_iteration += 1;
        self.iterations_since_restore += 1;
        let mut result = ResultDict::new();

        // Sampling.
        crate::runner::fault_tolerance_keys(&mut result, &self.runners);
        evaluation::episode_keys(&mut result, "env_runners", &self.window);
        put(
            &mut result,
            "env_runners/num_episodes",
            tally.finished.len(),
        );
        put(
            &mut result,
            "env_runners/num_env_steps_sampled",
            tally.env_steps,
        );
        put(
            &mut result,
            "env_runners/num_env_steps_sampled_lifetime",
            self.counters.num_env_steps_sampled_lifetime,
        );
        put(
            &mut result,
            "env_runners/num_episodes_lifetime",
            self.counters.num_episodes_lifetime,
        );

        // Learning.
        let module = DEFAULT_MODULE_ID;
        if let Some(update) = &tally.update {
            for (k, v) in &update.stats {
                put(&mut result, &format!("learners/{module}/{k}"), v.clone());
            }
            put(
                &mut result,
                &format!("learners/{module}/num_module_steps_trained"),
                tally.num_module_steps_trained,
            );
            put(
                &mut result,
                "learners/__all_modules__/num_env_steps_trained",
                tally.num_env_steps_trained,
            );
            put(
                &mut result,
                "learners/__all_modules__/num_module_steps_trained_throughput",
                float(tally.num_module_steps_trained as f64 / tally.learner_seconds),
            );
        }
        put(
            &mut result,
            &format!("learners/{module}/num_module_steps_trained_lifetime"),
            self.counters.num_module_steps_trained_lifetime,
        );
        put(
            &mut result,
            "learners/__all_modules__/num_env_steps_trained_lifetime",
            self.counters.num_env_steps_trained_lifetime,
        );
        put(
            &mut result,
            "learners/__all_modules__/num_module_steps_trained_lifetime",
            self.counters.num_module_steps_trained_lifetime,
        );
        for (name, seconds) in &tally.timers {
            put(&mut result, &format!("timers/{name}"), *seconds);
        }
        for (path, value) in tally.extra {
            put(&mut result, &path, value);
        }

        // Evaluation.
        if self.should_evaluate() {
            let eval = self.run_evaluation()?;
            result.insert("evaluation".into(), Value::Object(eval));
        }

        let elapsed = start.elapsed().as_secs_f64();
        self.counters.time_total_s += elapsed;
        put(&mut result, "timers/training_iteration", elapsed);
        put(
            &mut result,
            "env_runners/num_env_steps_sampled_lifetime_throughput",
            float(tally.env_steps as f64 / elapsed),
        );
        let c = &self.counters;
        put(
            &mut result,
            "num_env_steps_sampled_lifetime",
            c.num_env_steps_sampled_lifetime,
        );
        put(
            &mut result,
            "num_env_steps_trained_lifetime",
            c.num_env_steps_trained_lifetime,
        );
        put(
            &mut result,
            "num_episodes_lifetime",
            c.num_episodes_lifetime,
        );
        put(
            &mut result,
            "num_training_step_calls_per_iteration",
            tally.calls,
        );
        put(&mut result, "training_iteration", c.training_iteration);
        put(
            &mut result,
            "iterations_since_restore",
            self.iterations_since_restore,
        );
        put(&mut result, "time_this_iter_s", elapsed);
        put(&mut result, "time_total_s", c.time_total_s);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        put(&mut result, "timestamp", now);
        put(&mut result, "done", false);

        if let Some(trial) = self.trial.as_mut() {
            trial.write(&result).map_err(|source| AlgorithmError::Io {
                context: format!("writing results into {}", trial.dir().display()),
                source,
            })?;
        }
        for logger in &mut self.loggers {
            logger
                .on_result(&result)
                .map_err(|source| AlgorithmError::Io {
                    context: "logging the result".into(),
                    source,
                })?;
        }
        // Periodic checkpoints into the run's output directory; `checkpoint_at_end` is
        // honoured by `stop()`.
        self.checkpoint_if_due()?;
        Ok(result)
    }

    /// Runs the evaluation now (building greedy evaluation runners when none were
    /// configured, as RLlib does) and returns the results that go under `evaluation/`;
    /// [`Algorithm::evaluate`].
    fn evaluate_now(&mut self) -> Result<ResultDict, AlgorithmError> {
        if self.eval_runners.is_none() {
            self.eval_runners = Some(evaluation::runner_group(
                &self.config,
                RunnerRole::Evaluation,
                &self.logic,
            )?);
        }
        self.run_evaluation()
    }

    /// The weights the env runners act with.
    fn acting_weights(&self) -> Vec<f32> {
        self.logic.learner().get_weights()
    }
}

impl<L: AlgorithmLogic> Algorithm for Driver<L> {
    fn name(&self) -> &str {
        L::NAME
    }

    fn train(&mut self) -> Result<ResultDict, AlgorithmError> {
        self.train_iteration()
    }

    fn evaluate(&mut self) -> Result<ResultDict, AlgorithmError> {
        self.evaluate_now()
    }

    fn iteration(&self) -> usize {
        self.counters.training_iteration
    }

    fn save_to_path(&self, dir: &Path) -> Result<PathBuf, AlgorithmError> {
        Driver::save_to_path(self, dir)
    }

    fn restore_from_path(&mut self, dir: &Path) -> Result<(), AlgorithmError> {
        Driver::restore_from_path(self, dir)
    }

    fn log_to(&mut self, dir: &Path) -> Result<PathBuf, AlgorithmError> {
        Driver::log_to(self, dir)
    }

    fn stop(&mut self) -> Result<Option<PathBuf>, AlgorithmError> {
        Driver::stop(self)
    }

    fn add_logger(&mut self, logger: Box<dyn ResultLogger>) {
        self.loggers.push(logger);
    }

    fn config_json(&self) -> Value {
        serde_json::to_value(&self.config).unwrap_or_else(
            |e| serde_json::json!({ "error": format!("the config does not serialize: {e}") }),
        )
    }
}

/// The run's RNG for module initialization etc.: a convenience for
/// [`AlgorithmLogic::build`] implementations.
pub fn seeded_rng(seed: u64, stream: &str) -> crate::Rng {
    crate::Rng::seed_from_u64(crate::seeding::derive_seed(seed, &[stream]))
}
