//! `rl tune --config FILE`: a Ray Tune sweep from a sweep file (`configs/tune_minibatch.toml`),
//! with Tune's trial table and result boxes (plain text), a progress bar over the trials on
//! a terminal, `--json` result lines, `--quiet`; `--resume` continues an interrupted sweep.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use indicatif::ProgressBar;
use rl_core::algorithm::build_algorithm;
use serde_json::Value;

use crate::cli::args::OutputArgs;
use crate::cli::experiment::{merge, StopCriteria};
use crate::cli::progress::{new_bar, Mode, BAR_TEMPLATE};
use crate::cli::sweep::SweepPlan;
use crate::cli::CliError;
use crate::tune::report::format::date_str;
use crate::tune::report::{trial_table, TableSpec};
use crate::tune::{
    CheckpointConfig, ExperimentState, FailureConfig, ParamSpace, ProgressConfig, ResultGrid,
    RunConfig, Stop, TrialStatus, TuneConfig, Tuner,
};

/// Bar positions per trial.
const PER_TRIAL: u64 = 1000;

/// `rl tune`'s flags.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct TuneArgs {
    /// The sweep file.
    #[arg(
        long,
        short = 'c',
        value_name = "FILE",
        help = "Sweep file, TOML or JSON: algorithm, [param_space], [tune_config], [run_config] (configs/tune_minibatch.toml)"
    )]
    pub config: PathBuf,
    /// Continues the sweep instead of starting one: run_config.name's, or the newest in
    /// the storage path. Finished trials keep their results; the others restart from
    /// their latest checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// At most N trials at once (overrides tune_config.max_concurrent_trials).
    #[arg(long, value_name = "N")]
    pub max_concurrent_trials: Option<usize>,
    /// Writes the sweep's learning curves (PNG and SVG) into its directory at the end.
    #[arg(long)]
    pub plot: bool,
    /// What to print.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// The newest sweep directory under `storage` (or `storage` itself).
pub fn newest_sweep(storage: &Path) -> Option<PathBuf> {
    if Tuner::can_restore(storage) {
        return Some(storage.to_path_buf());
    }
    let mut dirs: Vec<(SystemTime, PathBuf)> = std::fs::read_dir(storage)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .filter(|p| Tuner::can_restore(p))
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, p)| p)
}

/// Runs `rl tune`.
pub fn run(args: TuneArgs) -> Result<(), CliError> {
    rl_algos::register_builtins();
    let mut plan = SweepPlan::read(&args.config)?;
    if let Some(n) = args.max_concurrent_trials {
        if n == 0 {
            return Err(CliError::Usage(
                "--max-concurrent-trials must be at least 1".into(),
            ));
        }
        plan.tune.max_concurrent_trials = Some(n);
    }
    let storage = plan
        .run
        .storage_path
        .clone()
        .unwrap_or_else(RunConfig::default_storage_path);
    let dir = if args.resume {
        let dir = match &plan.run.name {
            Some(name) => storage.join(name),
            None => newest_sweep(&storage).ok_or_else(|| {
                CliError::Usage(format!(
                    "no sweep to resume in {}; run without --resume first",
                    storage.display()
                ))
            })?,
        };
        if !Tuner::can_restore(&dir) {
            return Err(CliError::Usage(format!(
                "{} holds no sweep to resume",
                dir.display()
            )));
        }
        dir
    } else {
        check_first_trial(&plan)?;
        let name = plan.run.name.get_or_insert_with(|| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            format!("{}_{}", plan.algorithm, date_str(now))
        });
        storage.join(name.as_str())
    };
    if !args.resume && Tuner::can_restore(&dir) {
        return Err(CliError::Usage(format!(
            "{} already holds a sweep: continue it with `rl tune --config {} --resume` (or `rl resume {}`), or set another run_config.name",
            dir.display(),
            args.config.display(),
            dir.display()
        )));
    }
    let mode = Mode::from_flags(args.output);
    if mode != Mode::Plain {
        // The bar, the JSON lines and --quiet replace Tune's own console output.
        plan.run.verbose = 0;
    }
    let view = SweepView::new(mode, &plan, &dir);
    let tuner = if args.resume {
        Tuner::restore(&dir)
            .map_err(|e| CliError::Run(e.to_string()))?
            .tune_config(plan.tune)
            .run_config(plan.run)
    } else {
        Tuner::new(&plan.algorithm, plan.space)
            .tune_config(plan.tune)
            .run_config(plan.run)
    };
    fit_and_show(tuner, view, args.plot)
}

/// Continues the sweep in `dir` with its saved settings (`rl resume EXPERIMENT_DIR`).
pub fn resume_sweep(dir: &Path, output: OutputArgs) -> Result<(), CliError> {
    rl_algos::register_builtins();
    let (state, _) = ExperimentState::load_newest(dir).map_err(|e| CliError::Run(e.to_string()))?;
    let mode = Mode::from_flags(output);
    let mut run = saved_run_config(&state.run_config)?;
    if mode != Mode::Plain {
        run.verbose = 0;
    }
    let stop = StopCriteria::from_json(&state.run_config["stop"], &dir.display().to_string())
        .unwrap_or_default();
    let params = ParamSpace::from_value(state.param_space.clone())
        .map(|s| s.domains().keys().cloned().collect())
        .unwrap_or_default();
    let tune = TuneConfig {
        metric: state.tune_config["metric"].as_str().map(String::from),
        mode: serde_json::from_value(state.tune_config["mode"].clone()).ok(),
        ..TuneConfig::default()
    };
    let view = SweepView::with(mode, dir, stop, params, &tune, &run);
    let tuner = Tuner::restore(dir)
        .map_err(|e| CliError::Run(e.to_string()))?
        .run_config(run);
    fit_and_show(tuner, view, false)
}

/// The sweep's saved `RunConfig` (its experiment state's `run_config`).
fn saved_run_config(v: &Value) -> Result<RunConfig, CliError> {
    let stop = Stop::from_json(&v["stop"]).ok_or_else(|| {
        CliError::Usage(
            "the sweep stopped trials with a function or a Stopper, which a file cannot hold: resume it from Rust with Tuner::restore(path)?.run_config(…)".into(),
        )
    })?;
    fn parse<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }
    let mut run = RunConfig::new().stop(stop);
    run.name = v["name"].as_str().map(String::from);
    run.storage_path = v["storage_path"].as_str().map(PathBuf::from);
    run.checkpoint_config = parse::<CheckpointConfig>(&v["checkpoint_config"]);
    run.failure_config = parse::<FailureConfig>(&v["failure_config"]);
    run.verbose = v["verbose"].as_u64().unwrap_or(1).min(2) as u8;
    run.progress = parse::<ProgressConfig>(&v["progress"]);
    Ok(run)
}

/// Runs the sweep with its view; then the best trial, the files and (with `plot`) the plots.
fn fit_and_show(tuner: Tuner, view: SweepView, plot: bool) -> Result<(), CliError> {
    let dir = view.dir.clone();
    let watcher = view.watch();
    let fitted = tuner.fit();
    let view = watcher.stop();
    let results = fitted.map_err(|e| CliError::Run(e.to_string()))?;
    view.finish(&results);
    if plot {
        let paths = crate::plot::plot_dir(&dir, &dir, &crate::plot::PlotOptions::default())
            .map_err(|e| CliError::Run(format!("plotting: {e}")))?;
        for p in paths {
            view.message(&format!("Plot: {}", p.display()));
        }
    }
    if results.num_errors() > 0 {
        return Err(CliError::Run(format!(
            "{} of {} trials errored; see error.txt in their directories under {}",
            results.num_errors(),
            results.len(),
            dir.display()
        )));
    }
    Ok(())
}

/// Builds the first trial's algorithm before the sweep starts, so that an unknown key or a
/// bad value is a usage error now rather than every trial's error later.
fn check_first_trial(plan: &SweepPlan) -> Result<(), CliError> {
    let mut config = rl_core::algorithm::default_config(&plan.algorithm).map_err(|_| {
        CliError::Usage(format!(
            "no algorithm registered as `{}`; registered: {}",
            plan.algorithm,
            rl_core::algorithm::registered_algorithms().join(", ")
        ))
    })?;
    merge(&mut config, plan.space.variant(0, plan.tune.seed).config);
    build_algorithm(&plan.algorithm, &config)
        .map(drop)
        .map_err(CliError::building)
}

/// What `rl tune` shows while the sweep runs, read from the experiment state Tune rewrites
/// after every decision and the trials' `result.json`.
struct SweepView {
    mode: Mode,
    dir: PathBuf,
    stop: StopCriteria,
    params: Vec<String>,
    metric: Option<String>,
    tune_mode: Option<crate::tune::Mode>,
    report_every: Duration,
    max_width: Option<usize>,
    bar: Option<ProgressBar>,
    /// Result lines already printed, per trial directory (`--json`).
    emitted: BTreeMap<String, usize>,
    last_table: Option<(Instant, String)>,
}

impl SweepView {
    fn new(mode: Mode, plan: &SweepPlan, dir: &Path) -> Self {
        let params = plan.space.domains().keys().cloned().collect();
        Self::with(mode, dir, plan.stop.clone(), params, &plan.tune, &plan.run)
    }

    fn with(
        mode: Mode,
        dir: &Path,
        stop: StopCriteria,
        params: Vec<String>,
        tune: &TuneConfig,
        run: &RunConfig,
    ) -> Self {
        let bar =
            (mode == Mode::Bar).then(|| new_bar(Some(0), BAR_TEMPLATE, "starting the sweep…"));
        SweepView {
            mode,
            dir: dir.to_path_buf(),
            stop,
            params,
            metric: tune.metric.clone(),
            tune_mode: tune.mode,
            report_every: Duration::from_secs_f64(run.progress.max_report_frequency.max(0.5)),
            max_width: run.progress.max_width,
            bar,
            emitted: BTreeMap::new(),
            last_table: None,
        }
    }

    /// Polls the experiment in a thread until [`Watcher::stop`].
    fn watch(self) -> Watcher {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let handle = std::thread::spawn(move || {
            let mut view = self;
            if matches!(view.mode, Mode::Bar | Mode::Json) {
                while !flag.load(Ordering::Relaxed) {
                    view.poll(false);
                    std::thread::sleep(Duration::from_millis(300));
                }
                view.poll(true);
            }
            view
        });
        Watcher { done, handle }
    }

    fn spec(&self) -> TableSpec<'_> {
        TableSpec {
            params: &self.params,
            metric: self.metric.as_deref(),
            mode: self.tune_mode,
            max_width: self.max_width,
            metric_columns: None,
            all_rows: false,
        }
    }

    fn poll(&mut self, last: bool) {
        let Ok((state, _)) = ExperimentState::load_newest(&self.dir) else {
            return;
        };
        match self.mode {
            Mode::Json => self.emit_results(&state),
            Mode::Bar => self.draw(&state, last),
            _ => {}
        }
    }

    /// Prints the result rows not printed yet, each with its trial's id.
    fn emit_results(&mut self, state: &ExperimentState) {
        let mut out = std::io::stdout().lock();
        for t in &state.trials {
            let path = self.dir.join(&t.dir_name).join("result.json");
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            // Only whole lines: the last may still be being written.
            let complete = text.rfind('\n').map_or("", |i| &text[..=i]);
            let seen = self.emitted.entry(t.dir_name.clone()).or_default();
            for line in complete.lines().skip(*seen) {
                *seen += 1;
                if let Ok(Value::Object(mut r)) = serde_json::from_str::<Value>(line) {
                    r.entry("trial_id")
                        .or_insert_with(|| Value::String(t.trial_id.clone()));
                    let _ = serde_json::to_writer(&mut out, &r);
                    let _ = writeln!(out);
                }
            }
        }
        let _ = out.flush();
    }

    fn draw(&mut self, state: &ExperimentState, last: bool) {
        let Some(bar) = self.bar.clone() else { return };
        let trials = &state.trials;
        let count = |s: TrialStatus| trials.iter().filter(|t| t.status == s).count();
        bar.set_length(PER_TRIAL * trials.len() as u64);
        let done: f64 = trials
            .iter()
            .map(|t| match (t.status.is_finished(), &t.last_result) {
                (true, _) => 1.0,
                (false, Some(r)) => self.stop.fraction(r).unwrap_or(0.0),
                (false, None) => 0.0,
            })
            .sum();
        bar.set_position((done * PER_TRIAL as f64).round() as u64);
        bar.set_message(format!(
            "trials: {} running, {} done ({} errored), {} pending",
            count(TrialStatus::Running) + count(TrialStatus::Paused),
            count(TrialStatus::Terminated) + count(TrialStatus::Error),
            count(TrialStatus::Error),
            count(TrialStatus::Pending),
        ));
        let table = trial_table(trials, &self.spec());
        let due = self
            .last_table
            .as_ref()
            .is_none_or(|(at, old)| *old != table && at.elapsed() >= self.report_every);
        if due && !last {
            bar.println(&table);
            self.last_table = Some((Instant::now(), table));
        }
    }

    fn message(&self, line: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Json => eprintln!("{line}"),
            _ => println!("{line}"),
        }
    }

    fn finish(&self, results: &ResultGrid) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            if let Ok((state, _)) = ExperimentState::load_newest(&self.dir) {
                let spec = TableSpec {
                    all_rows: true,
                    ..self.spec()
                };
                println!("{}", trial_table(&state.trials, &spec));
            }
        }
        if let (Some(metric), Some(mode)) = (&self.metric, self.tune_mode) {
            if let Ok(best) = results.get_best_result(Some(metric), Some(mode), "last") {
                let score = best.metric_score(metric, mode, "last").unwrap_or(f64::NAN);
                let vars: Vec<String> = self
                    .params
                    .iter()
                    .map(|k| {
                        format!(
                            "{k}={}",
                            best.config
                                .pointer(&format!("/{k}"))
                                .unwrap_or(&Value::Null)
                        )
                    })
                    .collect();
                self.message(&format!(
                    "Best trial by {metric}: {} ({}) with {metric} = {score:.2}",
                    best.trial_name,
                    vars.join(", ")
                ));
                if let Some(c) = &best.checkpoint {
                    self.message(&format!("Its checkpoint: {}", c.path.display()));
                }
            }
        }
        self.message(&format!("Results: {}", results.experiment_path().display()));
        self.message(&format!(
            "TensorBoard: tensorboard --logdir {}",
            results.experiment_path().display()
        ));
    }
}

/// The polling thread.
struct Watcher {
    done: Arc<AtomicBool>,
    handle: std::thread::JoinHandle<SweepView>,
}

impl Watcher {
    /// Stops polling after a last look; returns the view.
    fn stop(self) -> SweepView {
        self.done.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .expect("the sweep view thread does not panic")
    }
}
