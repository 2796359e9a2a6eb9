//! The seed run: RLlib's PPO on CartPole-v1 with the user's config, in Rust.
//!
//! ```sh
//! cargo run --release --example cartpole_ppo -- [--iterations N] [--seed S] [--output DIR] [--checkpoint-at-end] [--set KEY=JSON]...
//! ```
//!
//! Prints a block per iteration like the user's RLlib script, evaluation results every 10
//! iterations, and the output directory holding Tune's trial files
//! (`params.json`, `result.json`, `progress.csv`). With `--checkpoint-at-end`, the run ends
//! with a checkpoint (`checkpoint_000000`) in that directory and prints its path; load it
//! with `cargo run --release --example evaluate_checkpoint -- <path>`. `--set KEY=JSON`
//! changes any config field by its RLlib name, e.g. `--set evaluation_explore=true` (RLlib
//! 2.60's own default: its evaluation samples actions) or `--set minibatch_size=256`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use rl::algos::ppo::presets;
use rl::algos::Algorithm;
use rl::core::metrics::{get_path, ResultDict};

struct Args {
    iterations: usize,
    seed: u64,
    output: Option<PathBuf>,
    checkpoint_at_end: bool,
    overrides: Vec<(String, serde_json::Value)>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        iterations: 100,
        seed: 0,
        output: None,
        checkpoint_at_end: false,
        overrides: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--iterations" => {
                args.iterations = value("--iterations")?
                    .parse()
                    .map_err(|e| format!("--iterations: {e}"))?
            }
            "--seed" => args.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--output" => args.output = Some(PathBuf::from(value("--output")?)),
            "--checkpoint-at-end" => args.checkpoint_at_end = true,
            "--set" => {
                let kv = value("--set")?;
                let (key, raw) = kv
                    .split_once('=')
                    .ok_or(format!("--set {kv}: expected KEY=JSON, e.g. minibatch_size=256"))?;
                // A bare word that is not JSON (`--set env=CartPole-v1`) is taken as a string.
                let v = serde_json::from_str(raw)
                    .unwrap_or_else(|_| serde_json::Value::String(raw.to_string()));
                args.overrides.push((key.to_string(), v));
            }
            "-h" | "--help" => {
                return Err("usage: cartpole_ppo [--iterations N] [--seed S] [--output DIR] [--checkpoint-at-end] [--set KEY=JSON]...".into())
            }
            other => return Err(format!("unknown argument `{other}`; try --help")),
        }
    }
    Ok(args)
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

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = presets::cartpole_seed_run(args.seed);
    config.base.checkpoint_at_end = args.checkpoint_at_end;
    for (key, value) in args.overrides {
        config.set(&key, value)?;
    }
    let mut algo = config.build()?;
    let output = args.output.unwrap_or_else(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        PathBuf::from(format!("runs/PPO_CartPole-v1_seed{}_{now}", args.seed))
    });
    // Trial files and a TensorBoard event file (`tensorboard --logdir DIR`).
    let dir = rl::logger::log_to(&mut algo, &output)?;
    for _ in 0..args.iterations {
        let result = algo.train()?;
        print_iteration(&result);
    }
    println!(
        "Trained {} iterations in {:.2} s; results in {}",
        algo.iteration(),
        algo.counters().time_total_s,
        dir.display()
    );
    // `stop()` saves the final checkpoint when `checkpoint_at_end` is set.
    if let Some(checkpoint) = algo.stop()? {
        println!("Checkpoint: {}", checkpoint.display());
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
