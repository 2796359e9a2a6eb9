//! ASHA over `lr` × `minibatch_size` (16 trials) for PPO on CartPole-v1.
//!
//! ```sh
//! cargo run --release --example tune_asha -- [--storage-path DIR] [--max-concurrent-trials N] [--seed S] [--resume] [--iterations MAX_T]
//! ```
//!
//! A 4 × 4 grid (`lr` ∈ {1e-4, 3e-4, 1e-3, 3e-3}, `minibatch_size` ∈ {64, 128, 256, 512})
//! at `train_batch_size=2000`, scheduled by `AsyncHyperBandScheduler` (`max_t=40`,
//! `grace_period=5`, `reduction_factor=2`) on `env_runners/episode_return_mean`: rungs at
//! iterations 5, 10, 20 and 40, where a trial below the rung's median stops. Prints the
//! table, how many trials stopped at each rung, the best trial and the sweep's cost next
//! to training all 16 to `max_t`.

use std::process::ExitCode;

use rl::algos::PPOConfig;
use rl::tune::{
    grid_search, AsyncHyperBandScheduler, Mode, ParamSpace, RunConfig, TuneConfig, TuneError, Tuner,
};

#[path = "common/mod.rs"]
mod common;
use common::{fit_timed, last, main_with, tuner_or_resume, SweepArgs};

const USAGE: &str = "usage: tune_asha [--storage-path DIR] [--max-concurrent-trials N] [--seed S] [--resume] [--iterations MAX_T]";

fn run(args: &SweepArgs) -> Result<(), TuneError> {
    let config = PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(2))
        .training(|t| t.train_batch_size(2000).gamma(0.99).num_epochs(5));
    let space = ParamSpace::from_config(&config)?
        .set("lr", grid_search([1e-4, 3e-4, 1e-3, 3e-3]))
        .set("minibatch_size", grid_search([64, 128, 256, 512]));
    let metric = "env_runners/episode_return_mean";
    let max_t = args.iterations as f64;
    let asha = AsyncHyperBandScheduler::new()
        .max_t(max_t)
        .grace_period(5.0)
        .reduction_factor(2.0);
    let tuner = Tuner::new("PPO", space)
        .tune_config(
            TuneConfig::new()
                .metric(metric, Mode::Max)
                .scheduler(asha)
                .max_concurrent_trials(args.max_concurrent)
                .num_cpus(3 * args.max_concurrent)
                .seed(args.seed),
        )
        .run_config(RunConfig::new().storage_path(&args.storage_path));
    let (results, _) = fit_timed(tuner_or_resume(args, tuner)?)?;
    let mut stopped_at = std::collections::BTreeMap::new();
    for r in &results {
        *stopped_at.entry(r.results.len()).or_insert(0) += 1;
    }
    let trained: usize = results.iter().map(|r| r.results.len()).sum();
    println!(
        "Trials by iterations trained: {stopped_at:?}; {trained} iterations in all, {:.0}% of training all {} trials to max_t = {max_t}",
        100.0 * trained as f64 / (results.len() as f64 * max_t),
        results.len()
    );
    for scope in ["last", "all"] {
        let best = results.get_best_result(Some(metric), Some(Mode::Max), scope)?;
        println!(
            "Best trial by {metric} (scope {scope:?}): {} with lr={}, minibatch_size={}: {:.2} after {} iterations",
            best.trial_name,
            best.config["lr"],
            best.config["minibatch_size"],
            best.metric_score(metric, Mode::Max, scope).unwrap_or(f64::NAN),
            last(best, "training_iteration")
        );
    }
    println!("Files: {}", results.experiment_path().display());
    Ok(())
}

fn main() -> ExitCode {
    main_with(USAGE, 4, 40, run)
}
