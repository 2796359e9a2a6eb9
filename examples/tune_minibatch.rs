//! The seed's Part 2: a Ray Tune grid over `minibatch_size` for PPO on CartPole-v1.
//!
//! ```sh
//! cargo run --release --example tune_minibatch -- [--storage-path DIR] [--max-concurrent-trials N] [--seed S] [--resume] [--iterations N]
//! ```
//!
//! The user's Ray Tune script, ported: `train_batch_size=4000`, `lr=3e-4`, `gamma=0.99`,
//! `num_epochs=5`, 2 env runners, evaluation every 10 iterations for 10 episodes,
//! `minibatch_size` ∈ {128, 200, 256}, 150 iterations, a checkpoint at the end. Prints
//! the live trial table, a result box per finished trial, the `ResultGrid`, the best
//! trial by `evaluation/env_runners/episode_return_mean`, where the files are, and the
//! sweep's wall time, CPU use and each trial's `time_total_s`.
//!
//! `--resume` continues the sweep in `--storage-path` (the newest one there), however it
//! was interrupted (Ctrl-C, `kill -9`, a crash): finished trials keep their results, the
//! others restart from their latest checkpoint and end as an uninterrupted sweep would.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use rl::algos::PPOConfig;
use rl::tune::{
    grid_search, CheckpointConfig, Mode, ParamSpace, RunConfig, Stop, TuneConfig, TuneError, Tuner,
};

struct Args {
    storage_path: PathBuf,
    max_concurrent: usize,
    seed: u64,
    resume: bool,
    iterations: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        storage_path: RunConfig::default_storage_path(),
        max_concurrent: 3,
        seed: 0,
        resume: false,
        iterations: 150,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match flag.as_str() {
            "--storage-path" => args.storage_path = PathBuf::from(value("--storage-path")?),
            "--max-concurrent-trials" => {
                args.max_concurrent = value("--max-concurrent-trials")?
                    .parse()
                    .map_err(|e| format!("--max-concurrent-trials: {e}"))?
            }
            "--seed" => args.seed = value("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--iterations" => {
                args.iterations = value("--iterations")?
                    .parse()
                    .map_err(|e| format!("--iterations: {e}"))?
            }
            "--resume" => args.resume = true,
            "-h" | "--help" => {
                return Err("usage: tune_minibatch [--storage-path DIR] [--max-concurrent-trials N] [--seed S] [--resume] [--iterations N]".into())
            }
            other => return Err(format!("unknown argument `{other}`; try --help")),
        }
    }
    if args.max_concurrent == 0 {
        return Err("--max-concurrent-trials must be at least 1".into());
    }
    Ok(args)
}

/// CPU seconds this process used (user + system), from /proc/self/stat.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The newest sweep directory under `storage` (or `storage` itself).
fn newest_sweep(storage: &Path) -> Option<PathBuf> {
    if Tuner::can_restore(storage) {
        return Some(storage.to_path_buf());
    }
    let mut dirs: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(storage)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| Tuner::can_restore(p))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, p)| p)
}

fn run(args: &Args) -> Result<(), TuneError> {
    let config = PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(2))
        .training(|t| {
            t.train_batch_size(4000)
                .lr(0.0003)
                .gamma(0.99)
                .num_epochs(5)
        })
        .evaluation(|e| e.evaluation_interval(Some(10)).evaluation_duration(10));
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
    let tuner = if args.resume {
        let dir = newest_sweep(&args.storage_path).ok_or_else(|| {
            TuneError::Restore(format!(
                "no sweep to resume in {}; run without --resume first",
                args.storage_path.display()
            ))
        })?;
        Tuner::restore(&dir)?
    } else {
        Tuner::new("PPO", space)
            .tune_config(tune_config)
            .run_config(run_config)
    };

    let cpu0 = cpu_seconds();
    let wall = Instant::now();
    let results = tuner.fit()?;
    let wall = wall.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu0).map(|(a, b)| a - b);

    println!("\n{results}\n");
    let best = results.get_best_result(Some(metric), Some(Mode::Max), "last")?;
    let value = |r: &rl::tune::TuneResult, key: &str| {
        r.metrics
            .as_ref()
            .and_then(|m| rl::core::metrics::get_path(m, key))
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(f64::NAN)
    };
    println!(
        "Best trial by {metric} (last): {} with minibatch_size={} ({metric} = {:.2}, env_runners/episode_return_mean = {:.2})",
        best.trial_name,
        best.config["minibatch_size"],
        value(best, metric),
        value(best, "env_runners/episode_return_mean")
    );
    if let Some(c) = &best.checkpoint {
        println!("Its checkpoint: {}", c.path.display());
    }
    println!("Files: {}", results.experiment_path().display());
    for r in &results {
        println!(
            "  {}  {:?}  time_total_s {:.1}  final eval {:.2}  final train {:.2}",
            r.path.file_name().and_then(|n| n.to_str()).unwrap_or(""),
            r.status,
            value(r, "time_total_s"),
            value(r, metric),
            value(r, "env_runners/episode_return_mean")
        );
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match cpu {
        Some(cpu) => println!(
            "Sweep: {wall:.1} s wall, {cpu:.1} CPU s = {:.0}% CPU on {cores} cores",
            100.0 * cpu / wall
        ),
        None => println!("Sweep: {wall:.1} s wall on {cores} cores"),
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
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
