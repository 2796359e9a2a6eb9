//! Times checkpoint save and restore of the seed run's model (PPO on CartPole-v1, RLlib's
//! default [256, 256] network, 2 env runners, after one training iteration so Adam's
//! moments exist) and prints JSON.
//!
//! ```sh
//! cargo run --release --example bench_checkpoint -- [--repeats N]
//! ```
//!
//! RLlib on the same machine: `save_to_path` 0.03 s, `Algorithm.from_checkpoint` 5.9 s.
//! Times are the median and minimum over `N` repeats (default 20), in seconds; every save
//! fsyncs its files and directories.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use rl::algos::ppo::{presets, InferencePolicy};
use rl::algos::{Algorithm, PPO};
use serde_json::json;

fn time<T>(
    repeats: usize,
    mut f: impl FnMut() -> Result<T, Box<dyn std::error::Error>>,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let mut secs = Vec::with_capacity(repeats);
    for _ in 0..repeats {
        let t = Instant::now();
        let out = f()?;
        secs.push(t.elapsed().as_secs_f64());
        drop(out);
    }
    secs.sort_by(f64::total_cmp);
    Ok(json!({ "median_s": secs[secs.len() / 2], "min_s": secs[0] }))
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

fn run(repeats: usize) -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::temp_dir().join(format!("rl-bench-checkpoint-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let mut algo = presets::cartpole_seed_run(0).build()?;
    algo.train()?;
    let dir = root.join("checkpoint");
    algo.save_to_path(&dir)?;

    let mut n = 0;
    let save_new = time(repeats, || {
        n += 1;
        Ok(algo.save_to_path(root.join(format!("new_{n}")))?)
    })?;
    let save_replace = time(repeats, || Ok(algo.save_to_path(&dir)?))?;
    let from_checkpoint = time(repeats, || Ok(PPO::from_checkpoint(&dir)?))?;
    let mut target = presets::cartpole_seed_run(0).build()?;
    let restore = time(repeats, || Ok(target.restore_from_path(&dir)?))?;
    let policy = time(repeats, || Ok(InferencePolicy::from_checkpoint(&dir)?))?;
    let build = time(repeats, || Ok(presets::cartpole_seed_run(0).build()?))?;

    let out = json!({
        "model": "PPO CartPole-v1 fcnet_hiddens [256, 256], 2 env runners, after 1 iteration",
        "num_trainable_parameters": algo.learner().module().params().num_scalars(),
        "checkpoint_bytes": dir_bytes(&dir),
        "repeats": repeats,
        "save_to_path_new_dir": save_new,
        "save_to_path_replace": save_replace,
        "from_checkpoint": from_checkpoint,
        "restore_from_path": restore,
        "inference_policy_from_checkpoint": policy,
        "build_without_checkpoint": build,
        "rllib": { "save_to_path_s": 0.03, "from_checkpoint_s": 5.9 },
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    let _ = std::fs::remove_dir_all(&root);
    Ok(())
}

fn main() -> ExitCode {
    let mut repeats = 20;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().map(|v| v.parse::<usize>())) {
            ("--repeats", Some(Ok(n))) if n > 0 => repeats = n,
            _ => {
                eprintln!("usage: bench_checkpoint [--repeats N]");
                return ExitCode::from(2);
            }
        }
    }
    match run(repeats) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
