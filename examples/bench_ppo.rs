//! PPO speed, printed as one JSON object:
//! - the seed's config (CartPole-v1, 2 env runners, batch 500, minibatch 128, 5 epochs,
//!   evaluation every 10 iterations × 10 episodes): seconds per iteration, with and without
//!   evaluation iterations, over `--iterations` (default 100);
//! - the fast preset: seconds until the first greedy evaluation returns ≥ 475, per seed;
//! - the ratios to RLlib 2.60 on this machine kind (`../shared/anchors/ANCHORS.md`), or to a
//!   side-by-side measurement passed with `--rllib-json FILE` (the output of
//!   `../shared/anchors/bench_rllib_seed.py --iterations 100`), from which it also reads
//!   RLlib's first evaluation ≥ 475 (RLlib evaluates with sampled actions by default).
//!
//! ```sh
//! cargo run --release --example bench_ppo -- [--iterations N] [--seeds K] [--rllib-json FILE]
//! ```

use std::time::Instant;

use rl::algos::ppo::presets;
use rl::algos::Algorithm;
use rl::core::metrics::get_path;
use serde_json::{json, Value};

/// RLlib 2.60, the seed's config, this machine kind (ANCHORS.md): mean seconds per
/// iteration over three 100-iteration runs (0.70, 0.77, 0.61), non-evaluation iterations
/// (0.47 s), and seconds until the training return first reached 475 (25.7, 53.9, 24.1).
const RLLIB_S_PER_ITER: f64 = (0.70 + 0.77 + 0.61) / 3.0;
const RLLIB_S_PER_TRAIN_ITER: f64 = 0.47;
const RLLIB_S_TO_475: [f64; 3] = [25.7, 53.9, 24.1];

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut iterations = 100;
    let mut seeds = 3u64;
    let mut rllib_json = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iterations" => iterations = args.next().ok_or("--iterations N")?.parse()?,
            "--seeds" => seeds = args.next().ok_or("--seeds K")?.parse()?,
            "--rllib-json" => rllib_json = Some(args.next().ok_or("--rllib-json FILE")?),
            other => return Err(format!("unknown argument {other}").into()),
        }
    }

    // The seed's config.
    let build = Instant::now();
    let mut algo = presets::cartpole_seed_run(0).build()?;
    let build_s = build.elapsed().as_secs_f64();
    let mut train_only = Vec::new();
    let mut last_return = Value::Null;
    let start = Instant::now();
    for _ in 0..iterations {
        let t = Instant::now();
        let r = algo.train()?;
        let dt = t.elapsed().as_secs_f64();
        if get_path(&r, "evaluation").is_none() {
            train_only.push(dt);
        }
        last_return = get_path(&r, "env_runners/episode_return_mean")
            .cloned()
            .unwrap_or(Value::Null);
    }
    let total_s = start.elapsed().as_secs_f64();
    let s_per_iter = total_s / iterations as f64;
    let s_per_train_iter = median(train_only);

    // The fast preset: time to the first evaluation ≥ 475.
    let mut to_475 = Vec::new();
    for seed in 0..seeds {
        let mut algo = presets::cartpole_fast(seed).build()?;
        let t = Instant::now();
        let mut reached = Value::Null;
        for _ in 0..400 {
            let r = algo.train()?;
            let eval =
                get_path(&r, "evaluation/env_runners/episode_return_mean").and_then(Value::as_f64);
            if eval.is_some_and(|e| e >= 475.0) {
                reached = json!({
                    "seconds": t.elapsed().as_secs_f64(),
                    "iteration": algo.iteration(),
                    "env_steps": algo.counters().num_env_steps_sampled_lifetime,
                });
                break;
            }
        }
        to_475.push(reached);
    }
    let fast_s: Vec<f64> = to_475
        .iter()
        .filter_map(|v| v["seconds"].as_f64())
        .collect();
    let fast_median = (!fast_s.is_empty()).then(|| median(fast_s));

    // RLlib's seconds per iteration and, when measured side by side, the seconds (iterations
    // × seconds per iteration, start-up excluded) until its first evaluation ≥ 475.
    let (rllib_s_per_iter, rllib_source, rllib_eval_475) = match &rllib_json {
        Some(path) => {
            // Python's json writes NaN for iterations where no episode ended.
            let text = std::fs::read_to_string(path)?.replace("NaN", "null");
            let v: Value = serde_json::from_str(&text)?;
            let s = v["seconds_per_iteration"]
                .as_f64()
                .ok_or("no seconds_per_iteration")?;
            let first = v["iterations"].as_array().and_then(|its| {
                its.iter().find_map(|r| {
                    let e = r["evaluation_return_mean"].as_f64()?;
                    r["iteration"].as_f64().filter(|_| e >= 475.0)
                })
            });
            (s, "measured side by side", first.map(|it| it * s))
        }
        None => (
            RLLIB_S_PER_ITER,
            "ANCHORS.md (RLlib 2.60 on this machine kind)",
            None,
        ),
    };
    let rllib_475 = median(RLLIB_S_TO_475.to_vec());
    let out = json!({
        "seed_config": {
            "iterations": iterations,
            "build_s": build_s,
            "total_s": total_s,
            "seconds_per_iteration": s_per_iter,
            "seconds_per_non_eval_iteration_median": s_per_train_iter,
            "env_steps_per_s": algo.counters().num_env_steps_sampled_lifetime as f64 / total_s,
            "final_train_return_mean_100_episodes": last_return,
        },
        "fast_preset_first_eval_475": to_475,
        "rllib": {
            "seconds_per_iteration_source": rllib_source,
            "other_figures_source": "ANCHORS.md (RLlib 2.60 on this machine kind)",
            "seconds_per_iteration": rllib_s_per_iter,
            "seconds_per_non_eval_iteration": RLLIB_S_PER_TRAIN_ITER,
            "seconds_to_first_475_median": rllib_475,
            "seconds_to_first_eval_475_side_by_side": rllib_eval_475,
        },
        "speedup_vs_rllib": {
            "per_iteration": rllib_s_per_iter / s_per_iter,
            "per_non_eval_iteration": RLLIB_S_PER_TRAIN_ITER / s_per_train_iter,
            "time_to_475_fast_preset_vs_rllib_seed_config": fast_median.map(|f| rllib_475 / f),
            "time_to_first_eval_475_fast_preset_vs_rllib_side_by_side":
                rllib_eval_475.zip(fast_median).map(|(r, f)| r / f),
        },
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
