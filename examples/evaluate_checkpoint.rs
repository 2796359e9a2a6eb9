//! Loads a PPO checkpoint and reports evaluation returns.
//!
//! ```sh
//! cargo run --release --example evaluate_checkpoint -- <CHECKPOINT_DIR> [--episodes N] [--seed S]
//! ```
//!
//! Two evaluations: the restored algorithm's own (`algo.evaluate()`, as configured in the
//! checkpoint: greedy, `evaluation_duration` episodes), then `N` greedy episodes (default
//! 10) of the policy loaded alone (`InferencePolicy::from_checkpoint`: module and
//! connectors only) in envs seeded from `S`. A bad checkpoint (missing, truncated or
//! corrupted file, newer format, another algorithm) prints the error, naming the file, and
//! exits with status 1.

use std::path::PathBuf;
use std::process::ExitCode;

use rl::algos::ppo::InferencePolicy;
use rl::algos::{Algorithm, PPO};
use rl::core::env::Env;
use rl::core::metrics::get_path;

struct Args {
    dir: PathBuf,
    episodes: usize,
    seed: u64,
}

const USAGE: &str = "usage: evaluate_checkpoint <CHECKPOINT_DIR> [--episodes N] [--seed S]";

fn parse_args() -> Result<Args, String> {
    let mut dir = None;
    let (mut episodes, mut seed) = (10, 0);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--episodes" => {
                episodes = value("--episodes")?
                    .parse()
                    .map_err(|e| format!("--episodes: {e}"))?
            }
            "--seed" => {
                seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "-h" | "--help" => return Err(USAGE.into()),
            a if a.starts_with("--") => return Err(format!("unknown argument `{a}`; {USAGE}")),
            a => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.ok_or(USAGE)?;
    Ok(Args {
        dir,
        episodes,
        seed,
    })
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut algo = PPO::from_checkpoint(&args.dir)?;
    let config = algo.config().clone();
    println!(
        "Loaded a PPO checkpoint of {} after {} iterations ({} env steps sampled) from {}",
        config.base.env,
        algo.iteration(),
        algo.counters().num_env_steps_sampled_lifetime,
        args.dir.display()
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

    let mut policy = InferencePolicy::from_checkpoint(&args.dir)?;
    rl::envs::register_builtins();
    let mut env = rl::core::env::make(&config.base.env, &config.base.env_config)?;
    let mut returns = Vec::with_capacity(args.episodes);
    for episode in 0..args.episodes {
        let seed = (episode == 0).then_some(args.seed);
        let (mut obs, _) = env.reset(seed, None)?;
        let mut total = 0.0;
        loop {
            let action = policy.compute_single_action(&obs, false)?;
            let step = env.step(&action)?;
            total += step.reward;
            if step.terminated || step.truncated {
                break;
            }
            obs = step.obs;
        }
        returns.push(total);
    }
    if !returns.is_empty() {
        let mean = returns.iter().sum::<f64>() / returns.len() as f64;
        let min = returns.iter().copied().fold(f64::INFINITY, f64::min);
        let max = returns.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "InferencePolicy (greedy, seed {}): episode return mean {mean:.2} (min {min}, max {max}) over {} episodes",
            args.seed,
            returns.len()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
