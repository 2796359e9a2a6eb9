//! Population Based Training over `lr` for PPO on CartPole-v1.
//!
//! ```sh
//! cargo run --release --example tune_pbt -- [--storage-path DIR] [--max-concurrent-trials N] [--seed S] [--resume] [--iterations N]
//! ```
//!
//! Eight trials start from `lr` drawn log-uniformly in [1e-5, 1e-2] (`num_samples=8`) at
//! `train_batch_size=2000`. Every 5 iterations the population meets: the best quarter
//! saves a checkpoint, the worst quarter continues from one of theirs with `lr`
//! perturbed (×0.8 or ×1.2, or resampled with probability 0.25, kept inside
//! [1e-5, 1e-2]). Prints the table, the exploits (`pbt_global.txt`), the best trial's
//! `lr` schedule and the final returns.

use std::process::ExitCode;

use rl::algos::PPOConfig;
use rl::tune::{
    loguniform, Mode, ParamSpace, PopulationBasedTraining, RunConfig, Stop, TuneConfig, TuneError,
    Tuner,
};

#[path = "common/mod.rs"]
mod common;
use common::{fit_timed, last, main_with, tuner_or_resume, SweepArgs};

const USAGE: &str = "usage: tune_pbt [--storage-path DIR] [--max-concurrent-trials N] [--seed S] [--resume] [--iterations N]";

fn run(args: &SweepArgs) -> Result<(), TuneError> {
    let config = PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(2))
        .training(|t| {
            t.train_batch_size(2000)
                .gamma(0.99)
                .minibatch_size(128)
                .num_epochs(5)
        });
    let space = ParamSpace::from_config(&config)?.set("lr", loguniform(1e-5, 1e-2));
    let metric = "env_runners/episode_return_mean";
    let pbt = PopulationBasedTraining::new()
        .perturbation_interval(5.0)
        .mutate("lr", loguniform(1e-5, 1e-2));
    let tuner = Tuner::new("PPO", space)
        .tune_config(
            TuneConfig::new()
                .metric(metric, Mode::Max)
                .scheduler(pbt)
                .num_samples(8)
                .max_concurrent_trials(args.max_concurrent)
                .num_cpus(3 * args.max_concurrent)
                .seed(args.seed),
        )
        .run_config(
            RunConfig::new()
                .storage_path(&args.storage_path)
                .stop(Stop::iterations(args.iterations)),
        );
    let (results, _) = fit_timed(tuner_or_resume(args, tuner)?)?;
    let global = std::fs::read_to_string(results.experiment_path().join("pbt_global.txt"))
        .unwrap_or_default();
    println!("{} exploits (pbt_global.txt: [trial, cloned trial, iteration, its iteration, old config, new config])", global.lines().count());
    let best = results.get_best_result(Some(metric), Some(Mode::Max), "last")?;
    let lrs: Vec<String> = best
        .results
        .iter()
        .map(|r| {
            format!(
                "{:.2e}",
                r["learners"]["default_policy"]["default_optimizer_learning_rate"]
                    .as_f64()
                    .unwrap_or(f64::NAN)
            )
        })
        .collect();
    let mut schedule: Vec<(usize, String)> = Vec::new();
    for (i, lr) in lrs.iter().enumerate() {
        if schedule.last().is_none_or(|(_, l)| l != lr) {
            schedule.push((i + 1, lr.clone()));
        }
    }
    println!(
        "Best trial: {} ({metric} = {:.2}); its lr from iteration: {schedule:?}",
        best.trial_name,
        last(best, metric)
    );
    let finals: Vec<String> = results
        .iter()
        .map(|r| format!("{:.1}", last(r, metric)))
        .collect();
    println!("Final {metric} of the population: {}", finals.join(", "));
    println!("Files: {}", results.experiment_path().display());
    Ok(())
}

fn main() -> ExitCode {
    main_with(USAGE, 4, 40, run)
}
