//! Soak test: the seed's PPO (CartPole-v1, 2 env runners, evaluation every 10 iterations)
//! for many env steps, with checkpoint save/restore cycles, watching the process's memory,
//! open file descriptors and threads for leaks. Prints one JSON object.
//!
//! ```sh
//! cargo run --release --example soak -- [--env-steps N] [--sample-every ITERS] \
//!     [--checkpoint-every ITERS] [--restore-every CHECKPOINTS] [--seed S]
//! ```
//!
//! Every `--checkpoint-every` iterations (default 100) a checkpoint is saved into a
//! temporary directory and the one before it deleted; every `--restore-every`-th
//! checkpoint (default 10) is restored into a freshly built algorithm, which replaces the
//! running one (so runner threads, connector pipelines and learners are dropped and
//! rebuilt along the run). RSS (`VmRSS`), open fds (`/proc/self/fd`) and threads are
//! sampled every `--sample-every` iterations (default 100) and once at the end; the
//! report gives the least-squares slope of RSS over the samples after the first 10% of
//! env steps (warm-up), in bytes per million env steps. Samples also go to stderr as JSON
//! lines while the run goes on. Off Linux, the figures are reported as unavailable.

use std::path::{Path, PathBuf};
use std::time::Instant;

use rl::algos::ppo::{presets, PPOConfig, PPO};
use rl::algos::Algorithm;
use serde_json::{json, Value};

/// What to run (the example's flags, parsed by clap).
#[derive(Clone, Debug, clap::Parser)]
#[command(about = "PPO on CartPole-v1 for many env steps, watching memory, fds and threads")]
pub struct SoakArgs {
    /// Env steps to sample in total (training; evaluation comes on top).
    #[arg(long, default_value_t = 10_000_000, value_name = "N")]
    pub env_steps: u64,
    /// Iterations between samples of RSS, fds and threads.
    #[arg(long, default_value_t = 100, value_name = "ITERS", value_parser = at_least_one())]
    pub sample_every: usize,
    /// Iterations between checkpoints.
    #[arg(long, default_value_t = 100, value_name = "ITERS", value_parser = at_least_one())]
    pub checkpoint_every: usize,
    /// Every this-many-th checkpoint is restored into a fresh algorithm.
    #[arg(long, default_value_t = 10, value_name = "CHECKPOINTS", value_parser = at_least_one())]
    pub restore_every: usize,
    /// The run's seed.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
}

/// A count of 1 or more (a cadence of 0 would never come round).
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

/// A field of `/proc/self/status` (`VmRSS:   1234 kB`, `Threads:  5`): its first number.
fn proc_status(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].split_whitespace().next()?.parse().ok()
}

/// Open file descriptors, not counting the one reading `/proc/self/fd`.
fn open_fds() -> Option<u64> {
    let n = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    Some(n.saturating_sub(1))
}

/// One sample: where the run is and what the process holds (null where unavailable).
fn sample(algo: &PPO, start: Instant) -> Value {
    json!({
        "iteration": algo.iteration(),
        "env_steps": algo.counters().num_env_steps_sampled_lifetime,
        "wall_s": start.elapsed().as_secs_f64(),
        "rss_bytes": proc_status("VmRSS:").map(|kb| kb * 1024),
        "open_fds": open_fds(),
        "threads": proc_status("Threads:"),
    })
}

/// Least-squares slope of `y` over `x`; `None` with fewer than two distinct `x`.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The summary over the samples: RSS at start, after warm-up and at the end, its slope
/// after warm-up, fd and thread ranges.
pub fn summarize(samples: &[Value], env_steps: u64) -> Value {
    let field = |s: &Value, k: &str| s[k].as_f64();
    let warm = samples
        .iter()
        .filter(|s| field(s, "env_steps").unwrap_or(0.0) >= env_steps as f64 * 0.1);
    let points: Vec<(f64, f64)> = warm
        .clone()
        .filter_map(|s| Some((field(s, "env_steps")? / 1e6, field(s, "rss_bytes")?)))
        .collect();
    let range = |k: &str| {
        let v: Vec<f64> = samples.iter().filter_map(|s| field(s, k)).collect();
        match v.is_empty() {
            true => json!("unavailable"),
            false => json!({
                "min": v.iter().copied().fold(f64::INFINITY, f64::min),
                "max": v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            }),
        }
    };
    let rss_at = |s: Option<&Value>| s.map_or(Value::Null, |s| s["rss_bytes"].clone());
    json!({
        "rss_bytes_start": rss_at(samples.first()),
        "rss_bytes_after_warmup": rss_at(warm.clone().next()),
        "rss_bytes_end": rss_at(samples.last()),
        "rss_slope_bytes_per_million_env_steps": match slope(&points) {
            Some(s) => json!(s),
            None => json!("unavailable"),
        },
        "rss_samples_in_slope": points.len(),
        "open_fds": range("open_fds"),
        "threads": range("threads"),
    })
}

/// Saves a checkpoint (deleting the one before), and on every `restore_every`-th restores
/// it into a freshly built algorithm that replaces `algo`.
struct CheckpointCycle {
    dir: PathBuf,
    saved: usize,
    restored: usize,
    previous: Option<PathBuf>,
}

impl CheckpointCycle {
    fn step(
        &mut self,
        algo: &mut PPO,
        config: &PPOConfig,
        restore_every: usize,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let path = self.dir.join(format!("checkpoint_{:06}", self.saved));
        algo.save_to_path(&path)?;
        self.saved += 1;
        if let Some(old) = self.previous.replace(path.clone()) {
            std::fs::remove_dir_all(old)?;
        }
        if self.saved.is_multiple_of(restore_every) {
            let mut fresh = config.build()?;
            fresh.restore_from_path(&path)?;
            *algo = fresh;
            self.restored += 1;
        }
        Ok(())
    }
}

/// Runs the soak and returns its report (args, summary, samples).
pub fn run(args: &SoakArgs) -> Result<Value, Box<dyn std::error::Error>> {
    let config = presets::cartpole_seed_run(args.seed);
    let mut algo = config.build()?;
    let dir = std::env::temp_dir().join(format!("rl-soak-{}", std::process::id()));
    let mut cycle = CheckpointCycle {
        dir: dir.clone(),
        saved: 0,
        restored: 0,
        previous: None,
    };
    let start = Instant::now();
    let mut samples = vec![sample(&algo, start)];
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        while algo.counters().num_env_steps_sampled_lifetime < args.env_steps {
            algo.train()?;
            let it = algo.iteration();
            if it.is_multiple_of(args.checkpoint_every) {
                cycle.step(&mut algo, &config, args.restore_every)?;
            }
            if it.is_multiple_of(args.sample_every) {
                samples.push(sample(&algo, start));
                eprintln!("{}", samples.last().map_or(Value::Null, Value::clone));
            }
        }
        Ok(())
    })();
    // The temporary checkpoints go whether the run succeeded or not.
    let cleanup = remove_if_present(&dir);
    result?;
    cleanup?;
    if !algo.iteration().is_multiple_of(args.sample_every) {
        samples.push(sample(&algo, start));
    }
    Ok(json!({
        "config": "rl_algos::ppo::presets::cartpole_seed_run",
        "env_steps_target": args.env_steps,
        "env_steps": algo.counters().num_env_steps_sampled_lifetime,
        "iterations": algo.iteration(),
        "wall_s": start.elapsed().as_secs_f64(),
        "checkpoints_saved": cycle.saved,
        "checkpoints_restored": cycle.restored,
        "summary": summarize(&samples, args.env_steps),
        "samples": samples,
    }))
}

fn remove_if_present(dir: &Path) -> std::io::Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn main() -> std::process::ExitCode {
    match run(&<SoakArgs as clap::Parser>::parse()) {
        Ok(report) => {
            println!("{report:#}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
