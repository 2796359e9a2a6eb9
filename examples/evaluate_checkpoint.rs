//! Loads a PPO checkpoint and reports evaluation returns.
//!
//! ```sh
//! cargo run --release --example evaluate_checkpoint -- <CHECKPOINT_DIR> [--episodes N] [--explore] [--render] [--seed S]
//! ```
//!
//! Two evaluations: the restored algorithm's own (`algo.evaluate()`, as configured in the
//! checkpoint: greedy, `evaluation_duration` episodes), then `N` episodes (default 10) of
//! the policy loaded alone (`InferencePolicy::from_checkpoint`: module and connectors
//! only), greedy unless `--explore`, in envs seeded from `S`; `--render` draws CartPole in
//! the terminal. A bad checkpoint (missing, truncated or corrupted file, newer format,
//! another algorithm) prints the error, naming the file, and exits with status 1. The
//! flags are `rl evaluate`'s (`rl::cli::EvaluateArgs`).

use std::process::ExitCode;

use clap::Parser;
use rl::algos::ppo::InferencePolicy;
use rl::algos::{Algorithm, PPO};
use rl::cli::commands::evaluate::{checkpoint_dir, evaluation_result, run_episode};
use rl::cli::{CliError, EvaluateArgs};
use rl::core::metrics::get_path;
use rl::render::CartPoleRenderer;

#[derive(Parser)]
#[command(about = "Evaluates a PPO checkpoint: its own evaluation, then its policy alone")]
struct Args {
    #[command(flatten)]
    eval: EvaluateArgs,
}

fn run(args: EvaluateArgs) -> Result<(), CliError> {
    let dir = checkpoint_dir(&args.checkpoint)?;
    let mut algo = PPO::from_checkpoint(&dir)?;
    let config = algo.config().clone();
    println!(
        "Loaded a PPO checkpoint of {} after {} iterations ({} env steps sampled) from {}",
        config.base.env,
        algo.iteration(),
        algo.counters().num_env_steps_sampled_lifetime,
        dir.display()
    );
    let eval = algo.evaluate()?;
    let num = |k: &str| {
        get_path(&eval, k)
            .and_then(|v| v.as_f64())
            .unwrap_or(f64::NAN)
    };
    println!(
        "algo.evaluate(): episode return mean {:.2} (min {}, max {}) over {} episodes",
        num("env_runners/episode_return_mean"),
        num("env_runners/episode_return_min"),
        num("env_runners/episode_return_max"),
        num("env_runners/num_episodes")
    );

    let mut policy = InferencePolicy::from_checkpoint(&dir)?;
    policy.seed(args.seed);
    rl::envs::register_builtins();
    let mut env = rl::core::env::make(&config.base.env, &config.base.env_config)
        .map_err(|e| CliError::Run(e.to_string()))?;
    let renderer = args.render.then(CartPoleRenderer::default);
    let mut episodes = Vec::with_capacity(args.episodes);
    for i in 0..args.episodes {
        let seed = (i == 0).then_some(args.seed);
        episodes.push(run_episode(
            &mut *env,
            &mut policy,
            seed,
            args.explore,
            renderer.as_ref(),
        )?);
    }
    if !episodes.is_empty() {
        let r = &evaluation_result(&episodes)["env_runners"];
        println!(
            "InferencePolicy ({}, seed {}): episode return mean {:.2} (min {}, max {}) over {} episodes",
            if args.explore { "exploring" } else { "greedy" },
            args.seed,
            r["episode_return_mean"].as_f64().unwrap_or(f64::NAN),
            r["episode_return_min"],
            r["episode_return_max"],
            r["num_episodes"]
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    rl::cli::exit_with(run(Args::parse().eval))
}
