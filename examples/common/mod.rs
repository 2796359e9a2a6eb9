//! Helpers shared by the sweep examples (included with `#[path]`; not an example).
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Instant;

use rl::tune::{ResultGrid, Tuner};

/// The flags every sweep example takes.
pub struct SweepArgs {
    /// `--storage-path DIR`.
    pub storage_path: PathBuf,
    /// `--max-concurrent-trials N`.
    pub max_concurrent: usize,
    /// `--seed S`.
    pub seed: u64,
    /// `--resume`.
    pub resume: bool,
    /// `--iterations N`.
    pub iterations: usize,
}

/// The flags as clap reads them; defaults that differ per example are filled in after.
#[derive(clap::Parser)]
struct Flags {
    /// The directory holding sweeps [default: ~/rl_results].
    #[arg(long, value_name = "DIR")]
    storage_path: Option<PathBuf>,
    /// At most N trials at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_concurrent_trials: Option<u64>,
    /// The sweep's seed.
    #[arg(long, default_value_t = 0, value_name = "S")]
    seed: u64,
    /// Continues the newest sweep in the storage path.
    #[arg(long)]
    resume: bool,
    /// Iterations per trial.
    #[arg(long, value_name = "N")]
    iterations: Option<usize>,
}

/// An example's `main`: parses the flags (defaults given; clap prints `--help` and usage
/// errors, exit code 2), runs, reports an error on one line (exit code 1).
pub fn main_with(
    usage: &str,
    max_concurrent: usize,
    iterations: usize,
    run: fn(&SweepArgs) -> Result<(), rl::tune::TuneError>,
) -> std::process::ExitCode {
    let args = parse_args(usage, max_concurrent, iterations).unwrap_or_else(|e| e.exit());
    rl::cli::exit_with(run(&args).map_err(|e| rl::cli::CliError::Run(e.to_string())))
}

/// Parses the flags; `usage` heads `--help`.
pub fn parse_args(
    usage: &str,
    max_concurrent: usize,
    iterations: usize,
) -> Result<SweepArgs, clap::Error> {
    use clap::{CommandFactory, FromArgMatches};
    let matches = Flags::command()
        .about(usage.to_string())
        .try_get_matches()?;
    let f = Flags::from_arg_matches(&matches)?;
    Ok(SweepArgs {
        storage_path: f
            .storage_path
            .unwrap_or_else(rl::tune::RunConfig::default_storage_path),
        max_concurrent: f
            .max_concurrent_trials
            .map_or(max_concurrent, |n| n as usize),
        seed: f.seed,
        resume: f.resume,
        iterations: f.iterations.unwrap_or(iterations),
    })
}

/// CPU seconds this process used (user + system), from /proc/self/stat.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The newest sweep directory under `storage` (or `storage` itself): `rl tune --resume`'s.
pub use rl::cli::commands::tune::newest_sweep;

/// `tuner`, or with `--resume` the newest sweep in the storage path.
pub fn tuner_or_resume(args: &SweepArgs, tuner: Tuner) -> Result<Tuner, rl::tune::TuneError> {
    if !args.resume {
        return Ok(tuner);
    }
    let dir = newest_sweep(&args.storage_path).ok_or_else(|| {
        rl::tune::TuneError::Restore(format!(
            "no sweep to resume in {}; run without --resume first",
            args.storage_path.display()
        ))
    })?;
    Tuner::restore(&dir)
}

/// Runs the sweep and prints its wall time and CPU use.
pub fn fit_timed(tuner: Tuner) -> Result<(ResultGrid, f64), rl::tune::TuneError> {
    let cpu0 = cpu_seconds();
    let watch = ThreadWatch::start();
    let start = Instant::now();
    let results = tuner.fit()?;
    let wall = start.elapsed().as_secs_f64();
    watch.report();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    match cpu_seconds().zip(cpu0).map(|(a, b)| a - b) {
        Some(cpu) => println!(
            "Sweep: {wall:.1} s wall, {cpu:.1} CPU s = {:.0}% CPU on {cores} cores",
            100.0 * cpu / wall
        ),
        None => println!("Sweep: {wall:.1} s wall on {cores} cores"),
    }
    Ok((results, wall))
}

/// A number from a trial's last result (NaN when absent).
pub fn last(r: &rl::tune::TuneResult, key: &str) -> f64 {
    r.metrics
        .as_ref()
        .and_then(|m| rl::core::metrics::get_path(m, key))
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(f64::NAN)
}

/// Watches this process's `tune-*` worker threads through `/proc/self/task/*/schedstat`
/// (time on a CPU, time waiting for one) while a sweep runs. On a loaded machine the
/// wall time says little; `(on CPU + waiting) / lifetime` says how busy the threads
/// would keep the cores of a quiet one.
pub struct ThreadWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<Vec<(f64, f64, f64)>>>,
}

fn read_tune_threads() -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let p = t.path();
        let name = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if !name.starts_with("tune-") {
            continue;
        }
        let s = std::fs::read_to_string(p.join("schedstat")).unwrap_or_default();
        let v: Vec<f64> = s
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if v.len() >= 2 {
            out.push((
                t.file_name().to_string_lossy().into_owned(),
                v[0] / 1e9,
                v[1] / 1e9,
            ));
        }
    }
    out
}

impl ThreadWatch {
    /// Starts watching (samples every 50 ms).
    pub fn start() -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            // tid → (first seen, last seen, on cpu, waiting)
            let mut seen: std::collections::BTreeMap<String, (f64, f64, f64, f64)> =
                Default::default();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let now = t0.elapsed().as_secs_f64();
                for (tid, cpu, wait) in read_tune_threads() {
                    let e = seen.entry(tid).or_insert((now, now, cpu, wait));
                    e.1 = now;
                    e.2 = cpu;
                    e.3 = wait;
                }
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            seen.values()
                .map(|&(a, b, cpu, wait)| (b - a, cpu, wait))
                .collect()
        });
        ThreadWatch {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops and prints what the worker threads did.
    pub fn report(mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let Some(v) = self.handle.take().and_then(|h| h.join().ok()) else {
            return;
        };
        let life: f64 = v.iter().map(|x| x.0).sum();
        let cpu: f64 = v.iter().map(|x| x.1).sum();
        let wait: f64 = v.iter().map(|x| x.2).sum();
        if life > 0.0 {
            println!(
                "Worker threads ({}): on a CPU {:.0}% of their lifetime, waiting for one {:.0}% (other processes' load), busy in all {:.0}%",
                v.len(),
                100.0 * cpu / life,
                100.0 * wait / life,
                100.0 * (cpu + wait) / life
            );
        }
    }
}
