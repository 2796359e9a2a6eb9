//! `Tuner` (Ray's `tune.Tuner`): builds the trials of a sweep from the param space and
//! runs them; `Tuner::restore` continues a sweep from its directory.

use std::path::{Path, PathBuf};

use rl_core::algorithm::{default_config, registered_algorithms};
use rl_core::seeding::derive_seed;
use serde_json::{Map, Value};

use super::controller::{now, session_files, Controller};
use super::report::format::date_str;
use super::report::table::{Cell, Table};
use super::result_grid::ResultGrid;
use super::schedulers::{
    AsyncHyperBandScheduler, FIFOScheduler, MedianStoppingRule, TrialScheduler,
};
use super::search::{BasicVariantGenerator, ParamSpace, SearchProperties, Searcher};
use super::state::ExperimentState;
use super::stop::Stop;
use super::trial::{Trial, TrialStatus};
use super::trial_maker::TrialMaker;
use super::{Mode, RunConfig, TuneConfig, TuneError};

/// A sweep to run (Ray's `tune.Tuner`).
///
/// ```no_run
/// use rl::tune::{grid_search, Mode, ParamSpace, RunConfig, Stop, TuneConfig, Tuner};
/// use rl::algos::PPOConfig;
/// let config = PPOConfig::new().environment("CartPole-v1");
/// let space = ParamSpace::from_config(&config)?.set("minibatch_size", grid_search([128, 256]));
/// let results = Tuner::new("PPO", space)
///     .tune_config(TuneConfig::new().metric("env_runners/episode_return_mean", Mode::Max))
///     .run_config(RunConfig::new().stop(Stop::iterations(10)))
///     .fit()?;
/// let best = results.get_best_result(None, None, "last")?;
/// println!("{}", best.path.display());
/// # Ok::<(), rl::tune::TuneError>(())
/// ```
pub struct Tuner {
    algorithm: String,
    param_space: Option<ParamSpace>,
    tune_config: Option<TuneConfig>,
    run_config: Option<RunConfig>,
    restored: Option<(ExperimentState, PathBuf)>,
    resume_errored: bool,
    restart_errored: bool,
}

impl std::fmt::Debug for Tuner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tuner")
            .field("algorithm", &self.algorithm)
            .field("tune_config", &self.tune_config)
            .field("restored", &self.restored.as_ref().map(|(_, p)| p))
            .finish_non_exhaustive()
    }
}

impl Tuner {
    /// A sweep of the registered algorithm `algorithm` (`"PPO"`) over `param_space`.
    pub fn new(algorithm: &str, param_space: ParamSpace) -> Self {
        Tuner {
            algorithm: algorithm.to_string(),
            param_space: Some(param_space),
            tune_config: None,
            run_config: None,
            restored: None,
            resume_errored: false,
            restart_errored: false,
        }
    }

    /// Sets the `TuneConfig` (on a restored sweep: replaces the saved one, scheduler
    /// state still restored when the scheduler has the same name).
    pub fn tune_config(mut self, c: TuneConfig) -> Self {
        self.tune_config = Some(c);
        self
    }

    /// Sets the `RunConfig` (on a restored sweep: replaces the saved one; needed when
    /// the sweep stopped trials with a function or a `Stopper`, which cannot be saved).
    pub fn run_config(mut self, c: RunConfig) -> Self {
        self.run_config = Some(c);
        self
    }

    /// Replaces the param space of a restored sweep (needed only when it held
    /// `sample_from` functions and not every trial had been created).
    pub fn param_space(mut self, space: ParamSpace) -> Self {
        self.param_space = Some(space);
        self
    }

    /// Whether `path` holds a sweep that [`restore`](Self::restore) can continue.
    pub fn can_restore(path: impl AsRef<Path>) -> bool {
        super::state::newest_state_file(path.as_ref()).is_ok_and(|p| p.is_some())
    }

    /// Continues the sweep in `path` (`storage_path/name`), however it was interrupted —
    /// a kill included: finished trials keep their results; the others restart from
    /// their latest checkpoint (from scratch without one), with the scheduler's and
    /// searcher's state, and end as an uninterrupted sweep would have.
    pub fn restore(path: impl AsRef<Path>) -> Result<Self, TuneError> {
        let (state, file) = ExperimentState::load_newest(path.as_ref())?;
        Ok(Tuner {
            algorithm: state.algorithm.clone(),
            param_space: None,
            tune_config: None,
            run_config: None,
            restored: Some((state, file)),
            resume_errored: false,
            restart_errored: false,
        })
    }

    /// On restore, retry the trials that failed, from their latest checkpoint.
    pub fn resume_errored(mut self, yes: bool) -> Self {
        self.resume_errored = yes;
        self
    }

    /// On restore, run the trials that failed again from scratch.
    pub fn restart_errored(mut self, yes: bool) -> Self {
        self.restart_errored = yes;
        self
    }

    /// Runs the sweep and returns every trial's result.
    pub fn fit(self) -> Result<ResultGrid, TuneError> {
        rl_algos::register_builtins();
        let default = default_config(&self.algorithm).map_err(|_| {
            TuneError::Config(format!(
                "no algorithm registered as {:?}; registered: {:?}",
                self.algorithm,
                registered_algorithms()
            ))
        })?;
        match self.restored {
            Some(_) => self.fit_restored(default),
            None => self.fit_new(default),
        }
    }

    fn fit_new(self, default: Value) -> Result<ResultGrid, TuneError> {
        let space = self.param_space.unwrap_or_default();
        let tune = self.tune_config.unwrap_or_default();
        let run = self.run_config.unwrap_or_default();
        let start = now();
        let name = run
            .name
            .clone()
            .unwrap_or_else(|| format!("{}_{}", self.algorithm, date_str(start)));
        let storage = run
            .storage_path
            .clone()
            .unwrap_or_else(RunConfig::default_storage_path);
        let dir = storage.join(&name);
        if Tuner::can_restore(&dir) {
            return Err(TuneError::Config(format!(
                "{} already holds a sweep: continue it with Tuner::restore, or choose another RunConfig::name",
                dir.display()
            )));
        }
        let id = experiment_id(tune.seed, &name);
        let mut setup = Setup::new(&self.algorithm, default, tune, &space, None)?;
        let maker = setup.maker(&id, &space);
        // A searcher that knows its count makes every trial up front (Ray shows them
        // PENDING); one that does not is asked as slots free up.
        let mut trials = Vec::new();
        if let Some(total) = setup.searcher.total_trials() {
            for index in 0..total {
                let Some(variant) = setup.searcher.suggest(index)? else {
                    break;
                };
                trials.push(maker.make(index, variant, &mut *setup.scheduler));
            }
        }
        let mut intro = setup.intro(&name, &dir, trials.len());
        intro.push(format!(
            "{}\n",
            BasicVariantGenerator::describe(&space, setup.num_samples)
        ));
        let n = trials.len();
        let controller = setup.controller(
            maker,
            self.algorithm,
            name,
            id,
            dir,
            start,
            space.to_json(),
            space.has_functions(),
            run,
            trials,
            vec![false; n],
            intro,
        )?;
        controller.run()
    }

    fn fit_restored(self, default: Value) -> Result<ResultGrid, TuneError> {
        let (state, file) = self.restored.expect("restored sweep");
        let saved_tune = &state.tune_config;
        let tune = match self.tune_config {
            Some(t) => t,
            None => TuneConfig {
                metric: saved_tune["metric"].as_str().map(String::from),
                mode: serde_json::from_value(saved_tune["mode"].clone()).ok(),
                num_samples: saved_tune["num_samples"].as_u64().unwrap_or(1) as usize,
                max_concurrent_trials: saved_tune["max_concurrent_trials"]
                    .as_u64()
                    .map(|n| n as usize),
                scheduler: Some(rebuild_scheduler(&state)?),
                search_alg: None,
                seed: saved_tune["seed"].as_u64().unwrap_or(0),
                num_cpus: saved_tune["num_cpus"].as_u64().map(|n| n as usize),
                num_threads: saved_tune["num_threads"].as_u64().map(|n| n as usize),
            },
        };
        let run = match self.run_config {
            Some(r) => r,
            None => run_config_from_json(&state.run_config)?,
        };
        let space = match self.param_space {
            Some(s) => s,
            None => ParamSpace::from_value(strip_functions(&state.param_space))?,
        };
        let saved_scheduler = state.scheduler.clone();
        let mut setup = Setup::new(
            &self.algorithm,
            default,
            tune,
            &space,
            Some(&state.searcher),
        )?;
        if setup.scheduler.name() == saved_scheduler.name {
            setup.scheduler.restore_state(&saved_scheduler.state)?;
        }
        if state.param_space_has_functions
            && setup
                .searcher
                .total_trials()
                .is_some_and(|n| n > state.trials.len())
        {
            return Err(TuneError::Restore(
                "the param space held sample_from functions and not every trial was created: pass the param space again with Tuner::restore(path)?.param_space(space)".into(),
            ));
        }
        let mut trials = state.trials.clone();
        let mut pause = vec![false; trials.len()];
        for (t, p) in trials.iter_mut().zip(pause.iter_mut()) {
            match t.status {
                TrialStatus::Terminated => {}
                TrialStatus::Error if self.restart_errored => {
                    for c in &t.checkpoints {
                        let _ = std::fs::remove_dir_all(&c.path);
                    }
                    t.checkpoints.clear();
                    t.decided_iteration = 0;
                    t.decided_time = 0.0;
                    t.last_result = None;
                    t.num_failures = 0;
                    t.error = None;
                    t.status = TrialStatus::Pending;
                }
                TrialStatus::Error if self.resume_errored => {
                    t.num_failures = 0;
                    t.status = TrialStatus::Pending;
                }
                TrialStatus::Error => {}
                TrialStatus::Paused => {
                    *p = !t.released;
                    t.status = TrialStatus::Pending;
                }
                TrialStatus::Running | TrialStatus::Pending => t.status = TrialStatus::Pending,
            }
        }
        let start = now();
        // The directory the state was found in: a sweep moved or copied elsewhere
        // continues there (checkpoint paths are rebased onto it).
        let dir = file
            .parent()
            .map_or_else(|| state.experiment_path.clone(), Path::to_path_buf);
        for t in &mut trials {
            for c in &mut t.checkpoints {
                if let Ok(rel) = c.path.strip_prefix(&state.experiment_path) {
                    c.path = dir.join(rel);
                }
            }
        }
        let mut intro = setup.intro(&state.experiment_name, &dir, trials.len());
        let count = |s: TrialStatus| trials.iter().filter(|t| t.status == s).count();
        intro.push(format!(
            "Restored the sweep from {}: {} TERMINATED, {} ERROR, {} to continue.\n",
            file.display(),
            count(TrialStatus::Terminated),
            count(TrialStatus::Error),
            count(TrialStatus::Pending)
        ));
        let maker = setup.maker(&state.experiment_id, &space);
        let mut c = setup.controller(
            maker,
            self.algorithm,
            state.experiment_name.clone(),
            state.experiment_id.clone(),
            dir,
            start,
            state.param_space.clone(),
            state.param_space_has_functions,
            run,
            trials,
            pause,
            intro,
        )?;
        c.start_time = state.start_time;
        c.run()
    }
}

/// The 5 hex digits in every trial id, from the sweep's seed and name (Ray draws them
/// from a UUID).
fn experiment_id(seed: u64, name: &str) -> String {
    format!(
        "{:05x}",
        derive_seed(seed, &["tune", "experiment", name]) & 0xf_ffff
    )
}

fn strip_functions(v: &Value) -> Value {
    match v {
        Value::Object(o) if o.len() == 1 && o.contains_key("sample_from") => Value::Null,
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), strip_functions(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn rebuild_scheduler(state: &ExperimentState) -> Result<Box<dyn TrialScheduler>, TuneError> {
    let s = &state.scheduler;
    let num = |k: &str, d: f64| s.settings[k].as_f64().unwrap_or(d);
    let text = |k: &str| s.settings[k].as_str().map(String::from);
    let mode: Option<Mode> = serde_json::from_value(s.settings["mode"].clone()).ok();
    Ok(match s.name.as_str() {
        "FIFOScheduler" => Box::new(FIFOScheduler),
        "AsyncHyperBandScheduler" => {
            let mut a = AsyncHyperBandScheduler::new()
                .max_t(num("max_t", 100.0))
                .grace_period(num("grace_period", 1.0))
                .reduction_factor(num("reduction_factor", 4.0))
                .brackets(num("brackets", 1.0) as usize)
                .time_attr(&text("time_attr").unwrap_or_else(|| "training_iteration".into()));
            a.metric = text("metric");
            a.mode = mode;
            a.stop_last_trials = s.settings["stop_last_trials"].as_bool().unwrap_or(true);
            Box::new(a)
        }
        "MedianStoppingRule" => {
            let mut m = MedianStoppingRule::new()
                .grace_period(num("grace_period", 60.0))
                .min_samples_required(num("min_samples_required", 3.0) as usize)
                .time_attr(&text("time_attr").unwrap_or_else(|| "training_iteration".into()));
            m.metric = text("metric");
            m.mode = mode;
            Box::new(m)
        }
        "PopulationBasedTraining" => Box::new(super::schedulers::pbt::from_settings(&s.settings)?),
        other => {
            return Err(TuneError::Restore(format!(
                "the sweep used the scheduler {other:?}, which cannot be rebuilt from JSON: pass it again with Tuner::restore(path)?.tune_config(TuneConfig {{ scheduler: …, .. }})"
            )))
        }
    })
}

fn run_config_from_json(v: &Value) -> Result<RunConfig, TuneError> {
    let stop = Stop::from_json(&v["stop"]).ok_or_else(|| {
        TuneError::Restore(
            "the sweep stopped trials with a function or a Stopper, which cannot be saved: pass the RunConfig again with Tuner::restore(path)?.run_config(…)".into(),
        )
    })?;
    fn parse<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
        serde_json::from_value(v.clone()).unwrap_or_default()
    }
    Ok(RunConfig {
        name: v["name"].as_str().map(String::from),
        storage_path: v["storage_path"].as_str().map(PathBuf::from),
        stop,
        checkpoint_config: parse(&v["checkpoint_config"]),
        failure_config: parse(&v["failure_config"]),
        verbose: v["verbose"].as_u64().unwrap_or(1) as u8,
        progress: parse(&v["progress"]),
    })
}

/// The parts of `fit` shared by new and restored sweeps.
struct Setup {
    algorithm: String,
    default: Value,
    scheduler: Box<dyn TrialScheduler>,
    searcher: Box<dyn Searcher>,
    num_samples: usize,
    tune_json: Value,
    metric: Option<String>,
    mode: Option<Mode>,
    seed: u64,
    max_concurrent: usize,
    budget: usize,
    threads: usize,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Keys of `config` that `default` (the algorithm's default config) does not have.
fn unknown_keys(
    config: &Map<String, Value>,
    default: &Map<String, Value>,
    prefix: &str,
    out: &mut Vec<String>,
) {
    for (k, v) in config {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}/{k}")
        };
        match default.get(k) {
            None => out.push(path),
            Some(Value::Object(d)) if !d.is_empty() => {
                if let Value::Object(c) = v {
                    unknown_keys(c, d, &path, out);
                }
            }
            Some(_) => {}
        }
    }
}

impl Setup {
    fn new(
        algorithm: &str,
        default: Value,
        mut tune: TuneConfig,
        space: &ParamSpace,
        searcher_state: Option<&Value>,
    ) -> Result<Self, TuneError> {
        if tune.num_samples == 0 {
            return Err(TuneError::Config(
                "num_samples = 0: it must be at least 1".into(),
            ));
        }
        if tune.max_concurrent_trials == Some(0) {
            return Err(TuneError::Config(
                "max_concurrent_trials = 0: it must be at least 1 (or None for no limit)".into(),
            ));
        }
        if let Value::Object(d) = &default {
            let mut unknown = Vec::new();
            let mut keys: Vec<String> = space.domains().keys().cloned().collect();
            unknown_keys(space.base(), d, "", &mut unknown);
            keys.retain(|k| {
                let segs: Vec<&str> = k.split('/').collect();
                let mut node = &default;
                for s in segs {
                    match node.get(s) {
                        Some(n) if !(n.is_object() && n.as_object().is_some_and(Map::is_empty)) => {
                            node = n
                        }
                        Some(_) => return false,
                        None => return true,
                    }
                }
                false
            });
            unknown.extend(keys);
            if !d.is_empty() && !unknown.is_empty() {
                let mut known: Vec<&String> = d.keys().collect();
                known.sort();
                return Err(TuneError::SearchSpace(format!(
                    "unknown config keys {unknown:?} for {algorithm}; its keys are {known:?} (nested keys are joined by `/`)"
                )));
            }
        }
        let seed = tune.seed;
        let mut scheduler = tune
            .scheduler
            .take()
            .unwrap_or_else(|| Box::new(FIFOScheduler));
        scheduler.set_search_properties(tune.metric.as_deref(), tune.mode, seed)?;
        let mut searcher = tune
            .search_alg
            .take()
            .unwrap_or_else(|| Box::new(BasicVariantGenerator::new()));
        searcher.set_search_properties(&SearchProperties {
            metric: tune.metric.as_deref(),
            mode: tune.mode,
            space,
            num_samples: tune.num_samples,
            seed,
        })?;
        if let Some(s) = searcher_state {
            searcher.restore_state(s)?;
        }
        Ok(Setup {
            algorithm: algorithm.to_string(),
            default,
            scheduler,
            searcher,
            num_samples: tune.num_samples,
            tune_json: tune.to_json(),
            metric: tune.metric.clone(),
            mode: tune.mode,
            seed,
            max_concurrent: tune.max_concurrent_trials.unwrap_or(usize::MAX),
            budget: tune.num_cpus.unwrap_or_else(cores).max(1),
            threads: tune.num_threads.unwrap_or_else(cores).max(1),
        })
    }

    fn maker(&self, experiment_id: &str, space: &ParamSpace) -> TrialMaker {
        TrialMaker {
            algorithm: self.algorithm.clone(),
            default: self.default.clone(),
            seed: self.seed,
            experiment_id: experiment_id.to_string(),
            seed_set: space.domains().contains_key("seed")
                || space.base().get("seed").is_some_and(|v| !v.is_null()),
        }
    }

    fn intro(&self, name: &str, dir: &Path, n_trials: usize) -> Vec<String> {
        let rows = vec![
            vec![
                Cell::Str("Search algorithm".into()),
                Cell::Str(self.searcher.name().into()),
            ],
            vec![
                Cell::Str("Scheduler".into()),
                Cell::Str(self.scheduler.name().into()),
            ],
            vec![
                Cell::Str("Number of trials".into()),
                Cell::Str(n_trials.to_string()),
            ],
        ];
        let t = Table::new(
            vec!["Configuration for experiment".into(), name.into()],
            rows,
        );
        vec![
            t.render(),
            format!("\nView detailed results here: {}", dir.display()),
        ]
    }

    #[allow(clippy::too_many_arguments)]
    fn controller(
        self,
        maker: TrialMaker,
        algorithm: String,
        name: String,
        id: String,
        dir: PathBuf,
        start: f64,
        space_json: Value,
        has_functions: bool,
        run: RunConfig,
        trials: Vec<Trial>,
        pause_after_replay: Vec<bool>,
        intro: Vec<String>,
    ) -> Result<Controller, TuneError> {
        let (state_file, searcher_file) = session_files(&dir, start);
        let mut params: Vec<String> = trials
            .iter()
            .flat_map(|t| t.resolved_vars.iter().map(|(k, _)| k.clone()))
            .collect();
        params.extend(self.scheduler.mutated_keys());
        let mut seen = std::collections::BTreeSet::new();
        params.retain(|p| seen.insert(p.clone()));
        let settings = self.scheduler.settings();
        Ok(Controller {
            algorithm,
            experiment_name: name,
            experiment_id: id,
            experiment_dir: dir,
            state_file,
            searcher_file,
            start_time: start,
            param_space_json: space_json,
            param_space_has_functions: has_functions,
            tune_config_json: self.tune_json,
            run_config_json: run.to_json(),
            params,
            trials,
            pause_after_replay,
            scheduler: self.scheduler,
            scheduler_settings: settings,
            searcher: self.searcher,
            stop: run.stop,
            checkpoint: run.checkpoint_config,
            failure: run.failure_config,
            progress: run.progress,
            verbose: run.verbose,
            metric: self.metric,
            mode: self.mode,
            budget: self.budget,
            max_concurrent: self.max_concurrent,
            num_threads: self.threads,
            intro,
            maker,
        })
    }
}
