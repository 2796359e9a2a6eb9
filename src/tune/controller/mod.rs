//! The controller (Ray's `TuneController`): starts trials under the CPU budget, trains
//! them on one shared thread pool, hands results to the stop criteria, scheduler and
//! searcher in a timing-independent order, writes the trial files, checkpoints, the
//! experiment state after every decision, retries failed trials, and prints the table.
//!
//! Each trial iteration is a task on a rayon pool of `num_threads` threads (the machine's
//! cores by default). The algorithm runs inside the task, so its own parallel work —
//! env runners sampling through `EnvRunnerGroup`, the learner's `rayon::join` — shares
//! the same threads: trials never oversubscribe the cores, and a core one trial leaves
//! idle (while its driver waits on its runners) is used by another. The task returns the
//! algorithm with its result to this thread, which decides and starts the next task.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rl_core::algorithm::checkpoint::list_checkpoints;
use rl_core::algorithm::{build_algorithm, Algorithm};
use rl_core::metrics::{ResultDict, ResultLogger};
use serde_json::Value;

mod barrier;
mod checkpoints;
mod console;
mod state;

use super::config::{CheckpointConfig, FailureConfig, ProgressConfig};
use super::files::{append_error, open_trial_loggers};
use super::report::format::datetime_str;
use super::result_grid::ResultGrid;
use super::schedulers::{metric_value, Decision, Ordering, TrialInfo, TrialScheduler};
use super::search::Searcher;
use super::stop::Stop;
use super::trial::{Trial, TrialStatus};
use super::{Mode, TuneError};

/// Seconds since the UNIX epoch.
pub(crate) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// What a task hands back.
enum Outcome {
    Result(Box<dyn Algorithm>, ResultDict),
    /// Built and restored without training (a trial resumed at a barrier).
    Built(Box<dyn Algorithm>),
    Failed(String),
}

struct Done {
    index: usize,
    outcome: Outcome,
}

/// How a task gets its algorithm.
enum Start {
    /// The trial's algorithm, continuing.
    Continue(Box<dyn Algorithm>),
    /// Build it from the config, restoring a checkpoint if given; `train: false` only
    /// builds it.
    Build {
        config: Value,
        restore: Option<PathBuf>,
        train: bool,
    },
}

/// Per-trial state that lives only while the sweep runs.
#[derive(Default)]
struct Runtime {
    algo: Option<Box<dyn Algorithm>>,
    /// The trial's files and TensorBoard events, fed every decided result.
    loggers: Vec<Box<dyn ResultLogger>>,
    /// Results waiting for their decision (the ordering may make them wait).
    queue: VecDeque<ResultDict>,
    in_flight: bool,
    /// Results up to this iteration were decided before a restart: they are written
    /// again but not shown to the scheduler, stoppers or searcher.
    replay_until: usize,
    /// After the replay, wait at the barrier again (the trial was paused there).
    pause_after_replay: bool,
}

/// Everything the controller needs (assembled by the [`Tuner`](super::Tuner)).
pub(crate) struct Controller {
    pub algorithm: String,
    pub experiment_name: String,
    pub experiment_id: String,
    pub experiment_dir: PathBuf,
    pub state_file: PathBuf,
    pub searcher_file: PathBuf,
    pub start_time: f64,
    pub param_space_json: Value,
    pub param_space_has_functions: bool,
    pub tune_config_json: Value,
    pub run_config_json: Value,
    pub params: Vec<String>,
    pub trials: Vec<Trial>,
    pub pause_after_replay: Vec<bool>,
    pub scheduler: Box<dyn TrialScheduler>,
    pub scheduler_settings: Value,
    pub searcher: Box<dyn Searcher>,
    pub stop: Stop,
    pub checkpoint: CheckpointConfig,
    pub failure: FailureConfig,
    pub progress: ProgressConfig,
    pub verbose: u8,
    pub metric: Option<String>,
    pub mode: Option<Mode>,
    pub budget: usize,
    pub max_concurrent: usize,
    pub num_threads: usize,
    pub intro: Vec<String>,
    pub maker: super::trial_maker::TrialMaker,
}

struct Run {
    c: Controller,
    rt: Vec<Runtime>,
    pool: rayon::ThreadPool,
    tx: Sender<Done>,
    rx: Receiver<Done>,
    in_flight: usize,
    stopping: bool,
    exhausted: bool,
    warned_oversize: bool,
    session_start: Instant,
    last_report: Option<Instant>,
}

impl Controller {
    /// Runs the sweep to its end and returns its results.
    pub fn run(self) -> Result<ResultGrid, TuneError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.num_threads.max(1))
            .thread_name(|i| format!("tune-{i}"))
            .build()
            .map_err(|e| TuneError::Config(format!("cannot start the worker threads: {e}")))?;
        let (tx, rx) = channel();
        let n = self.trials.len();
        let mut rt: Vec<Runtime> = (0..n).map(|_| Runtime::default()).collect();
        for (r, &p) in rt.iter_mut().zip(&self.pause_after_replay) {
            r.pause_after_replay = p;
        }
        let mut run = Run {
            c: self,
            rt,
            pool,
            tx,
            rx,
            in_flight: 0,
            stopping: false,
            exhausted: false,
            warned_oversize: false,
            session_start: Instant::now(),
            last_report: None,
        };
        std::fs::create_dir_all(&run.c.experiment_dir)
            .map_err(|e| TuneError::io(&run.c.experiment_dir, e))?;
        run.print_intro();
        run.save_state(false)?;
        run.main_loop()?;
        let wrote = Instant::now();
        run.save_state(true)?;
        if run.c.verbose >= 1 {
            run.report(true);
            println!(
                "\nWrote the latest version of all result files and experiment state to '{}' in {:.4}s.",
                run.c.experiment_dir.display(),
                wrote.elapsed().as_secs_f64()
            );
        }
        ResultGrid::from_trials(
            &run.c.trials,
            &run.c.experiment_dir,
            run.c.metric.clone(),
            run.c.mode,
        )
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".into()
    }
}

impl Run {
    fn dir(&self, i: usize) -> PathBuf {
        self.c.experiment_dir.join(&self.c.trials[i].dir_name)
    }

    fn info(&self, i: usize) -> (String, Value) {
        (
            self.c.trials[i].trial_id.clone(),
            self.c.trials[i].config.clone(),
        )
    }

    fn main_loop(&mut self) -> Result<(), TuneError> {
        loop {
            self.start_trials()?;
            self.process_ready()?;
            self.barrier()?;
            self.start_trials()?;
            if self.in_flight == 0 {
                if self.ready_work() {
                    continue;
                }
                let unfinished = self.c.trials.iter().any(|t| !t.status.is_finished());
                if unfinished && !self.stopping {
                    let stuck: Vec<String> = self
                        .c
                        .trials
                        .iter()
                        .filter(|t| !t.status.is_finished())
                        .map(|t| format!("{} {}", t.trial_id, t.status))
                        .collect();
                    if self
                        .c
                        .trials
                        .iter()
                        .any(|t| t.status == TrialStatus::Pending)
                    {
                        return Err(TuneError::Config(format!(
                            "no trial can start: {stuck:?}; raise max_concurrent_trials or num_cpus"
                        )));
                    }
                    return Err(TuneError::Config(format!(
                        "the sweep cannot go on: {stuck:?} wait for each other (a scheduler barrier no trial can reach)"
                    )));
                }
                return Ok(());
            }
            let wait = Duration::from_secs_f64(self.c.progress.max_report_frequency.max(0.05));
            match self.rx.recv_timeout(wait) {
                Ok(done) => {
                    self.on_done(done)?;
                    // Take every result that has arrived before deciding.
                    while let Ok(more) = self.rx.try_recv() {
                        self.on_done(more)?;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(TuneError::Config("the worker threads went away".into()))
                }
            }
            self.process_ready()?;
            self.save_state(false)?;
            self.report(false);
        }
    }

    /// Whether something can happen without waiting for a task.
    fn ready_work(&self) -> bool {
        (0..self.c.trials.len()).any(|j| {
            self.rt[j]
                .queue
                .front()
                .is_some_and(|r| self.stopping || self.is_ready(j, r))
        })
    }

    // ---- starting trials -------------------------------------------------------------

    fn live(&self) -> (usize, usize) {
        let live: Vec<&Trial> = self
            .c
            .trials
            .iter()
            .filter(|t| t.status == TrialStatus::Running)
            .collect();
        (live.len(), live.iter().map(|t| t.cpus).sum())
    }

    fn next_candidate(&self) -> Option<usize> {
        let released = self
            .c
            .trials
            .iter()
            .filter(|t| t.status == TrialStatus::Paused && t.released)
            .min_by(|a, b| {
                a.decided_time
                    .total_cmp(&b.decided_time)
                    .then(a.index.cmp(&b.index))
            });
        if let Some(t) = released {
            return Some(t.index);
        }
        self.c
            .trials
            .iter()
            .find(|t| t.status == TrialStatus::Pending)
            .map(|t| t.index)
    }

    /// Asks a searcher without a fixed trial count for the next trial.
    fn suggest(&mut self) -> Result<Option<usize>, TuneError> {
        if self.exhausted || self.c.searcher.total_trials().is_some() {
            return Ok(None);
        }
        let index = self.c.trials.len();
        let Some(variant) = self.c.searcher.suggest(index)? else {
            self.exhausted = true;
            return Ok(None);
        };
        let trial = self.c.maker.make(index, variant, &mut *self.c.scheduler);
        self.c.trials.push(trial);
        self.rt.push(Runtime::default());
        Ok(Some(index))
    }

    fn start_trials(&mut self) -> Result<(), TuneError> {
        while !self.stopping {
            let (live, _) = self.live();
            if live >= self.c.max_concurrent {
                return Ok(());
            }
            let candidate = match self.next_candidate() {
                Some(j) => Some(j),
                None => self.suggest()?,
            };
            let Some(j) = candidate else {
                return Ok(());
            };
            let need = self.c.trials[j].cpus;
            let (live, used) = self.live();
            if live >= self.c.max_concurrent {
                return Ok(());
            }
            if used + need > self.c.budget {
                if live > 0 {
                    return Ok(());
                }
                if need > self.c.budget && !self.warned_oversize {
                    self.warned_oversize = true;
                    eprintln!(
                        "WARNING: trial {} asks for {need} CPUs (1 + num_env_runners + evaluation_num_env_runners) but the sweep has {} (TuneConfig::num_cpus); it runs alone, sharing the threads. Ray would refuse it.",
                        self.c.trials[j].name, self.c.budget
                    );
                }
            }
            self.start(j)?;
        }
        Ok(())
    }

    fn start(&mut self, j: usize) -> Result<(), TuneError> {
        let t = &self.c.trials[j];
        if t.status == TrialStatus::Paused {
            self.c.trials[j].status = TrialStatus::Running;
            self.c.trials[j].released = false;
            return self.dispatch(j);
        }
        let dir = self.dir(j);
        let restore = t.latest_checkpoint().cloned();
        let keep = restore.as_ref().map_or(0, |c| c.iteration);
        // Checkpoints newer than the experiment state (written before a kill) go.
        for (_, path) in list_checkpoints(&dir) {
            if !t.checkpoints.iter().any(|c| c.path == path) {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
        let loggers = open_trial_loggers(&dir, &t.config, keep)?;
        let config = t.config.clone();
        let decided = t.decided_iteration;
        let rt = &mut self.rt[j];
        rt.loggers = loggers;
        rt.queue.clear();
        rt.replay_until = if decided > keep { decided } else { 0 };
        // Paused at the barrier with a checkpoint of that very iteration: rebuild it and
        // wait there again, without training.
        let train = !(rt.replay_until == 0 && std::mem::take(&mut rt.pause_after_replay));
        if restore.is_none() && decided == 0 && self.c.verbose >= 1 {
            self.print_trial_start(j);
        }
        let trial = &mut self.c.trials[j];
        trial.status = TrialStatus::Running;
        trial.released = false;
        let start = Start::Build {
            config,
            restore: restore.map(|c| c.path),
            train,
        };
        self.spawn(j, start);
        Ok(())
    }

    fn dispatch(&mut self, j: usize) -> Result<(), TuneError> {
        let algo = self.rt[j].algo.take().ok_or_else(|| {
            TuneError::Config(format!(
                "internal: trial {} has no algorithm to continue",
                self.c.trials[j].trial_id
            ))
        })?;
        self.spawn(j, Start::Continue(algo));
        Ok(())
    }

    fn spawn(&mut self, index: usize, start: Start) {
        let tx = self.tx.clone();
        let name = self.c.algorithm.clone();
        self.rt[index].in_flight = true;
        self.in_flight += 1;
        self.pool.spawn(move || {
            let run = catch_unwind(AssertUnwindSafe(move || {
                let mut algo = match start {
                    Start::Continue(a) => a,
                    Start::Build {
                        config,
                        restore,
                        train,
                    } => {
                        let mut a = build_algorithm(&name, &config).map_err(|e| e.to_string())?;
                        if let Some(p) = restore {
                            a.restore_from_path(&p).map_err(|e| {
                                format!("restoring checkpoint {}: {e}", p.display())
                            })?;
                        }
                        if !train {
                            return Ok::<_, String>((a, None));
                        }
                        a
                    }
                };
                let r = algo.train().map_err(|e| e.to_string())?;
                Ok((algo, Some(r)))
            }));
            let outcome = match run {
                Ok(Ok((algo, Some(r)))) => Outcome::Result(algo, r),
                Ok(Ok((algo, None))) => Outcome::Built(algo),
                Ok(Err(msg)) => Outcome::Failed(msg),
                Err(p) => Outcome::Failed(format!("the trial panicked: {}", panic_message(&*p))),
            };
            let _ = tx.send(Done { index, outcome });
        });
    }

    // ---- results and decisions -------------------------------------------------------

    fn on_done(&mut self, done: Done) -> Result<(), TuneError> {
        let j = done.index;
        self.in_flight -= 1;
        self.rt[j].in_flight = false;
        if self.c.trials[j].status != TrialStatus::Running {
            return Ok(());
        }
        match done.outcome {
            Outcome::Result(algo, r) => {
                self.rt[j].algo = Some(algo);
                self.rt[j].queue.push_back(r);
                Ok(())
            }
            Outcome::Built(algo) => {
                self.rt[j].algo = Some(algo);
                self.c.trials[j].status = TrialStatus::Paused;
                self.c.trials[j].released = false;
                Ok(())
            }
            Outcome::Failed(msg) => self.on_failure(j, msg),
        }
    }

    fn time_of(&self, r: &ResultDict) -> f64 {
        metric_value(r, self.c.scheduler.time_attr())
            .or_else(|| metric_value(r, "training_iteration"))
            .unwrap_or(0.0)
    }

    fn iteration_of(r: &ResultDict) -> usize {
        r.get("training_iteration")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize
    }

    /// Whether trial `j`'s next result can be decided now (see the schedulers' module
    /// docs on ordering).
    fn is_ready(&self, j: usize, r: &ResultDict) -> bool {
        if Self::iteration_of(r) <= self.rt[j].replay_until {
            return true;
        }
        match self.c.scheduler.ordering() {
            Ordering::Independent | Ordering::Synchronous => true,
            Ordering::Sequential => {
                let t = self.time_of(r);
                self.c.trials[..j]
                    .iter()
                    .all(|p| p.status.is_finished() || p.decided_time >= t)
            }
        }
    }

    fn process_ready(&mut self) -> Result<(), TuneError> {
        loop {
            let mut progressed = false;
            for j in 0..self.c.trials.len() {
                while let Some(front) = self.rt[j].queue.front() {
                    if !(self.stopping || self.is_ready(j, front)) {
                        break;
                    }
                    let r = self.rt[j].queue.pop_front().expect("front exists");
                    self.decide(j, r)?;
                    progressed = true;
                }
            }
            if !progressed {
                return Ok(());
            }
        }
    }

    fn decide(&mut self, j: usize, r: ResultDict) -> Result<(), TuneError> {
        let iteration = Self::iteration_of(&r);
        let time = self.time_of(&r);
        if !self.rt[j].loggers.is_empty() {
            let dir = self.dir(j);
            for logger in &mut self.rt[j].loggers {
                logger.on_result(&r).map_err(|e| TuneError::io(&dir, e))?;
            }
        }
        {
            let t = &mut self.c.trials[j];
            t.last_result = Some(r.clone());
            t.decided_iteration = iteration;
            t.decided_time = time;
        }
        if iteration <= self.rt[j].replay_until && !self.stopping {
            if iteration == self.rt[j].replay_until {
                self.rt[j].replay_until = 0;
                if std::mem::take(&mut self.rt[j].pause_after_replay) {
                    self.c.trials[j].status = TrialStatus::Paused;
                    return Ok(());
                }
            }
            return self.dispatch(j);
        }
        let (trial_id, config) = self.info(j);
        let info = TrialInfo {
            index: j,
            trial_id: &trial_id,
            config: &config,
        };
        let done = r.get("done").and_then(Value::as_bool).unwrap_or(false);
        let decision = if self.stopping || done || self.c.stop.should_stop(&trial_id, &r) {
            Decision::Stop
        } else {
            self.c.scheduler.on_trial_result(&info, &r)
        };
        self.c.searcher.on_trial_result(j, &r);
        if self.c.verbose >= 2 && decision != Decision::Stop {
            self.print_result(j, &r);
        }
        let freq = self.c.checkpoint.checkpoint_frequency;
        let at_end = decision == Decision::Stop && self.c.checkpoint.checkpoint_at_end;
        if (freq > 0 && iteration.is_multiple_of(freq)) || at_end {
            if let Err(e) = self.save_checkpoint(j) {
                return self.on_failure(j, format!("saving a checkpoint: {e}"));
            }
        }
        match decision {
            Decision::Continue => self.dispatch(j)?,
            Decision::Pause => {
                self.c.trials[j].status = TrialStatus::Paused;
                self.c.trials[j].released = false;
            }
            Decision::Stop => self.finish(j),
        }
        if !self.stopping && self.c.stop.stop_all() {
            self.stop_everything();
        }
        Ok(())
    }

    fn finish(&mut self, j: usize) {
        self.rt[j].algo = None;
        self.rt[j].queue.clear();
        self.rt[j].loggers.clear();
        self.c.trials[j].status = TrialStatus::Terminated;
        let (trial_id, config) = self.info(j);
        let last = self.c.trials[j].last_result.clone();
        let info = TrialInfo {
            index: j,
            trial_id: &trial_id,
            config: &config,
        };
        self.c.scheduler.on_trial_complete(&info, last.as_ref());
        self.c.searcher.on_trial_complete(j, last.as_ref(), false);
        if self.c.verbose >= 1 {
            self.print_complete(j);
        }
    }

    /// Stops the sweep: running trials stop after their current iteration, paused ones
    /// now; pending ones never start.
    fn stop_everything(&mut self) {
        self.stopping = true;
        for j in 0..self.c.trials.len() {
            let t = &self.c.trials[j];
            let idle = !self.rt[j].in_flight && self.rt[j].queue.is_empty();
            if t.status == TrialStatus::Paused || (t.status == TrialStatus::Running && idle) {
                self.finish(j);
            }
        }
    }

    fn on_failure(&mut self, j: usize, msg: String) -> Result<(), TuneError> {
        let dir = self.dir(j);
        let date = datetime_str(now());
        let t = &mut self.c.trials[j];
        t.num_failures += 1;
        t.error = Some(msg.clone());
        append_error(&dir, t.num_failures, &date, &msg)?;
        let rt = &mut self.rt[j];
        rt.algo = None;
        rt.queue.clear();
        rt.loggers.clear();
        let max = self.c.failure.max_failures;
        let retry = !self.stopping && (max < 0 || t.num_failures as i64 <= max);
        if retry {
            t.status = TrialStatus::Pending;
        } else {
            t.status = TrialStatus::Error;
            let (trial_id, config) = self.info(j);
            let info = TrialInfo {
                index: j,
                trial_id: &trial_id,
                config: &config,
            };
            self.c.scheduler.on_trial_error(&info);
            let last = self.c.trials[j].last_result.clone();
            self.c.searcher.on_trial_complete(j, last.as_ref(), true);
        }
        if self.c.verbose >= 1 {
            self.print_error(j, retry);
        }
        if !retry && self.c.failure.fail_fast && !self.stopping {
            self.stop_everything();
        }
        Ok(())
    }
}

/// The experiment directory and the name of its files for a session started at `t`.
pub(crate) fn session_files(dir: &Path, t: f64) -> (PathBuf, PathBuf) {
    let date = super::report::format::date_str(t);
    (
        dir.join(format!("experiment_state-{date}.json")),
        dir.join(format!("searcher-state-{date}.json")),
    )
}
