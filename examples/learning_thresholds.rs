//! Re-measures the figures the learning tests (`rl-algos/tests/learning.rs`) state: for each
//! fast preset and seed, the first evaluation reaching the test's target within the test's
//! iteration budget, and the best evaluation seen. Prints one JSON object per run.
//!
//! ```sh
//! cargo run --release --example learning_thresholds -- [--seeds K]
//! ```

use rl::algos::ppo::presets;
use rl::algos::{Algorithm, PPOConfig};
use rl::core::metrics::get_path;
use serde_json::json;

/// The learning tests' budget.
const MAX_ITERATIONS: usize = 150;

fn measure(
    name: &str,
    seed: u64,
    config: PPOConfig,
    target: f64,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut algo = config.build()?;
    let (mut first, mut best, mut evals) = (None, f64::NEG_INFINITY, Vec::new());
    for i in 1..=MAX_ITERATIONS {
        let r = algo.train()?;
        if let Some(e) =
            get_path(&r, "evaluation/env_runners/episode_return_mean").and_then(|v| v.as_f64())
        {
            evals.push(e.round());
            best = best.max(e);
            if e >= target && first.is_none() {
                first = Some(i);
            }
        }
    }
    let line = json!({"preset": name, "seed": seed, "target": target, "first_reaching": first,
                      "best": best.round(), "evaluations": evals});
    println!("{line}");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seeds = 3u64;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seeds" => seeds = args.next().ok_or("--seeds K")?.parse()?,
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: learning_thresholds [--seeds K]"
                )
                .into())
            }
        }
    }
    for seed in 0..seeds {
        measure("cartpole_fast", seed, presets::cartpole_fast(seed), 475.0)?;
        let shared = presets::cartpole_fast(seed).rl_module(|m| m.vf_share_layers(true));
        measure("cartpole_fast, vf_share_layers", seed, shared, 475.0)?;
        measure("pendulum_fast", seed, presets::pendulum_fast(seed), -250.0)?;
    }
    Ok(())
}
