//! The seed's Part 2: a Ray Tune grid over `minibatch_size` for PPO on CartPole-v1.
//!
//! ```sh
//! cargo run --release --example tune_minibatch -- [--storage-path DIR] [--max-concurrent-trials N] [--seed S] [--resume] [--iterations N]
//! ```
//!
//! The user's Ray Tune script, ported: `train_batch_size=4000`, `lr=3e-4`, `gamma=0.99`,
//! `num_epochs=5`, 2 env runners, evaluation every 10 iterations for 10 episodes with
//! sampled actions (RLlib's default evaluation, as in the seed's run),
//! `minibatch_size` ∈ {128, 200, 256}, 150 iterations, a checkpoint at the end. Prints
//! the live trial table, a result box per finished trial, the `ResultGrid`, the best
//! trial by `evaluation/env_runners/episode_return_mean`, where the files are, and the
//! sweep's wall time, CPU use and each trial's `time_total_s`.
//!
//! `--resume` continues the sweep in `--storage-path` (the newest one there), however it
//! was interrupted (Ctrl-C, `kill -9`, a crash): finished trials keep their results, the
//! others restart from their latest checkpoint and end as an uninterrupted sweep would.

use std::process::ExitCode;

use rl::algos::PPOConfig;
use rl::tune::{
    grid_search, CheckpointConfig, Mode, ParamSpace, RunConfig, Stop, TuneConfig, TuneError, Tuner,
};

#[path = "common/mod.rs"]
mod common;
use common::{fit_timed, last, main_with, tuner_or_resume, SweepArgs};

const USAGE: &str = "usage: tune_minibatch [--storage-path DIR] [--max-concurrent-trials N] [--seed S] [--resume] [--iterations N]";

fn run(args: &SweepArgs) -> Result<(), TuneError> {
    let config = PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(2))
        .training(|t| {
            t.train_batch_size(4000)
                .lr(0.0003)
                .gamma(0.99)
                .num_epochs(5)
        })
        // RLlib 2.60 evaluates with sampled actions unless told otherwise, and the seed's
        // figures were measured that way; ours is greedy by default (docs/metrics.md).
        .evaluation(|e| {
            e.evaluation_interval(Some(10))
                .evaluation_duration(10)
                .evaluation_explore(true)
        });
    let space =
        ParamSpace::from_config(&config)?.set("minibatch_size", grid_search([128, 200, 256]));
    let metric = "evaluation/env_runners/episode_return_mean";
    // Each trial reserves 1 + 2 env runners = 3 logical CPUs (Ray's placement group). The
    // budget admits max_concurrent of them; they all share one pool of as many threads
    // as the machine has cores, so they never oversubscribe it.
    let tune_config = TuneConfig::new()
        .metric(metric, Mode::Max)
        .max_concurrent_trials(args.max_concurrent)
        .num_cpus(3 * args.max_concurrent)
        .seed(args.seed);
    let run_config = RunConfig::new()
        .storage_path(&args.storage_path)
        .stop(Stop::iterations(args.iterations))
        .checkpoint_config(CheckpointConfig {
            checkpoint_at_end: true,
            ..Default::default()
        });
    let tuner = tuner_or_resume(
        args,
        Tuner::new("PPO", space)
            .tune_config(tune_config)
            .run_config(run_config),
    )?;
    let (results, _) = fit_timed(tuner)?;
    println!("\n{results}\n");
    let best = results.get_best_result(Some(metric), Some(Mode::Max), "last")?;
    println!(
        "Best trial by {metric} (scope \"last\"): {} with minibatch_size={} ({metric} = {:.2}, env_runners/episode_return_mean = {:.2})",
        best.trial_name,
        best.config["minibatch_size"],
        best.metric_score(metric, Mode::Max, "last").unwrap_or(f64::NAN),
        last(best, "env_runners/episode_return_mean")
    );
    if let Some(c) = &best.checkpoint {
        println!("Its checkpoint: {}", c.path.display());
    }
    println!("Files: {}", results.experiment_path().display());
    for r in &results {
        println!(
            "  {}  {}  time_total_s {:.1}  final eval {:.2}  final train {:.2}",
            r.path.file_name().and_then(|n| n.to_str()).unwrap_or(""),
            r.status,
            last(r, "time_total_s"),
            r.metric_score(metric, Mode::Max, "last")
                .unwrap_or(f64::NAN),
            last(r, "env_runners/episode_return_mean")
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    main_with(USAGE, 3, 150, run)
}
