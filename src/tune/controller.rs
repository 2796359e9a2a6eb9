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

use rl_core::algorithm::checkpoint::{checkpoint_dir_name, list_checkpoints};
use rl_core::algorithm::{build_algorithm, Algorithm};
use rl_core::metrics::{ResultDict, TrialWriter};
use serde_json::{json, Value};

use super::config::{CheckpointConfig, FailureConfig, ProgressConfig};
use super::files::{append_error, append_json_line, reopen_trial_files, write_params};
use super::report::format::{datetime_str, running_time_str};
use super::report::{best_trial_line, result_box, status_line, trial_table, TableSpec};
use super::result_grid::ResultGrid;
use super::schedulers::{
    metric_value, BarrierAction, Decision, Member, Ordering, TrialInfo, TrialScheduler,
};
use super::search::Searcher;
use super::state::{ExperimentState, SchedulerState, STATE_FORMAT_VERSION};
use super::stop::Stop;
use super::trial::{CheckpointRecord, Trial, TrialStatus};
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
    writer: Option<TrialWriter>,
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
    pub maker: super::tuner::TrialMaker,
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
        let writer = reopen_trial_files(&dir, &t.config, keep)?;
        let config = t.config.clone();
        let decided = t.decided_iteration;
        let rt = &mut self.rt[j];
        rt.writer = Some(writer);
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
        if let Some(w) = self.rt[j].writer.as_mut() {
            w.write(&r)
                .map_err(|e| TuneError::io(w.dir().to_path_buf(), e))?;
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
        self.rt[j].writer = None;
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
        rt.writer = None;
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

    // ---- checkpoints -----------------------------------------------------------------

    fn save_checkpoint(&mut self, j: usize) -> Result<(), TuneError> {
        self.save_checkpoint_of(j, false)
    }

    /// Saves trial `j`'s checkpoint of its decided iteration; one of that iteration is
    /// kept unless `replace` (after an exploit the state is no longer the one saved).
    fn save_checkpoint_of(&mut self, j: usize, replace: bool) -> Result<(), TuneError> {
        let dir = self.dir(j);
        let t = &self.c.trials[j];
        let iteration = t.decided_iteration;
        let same = t
            .latest_checkpoint()
            .filter(|c| c.iteration == iteration)
            .cloned();
        if same.is_some() && !replace {
            return Ok(());
        }
        // Replacing keeps the number, hence the directory: the save swaps it atomically.
        let index = same.as_ref().map_or(t.num_checkpoints_saved, |c| c.index);
        let path = dir.join(checkpoint_dir_name(index));
        let algo = self.rt[j].algo.as_ref().ok_or_else(|| {
            TuneError::Config(format!(
                "internal: trial {} has no algorithm to save",
                t.trial_id
            ))
        })?;
        algo.save_to_path(&path)?;
        let score = self
            .c
            .checkpoint
            .checkpoint_score_attribute
            .as_deref()
            .and_then(|k| t.last_result.as_ref().and_then(|r| metric_value(r, k)));
        let t = &mut self.c.trials[j];
        t.checkpoints.retain(|c| c.index != index);
        if same.is_none() {
            t.num_checkpoints_saved += 1;
        }
        t.checkpoints.push(CheckpointRecord {
            index,
            iteration,
            path: path.clone(),
            score,
        });
        self.prune_checkpoints(j);
        if self.c.verbose >= 2 {
            println!(
                "Trial {} saved a checkpoint for iteration {iteration} at: (local){}",
                self.c.trials[j].name,
                path.display()
            );
        }
        Ok(())
    }

    /// Keeps the best `num_to_keep` (by score, or the latest without one) and always the
    /// latest.
    fn prune_checkpoints(&mut self, j: usize) {
        let Some(keep) = self.c.checkpoint.num_to_keep else {
            return;
        };
        let order = self.c.checkpoint.checkpoint_score_order;
        let t = &mut self.c.trials[j];
        let latest = t.latest_checkpoint().map(|c| c.index);
        let mut ranked: Vec<&CheckpointRecord> = t.checkpoints.iter().collect();
        ranked.sort_by(|a, b| match (a.score, b.score) {
            (Some(x), Some(y)) => (order.sign() * y)
                .total_cmp(&(order.sign() * x))
                .then(b.index.cmp(&a.index)),
            _ => b.index.cmp(&a.index),
        });
        let kept: Vec<usize> = ranked.iter().take(keep.max(1)).map(|c| c.index).collect();
        let (stay, go): (Vec<CheckpointRecord>, Vec<CheckpointRecord>) = t
            .checkpoints
            .drain(..)
            .partition(|c| kept.contains(&c.index) || Some(c.index) == latest);
        t.checkpoints = stay;
        for c in go {
            let _ = std::fs::remove_dir_all(&c.path);
        }
    }

    // ---- barriers (PBT) --------------------------------------------------------------

    fn barrier(&mut self) -> Result<(), TuneError> {
        if self.c.scheduler.ordering() != Ordering::Synchronous || self.stopping {
            return Ok(());
        }
        let waiting: Vec<usize> = (0..self.c.trials.len())
            .filter(|&i| !self.c.trials[i].status.is_finished())
            .collect();
        let all_parked = waiting.iter().all(|&i| {
            let t = &self.c.trials[i];
            t.status == TrialStatus::Paused && !t.released && self.rt[i].algo.is_some()
        });
        if waiting.is_empty() || !all_parked {
            return Ok(());
        }
        let snapshot: Vec<(usize, String, Value, ResultDict)> = waiting
            .iter()
            .map(|&i| {
                let t = &self.c.trials[i];
                (
                    i,
                    t.trial_id.clone(),
                    t.config.clone(),
                    t.last_result.clone().unwrap_or_default(),
                )
            })
            .collect();
        let members: Vec<Member<'_>> = snapshot
            .iter()
            .map(|(i, id, config, result)| Member {
                trial: TrialInfo {
                    index: *i,
                    trial_id: id,
                    config,
                },
                result,
            })
            .collect();
        let actions = self.c.scheduler.on_barrier(&members);
        for action in actions {
            match action {
                BarrierAction::Checkpoint(i) => {
                    if let Err(e) = self.save_checkpoint(i) {
                        self.on_failure(i, format!("saving a checkpoint: {e}"))?;
                    }
                }
                BarrierAction::Exploit {
                    trial,
                    from,
                    config,
                } => {
                    if let Err(e) = self.exploit(trial, from, config) {
                        self.on_failure(trial, format!("exploiting trial {from}: {e}"))?;
                    }
                }
            }
        }
        for i in waiting {
            if self.c.trials[i].status == TrialStatus::Paused {
                self.c.trials[i].released = true;
            }
        }
        self.save_state(false)
    }

    fn exploit(&mut self, j: usize, from: usize, config: Value) -> Result<(), TuneError> {
        let source = self.c.trials[from]
            .latest_checkpoint()
            .cloned()
            .ok_or_else(|| TuneError::Config(format!("trial {from} has no checkpoint to clone")))?;
        let mut algo = build_algorithm(&self.c.algorithm, &config)?;
        algo.restore_from_path(&source.path)?;
        let old_config = self.c.trials[from].config.clone();
        let dir = self.dir(j);
        write_params(&dir, &config)?;
        self.rt[j].algo = Some(algo);
        let target_iter = self.c.trials[j].decided_iteration;
        self.c.trials[j].config = config.clone();
        // Its own checkpoint of the new state: a resume restarts from here.
        self.save_checkpoint_of(j, true)?;
        let line = json!([
            self.c.trials[j].experiment_tag,
            self.c.trials[from].experiment_tag,
            target_iter,
            source.iteration,
            old_config,
            config,
        ]);
        append_json_line(&self.c.experiment_dir.join("pbt_global.txt"), &line)?;
        let policy = |t: &Trial| {
            self.c
                .experiment_dir
                .join(format!("pbt_policy_{}.txt", t.trial_id))
        };
        let (target, clone) = (policy(&self.c.trials[j]), policy(&self.c.trials[from]));
        if clone.exists() {
            std::fs::copy(&clone, &target).map_err(|e| TuneError::io(&target, e))?;
        } else {
            let _ = std::fs::remove_file(&target);
        }
        append_json_line(&target, &line)?;
        if self.c.verbose >= 1 {
            println!(
                "[PopulationBasedTraining] [Exploit] Cloning trial {} into trial {} at iteration {target_iter}; new config: {}",
                self.c.trials[from].trial_id,
                self.c.trials[j].trial_id,
                super::report::format::py_repr(&json!(self
                    .c
                    .params
                    .iter()
                    .map(|k| (k.clone(), super::search::space::get_in(&config, k).cloned().unwrap_or(Value::Null)))
                    .collect::<serde_json::Map<_, _>>()))
            );
        }
        Ok(())
    }

    // ---- state -----------------------------------------------------------------------

    fn save_state(&self, finished: bool) -> Result<(), TuneError> {
        let searcher = self.c.searcher.save_state();
        let state = ExperimentState {
            format_version: STATE_FORMAT_VERSION,
            framework: "rl".into(),
            algorithm: self.c.algorithm.clone(),
            experiment_name: self.c.experiment_name.clone(),
            experiment_id: self.c.experiment_id.clone(),
            experiment_path: self.c.experiment_dir.clone(),
            start_time: self.c.start_time,
            timestamp: now(),
            param_space: self.c.param_space_json.clone(),
            param_space_has_functions: self.c.param_space_has_functions,
            tune_config: self.c.tune_config_json.clone(),
            run_config: self.c.run_config_json.clone(),
            scheduler: SchedulerState {
                name: self.c.scheduler.name().to_string(),
                settings: self.c.scheduler_settings.clone(),
                state: self.c.scheduler.save_state(),
            },
            searcher: searcher.clone(),
            trials: self.c.trials.clone(),
            finished,
        };
        state.save(&self.c.state_file)?;
        super::files::write_atomic(
            &self.c.searcher_file,
            &serde_json::to_string(&searcher).unwrap_or_default(),
        )
    }

    // ---- console ---------------------------------------------------------------------

    fn elapsed(&self) -> String {
        running_time_str(self.session_start.elapsed().as_secs_f64())
    }

    fn print_intro(&self) {
        if self.c.verbose == 0 {
            return;
        }
        for l in &self.c.intro {
            println!("{l}");
        }
    }

    fn print_trial_start(&self, j: usize) {
        let t = &self.c.trials[j];
        let searched: serde_json::Map<String, Value> = t.resolved_vars.iter().cloned().collect();
        println!("Trial {} started with configuration:", t.name);
        let include: Vec<String> = Vec::new();
        if let Some(b) = result_box(&format!("Trial {} config", t.name), &searched, &include) {
            println!("{b}");
        }
        println!();
    }

    fn print_result(&self, j: usize, r: &ResultDict) {
        let t = &self.c.trials[j];
        println!(
            "Trial {} finished iteration {} at {}. Total running time: {}",
            t.name,
            Self::iteration_of(r),
            datetime_str(now()),
            self.elapsed()
        );
        if let Some(b) = result_box(
            &format!("Trial {} result", t.name),
            r,
            &self.c.progress.progress_metrics,
        ) {
            println!("{b}");
        }
    }

    fn print_complete(&self, j: usize) {
        let t = &self.c.trials[j];
        let iters = t.decided_iteration;
        if let Some(r) = t.last_result.clone() {
            self.print_result(j, &r);
        }
        if let Some(c) = t
            .latest_checkpoint()
            .filter(|c| c.iteration == iters && self.c.verbose < 2)
        {
            println!(
                "Trial {} saved a checkpoint for iteration {iters} at: (local){}",
                t.name,
                c.path.display()
            );
        }
        println!(
            "\nTrial {} completed after {iters} iterations at {}. Total running time: {}\n",
            t.name,
            datetime_str(now()),
            self.elapsed()
        );
    }

    fn print_error(&self, j: usize, retrying: bool) {
        let t = &self.c.trials[j];
        println!(
            "Trial {} errored after {} iterations at {}. Total running time: {}\nError file: {}{}\n",
            t.name,
            t.decided_iteration,
            datetime_str(now()),
            self.elapsed(),
            self.dir(j).join("error.txt").display(),
            if retrying {
                format!(" (failure {}; retrying from its latest checkpoint)", t.num_failures)
            } else {
                String::new()
            }
        );
    }

    fn report(&mut self, force: bool) {
        if self.c.verbose == 0 {
            return;
        }
        let due = self
            .last_report
            .is_none_or(|l| l.elapsed().as_secs_f64() >= self.c.progress.max_report_frequency);
        if !force && !due {
            return;
        }
        self.last_report = Some(Instant::now());
        let trials = &self.c.trials;
        let (_, used) = self.live();
        println!("{}", status_line(trials));
        println!(
            "Current time: {}. Total running time: {}",
            datetime_str(now()),
            self.elapsed()
        );
        println!(
            "Logical resource usage: {used}.0/{} CPUs, 0/0 GPUs",
            self.c.budget
        );
        if let (Some(m), Some(mode)) = (self.c.metric.as_deref(), self.c.mode) {
            if let Some(l) = best_trial_line(trials, &self.c.params, m, mode) {
                println!("{l}");
            }
        }
        let spec = TableSpec {
            params: &self.c.params,
            metric: self.c.metric.as_deref(),
            mode: self.c.mode,
            max_width: self.c.progress.max_width,
            metric_columns: self.c.progress.metric_columns.as_deref(),
            all_rows: force,
        };
        println!("{}", trial_table(trials, &spec));
        if force {
            self.print_errors();
        }
        println!();
    }

    fn print_errors(&self) {
        let errored: Vec<&Trial> = self
            .c
            .trials
            .iter()
            .filter(|t| t.num_failures > 0)
            .collect();
        if errored.is_empty() {
            return;
        }
        println!(
            "\nNumber of errored trials: {}",
            errored
                .iter()
                .filter(|t| t.status == TrialStatus::Error)
                .count()
        );
        let rows = errored
            .iter()
            .map(|t| {
                let first = t
                    .error
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("");
                vec![
                    super::report::table::Cell::Str(t.name.clone()),
                    super::report::table::Cell::Str(format!(
                        "{}{}",
                        t.num_failures,
                        if t.status == TrialStatus::Error {
                            ""
                        } else {
                            "*"
                        }
                    )),
                    super::report::table::Cell::Str(super::report::format::max_len(first, 40)),
                ]
            })
            .collect();
        let mut table = super::report::table::Table::new(
            vec!["Trial name".into(), "# failures".into(), "error".into()],
            rows,
        );
        table.colalign = Some(vec![
            super::report::table::Align::Left,
            super::report::table::Align::Right,
            super::report::table::Align::Left,
        ]);
        println!("{}", table.render());
        for t in &errored {
            println!(
                "{}: {}",
                t.name,
                self.c
                    .experiment_dir
                    .join(&t.dir_name)
                    .join("error.txt")
                    .display()
            );
        }
        if errored.iter().any(|t| t.status != TrialStatus::Error) {
            println!("* The trial terminated successfully after retrying.");
        }
    }
}

/// Deep-merges `over` into `base` (objects key by key, anything else replaced).
pub(crate) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
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
