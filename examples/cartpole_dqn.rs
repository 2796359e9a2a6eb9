//! RLlib's tuned DQN example on CartPole-v1 (`rllib/tuned_examples/dqn/cartpole_dqn.py`),
//! in Rust.
//!
//! ```sh
//! cargo run --release --example cartpole_dqn -- [--iterations N] [--seed S] [--output DIR] [--checkpoint-at-end] [--set KEY=JSON]...
//! ```
//!
//! Trains with a greedy 10-episode evaluation after every iteration (1000 env steps) until
//! an evaluation returns at least 475 or 100k env steps were sampled (or `--iterations`
//! iterations ran), printing one line per iteration; writes what `cartpole_ppo` writes into
//! the output directory: Tune's trial files (`params.json`, `result.json`, `progress.csv`),
//! a TensorBoard event file and, with `--checkpoint-at-end`, a final checkpoint. The last
//! line is a JSON summary
//! (first evaluation ≥ 475, env steps, wall time). `--set KEY=JSON` changes any config
//! field by its RLlib name, e.g. `--set n_step=3` or `--set replay_buffer_config/capacity=20000`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rl::algos::dqn::presets;
use rl::algos::Algorithm;
use rl::core::metrics::{get_path, ResultDict};

/// The return an evaluation must reach, and the env-step budget.
const TARGET_RETURN: f64 = 475.0;
const MAX_ENV_STEPS: f64 = 100_000.0;

/// The flags (`rl train`'s names; parsed by clap).
#[derive(clap::Parser)]
#[command(about = "RLlib's tuned DQN example on CartPole-v1")]
struct Args {
    /// Stop after N iterations at most (default: the 475 / 100k-step criteria only).
    #[arg(long, value_name = "N")]
    iterations: Option<usize>,
    /// Seed of every RNG of the run.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Output directory [default: runs/DQN_CartPole-v1_seed<S>_<unix seconds>].
    #[arg(long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Saves a checkpoint when the run ends.
    #[arg(long)]
    checkpoint_at_end: bool,
    /// Sets a config key by its RLlib name (JSON or a bare string). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    overrides: Vec<rl::cli::KeyValue>,
}

fn num(r: &ResultDict, path: &str) -> f64 {
    get_path(r, path)
        .and_then(|v| v.as_f64())
        .unwrap_or(f64::NAN)
}

fn print_iteration(r: &ResultDict) {
    let l = |k: &str| num(r, &format!("learners/default_policy/{k}"));
    println!(
        "iter {:>3}  steps {:>6}  train return {:>6.1}  eval {:>6.1}  qf_loss {:>8.4}  qf_mean {:>7.2}  td {:>6.3}  targets {:>3}  buffer {:>6}  {:.2} s",
        num(r, "training_iteration"),
        num(r, "num_env_steps_sampled_lifetime"),
        num(r, "env_runners/episode_return_mean"),
        num(r, "evaluation/env_runners/episode_return_mean"),
        l("qf_loss"),
        l("qf_mean"),
        l("td_error_mean"),
        l("num_target_updates"),
        num(r, "replay_buffer/num_env_steps_stored"),
        num(r, "time_this_iter_s"),
    );
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = presets::cartpole_tuned(args.seed);
    config.base.checkpoint_at_end = args.checkpoint_at_end;
    for kv in args.overrides {
        config.set(&kv.key, kv.value)?;
    }
    let mut algo = config.build()?;
    let output = args.output.unwrap_or_else(|| {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        PathBuf::from(format!("runs/DQN_CartPole-v1_seed{}_{now}", args.seed))
    });
    // Trial files and a TensorBoard event file (`tensorboard --logdir DIR`).
    let dir = rl::logger::log_to(&mut algo, &output)?;
    let start = Instant::now();
    let mut first_hit = None;
    let mut steps = 0.0;
    while steps < MAX_ENV_STEPS && args.iterations.is_none_or(|n| algo.iteration() < n) {
        let result = algo.train()?;
        print_iteration(&result);
        steps = num(&result, "num_env_steps_sampled_lifetime");
        let eval = num(&result, "evaluation/env_runners/episode_return_mean");
        if eval >= TARGET_RETURN {
            first_hit = Some(serde_json::json!({
                "iteration": algo.iteration(),
                "env_steps": steps,
                "train_s": start.elapsed().as_secs_f64(),
            }));
            break;
        }
    }
    let wall = start.elapsed().as_secs_f64();
    eprintln!("results in {}", dir.display());
    // `stop()` saves the final checkpoint when `checkpoint_at_end` is set.
    if let Some(checkpoint) = algo.stop()? {
        eprintln!("checkpoint: {}", checkpoint.display());
    }
    println!(
        "{}",
        serde_json::json!({
            "seed": args.seed,
            "first_greedy_eval_475": first_hit,
            "iterations": algo.iteration(),
            "env_steps": steps,
            "train_s": wall,
        })
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
