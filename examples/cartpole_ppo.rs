//! The seed run: RLlib's PPO on CartPole-v1 with the user's config, in Rust.
//!
//! ```sh
//! cargo run --release --example cartpole_ppo -- [--iterations N] [--seed S] [--output DIR] [--checkpoint-at-end] [--set KEY=VALUE]...
//! ```
//!
//! Prints a block per iteration like the user's RLlib script, evaluation results every 10
//! iterations, and the output directory holding Tune's trial files
//! (`params.json`, `result.json`, `progress.csv`) and a TensorBoard events file. With
//! `--checkpoint-at-end`, the run ends with a checkpoint (`checkpoint_000000`) in that
//! directory and prints its path; load it with `cargo run --release --example
//! evaluate_checkpoint -- <path>` or `rl evaluate <path>`. `--set KEY=VALUE` changes any
//! config field by its RLlib name, e.g. `--set evaluation_explore=true` (RLlib 2.60's own
//! default: its evaluation samples actions) or `--set minibatch_size=256`.
//!
//! The flags are the `rl train` command's (`rl::cli::RunArgs`: also `--config FILE`,
//! `--stop KEY=VALUE`, `--plot`, …); without `--config` the config is the preset
//! `presets::cartpole_seed_run`, the Rust builder form of `configs/cartpole_ppo.toml`.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use rl::algos::ppo::presets;
use rl::cli::{CliError, RunArgs, RunPlan};
use rl::core::algorithm::build_algorithm;
use rl::core::metrics::{get_path, ResultDict};

#[derive(Parser)]
#[command(about = "The seed's PPO run on CartPole-v1, printed like the user's RLlib script")]
struct Args {
    /// Training iterations, when no --stop criterion is given (the seed ran 100).
    #[arg(long, default_value_t = 100, value_name = "N")]
    iterations: usize,
    #[command(flatten)]
    run: RunArgs,
}

fn num(r: &ResultDict, path: &str) -> f64 {
    get_path(r, path)
        .and_then(|v| v.as_f64())
        .unwrap_or(f64::NAN)
}

fn print_iteration(r: &ResultDict) {
    println!("=== Iteration {} ===", num(r, "training_iteration"));
    println!(
        "Episode Reward: {:.2} (min: {}, max: {})",
        num(r, "env_runners/episode_return_mean"),
        num(r, "env_runners/episode_return_min"),
        num(r, "env_runners/episode_return_max")
    );
    let l = |k: &str| num(r, &format!("learners/default_policy/{k}"));
    println!("Policy Loss: {:.4}", l("policy_loss"));
    println!("Value Loss: {:.4}", l("vf_loss"));
    println!("Total Loss: {:.4}", l("total_loss"));
    println!("Entropy: {:.4}", l("entropy"));
    println!("KL Divergence: {:.4}", l("mean_kl_loss"));
    println!("VF Explained Variance: {:.4}", l("vf_explained_var"));
    println!(
        "Total Steps Trained: {}",
        num(r, "num_env_steps_trained_lifetime")
    );
    if get_path(r, "evaluation").is_some() {
        println!(
            "Evaluation Reward: {:.2} (min: {}, max: {}) over {} episodes",
            num(r, "evaluation/env_runners/episode_return_mean"),
            num(r, "evaluation/env_runners/episode_return_min"),
            num(r, "evaluation/env_runners/episode_return_max"),
            num(r, "evaluation/env_runners/num_episodes")
        );
    }
    println!("Time: {:.3} s", num(r, "time_this_iter_s"));
    println!();
}

fn run(args: Args) -> Result<(), CliError> {
    let seed = args.run.seed.unwrap_or(0);
    let preset = serde_json::to_value(presets::cartpole_seed_run(seed))
        .map_err(|e| CliError::Run(e.to_string()))?;
    let mut plan = RunPlan::with_base(&args.run, Some(("PPO", preset)))?;
    if plan.stop.0.is_empty() {
        plan.stop
            .0
            .insert("training_iteration".into(), args.iterations as f64);
    }
    let mut algo = build_algorithm(&plan.algorithm, &plan.config).map_err(CliError::building)?;
    let output = plan.output.clone().unwrap_or_else(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        PathBuf::from(format!("runs/PPO_CartPole-v1_seed{seed}_{now}"))
    });
    // Trial files and a TensorBoard event file (`tensorboard --logdir DIR`).
    let dir = rl::logger::log_to(&mut *algo, &output)?;
    loop {
        let result = algo.train()?;
        print_iteration(&result);
        if plan.stop.should_stop(&result) {
            break;
        }
    }
    println!(
        "Trained {} iterations; results in {}",
        algo.iteration(),
        dir.display()
    );
    // `stop()` saves the final checkpoint when `checkpoint_at_end` is set.
    if let Some(checkpoint) = algo.stop()? {
        println!("Checkpoint: {}", checkpoint.display());
    }
    if plan.plot {
        let paths = rl::plot::plot_dir(&dir, &dir, &Default::default())
            .map_err(|e| CliError::Run(e.to_string()))?;
        for p in paths {
            println!("Plot: {}", p.display());
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    rl::cli::exit_with(run(Args::parse()))
}
