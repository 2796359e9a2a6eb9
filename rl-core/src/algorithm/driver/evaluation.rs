//! Building the env-runner groups and running evaluation: greedy (unless
//! `evaluation_explore`), with its own seed stream and the training runners' frozen
//! connector statistics.

use std::time::Instant;

use crate::algorithm::config::AlgoConfig;
use crate::algorithm::logic::AlgorithmLogic;
use crate::algorithm::{AlgorithmError, DurationUnit};
use crate::env::EnvSpec;
use crate::metrics::{float, EpisodeWindow, ResultDict};
use crate::runner::{EnvRunner, EnvRunnerGroup, EnvRunnerSpec};
use crate::seeding::derive_seed;

use super::step::put;
use super::Driver;

/// Which env-runner group to build.
#[derive(Clone, Copy, Debug)]
pub(super) enum RunnerRole {
    /// Samples the train batches: explores and updates connector statistics.
    Training,
    /// Runs evaluation: its own seed stream, `evaluation_explore`, frozen statistics.
    Evaluation,
}

/// The training or evaluation runners, each with a copy of the acting module.
pub(super) fn runner_group<L: AlgorithmLogic>(
    config: &L::Config,
    role: RunnerRole,
    logic: &L,
) -> Result<EnvRunnerGroup, AlgorithmError> {
    let base = config.base();
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
    let env = EnvSpec::with_config(base.env.clone(), base.env_config.clone());
    let env_to_module = base.env_to_module_pipeline();
    let module_to_env = L::module_to_env_pipeline(config);
    let module = logic.acting_module();
    let runners = (0..num_runners.max(1))
        .map(|index| {
            EnvRunner::new(
                EnvRunnerSpec {
                    env: env.clone(),
                    num_envs: base.num_envs_per_env_runner,
                    index,
                    seed,
                    explore,
                    update_connector_stats: update_stats,
                },
                module.clone_module(),
                env_to_module.clone(),
                module_to_env.clone(),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(EnvRunnerGroup::new(runners, num_runners > 0).with_fault_tolerance(fault_tolerance))
}

/// `episode_return_{mean,min,max}` and `episode_len_{mean,min,max}` under `prefix`.
pub(super) fn episode_keys(r: &mut ResultDict, prefix: &str, w: &EpisodeWindow) {
    put(
        r,
        &format!("{prefix}/episode_return_mean"),
        float(w.return_mean()),
    );
    put(
        r,
        &format!("{prefix}/episode_return_min"),
        float(w.return_min()),
    );
    put(
        r,
        &format!("{prefix}/episode_return_max"),
        float(w.return_max()),
    );
    put(
        r,
        &format!("{prefix}/episode_len_mean"),
        float(w.len_mean()),
    );
    put(r, &format!("{prefix}/episode_len_min"), float(w.len_min()));
    put(r, &format!("{prefix}/episode_len_max"), float(w.len_max()));
}

impl<L: AlgorithmLogic> Driver<L> {
    /// Runs one evaluation with the current weights and returns the results that go under
    /// `evaluation/` (`env_runners/episode_return_mean`, …).
    pub(super) fn run_evaluation(&mut self) -> Result<ResultDict, AlgorithmError> {
        let start = Instant::now();
        let weights = self.acting_weights();
        let Some(eval) = self.eval_runners.as_mut() else {
            return Ok(ResultDict::new());
        };
        eval.sync_weights(&weights)?;
        eval.set_global_env_steps(self.counters.num_env_steps_sampled_lifetime);
        eval.set_connector_states(&self.connector_states)?;
        let base = self.config.base();
        let duration = base.evaluation_duration;
        let out = match base.evaluation_duration_unit {
            DurationUnit::Episodes => eval.sample_episodes(duration)?,
            DurationUnit::Timesteps => eval.sample_timesteps(duration)?,
        };
        self.counters.num_evaluation_episodes_lifetime += out.finished.len() as u64;
        self.counters.num_evaluation_env_steps_lifetime += out.env_steps as u64;
        let mut window = EpisodeWindow::new(out.finished.len().max(1));
        window.extend(out.finished.iter().copied());
        let mut r = ResultDict::new();
        episode_keys(&mut r, "env_runners", &window);
        put(&mut r, "env_runners/num_episodes", out.finished.len());
        put(&mut r, "env_runners/num_env_steps_sampled", out.env_steps);
        put(
            &mut r,
            "env_runners/num_episodes_lifetime",
            self.counters.num_evaluation_episodes_lifetime,
        );
        put(
            &mut r,
            "env_runners/num_env_steps_sampled_lifetime",
            self.counters.num_evaluation_env_steps_lifetime,
        );
        put(
            &mut r,
            "timers/evaluation_iteration",
            start.elapsed().as_secs_f64(),
        );
        Ok(r)
    }
}
