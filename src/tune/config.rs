//! `TuneConfig`, `RunConfig`, `CheckpointConfig`, `FailureConfig`: Ray Tune's settings
//! with Ray's names and defaults (differences noted on each field).

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::schedulers::TrialScheduler;
use super::search::Searcher;
use super::stop::Stop;
use super::TuneError;

/// Maximize or minimize the metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

impl Mode {
    /// `+1` for max, `-1` for min (Ray's `metric_op`).
    pub fn sign(self) -> f64 {
        match self {
            Mode::Max => 1.0,
            Mode::Min => -1.0,
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Mode::Max => a > b,
            Mode::Min => a < b,
        }
    }

    /// `"max"` or `"min"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Max => "max",
            Mode::Min => "min",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = TuneError;
    fn from_str(s: &str) -> Result<Self, TuneError> {
        match s {
            "max" => Ok(Mode::Max),
            "min" => Ok(Mode::Min),
            other => Err(TuneError::Config(format!(
                "mode {other:?}: use \"max\" or \"min\""
            ))),
        }
    }
}

/// How the sweep searches and schedules (Ray's `tune.TuneConfig`).
pub struct TuneConfig {
    /// The metric to optimize (`evaluation/env_runners/episode_return_mean`); schedulers
    /// and the table use it.
    pub metric: Option<String>,
    /// Maximize or minimize [`metric`](Self::metric).
    pub mode: Option<Mode>,
    /// How many times the whole grid is repeated (Ray's semantics; default 1).
    pub num_samples: usize,
    /// At most this many trials run at once (default: as many as the CPU budget allows).
    pub max_concurrent_trials: Option<usize>,
    /// The trial scheduler (default FIFO).
    pub scheduler: Option<Box<dyn TrialScheduler>>,
    /// The search algorithm (default [`BasicVariantGenerator`](super::BasicVariantGenerator)).
    pub search_alg: Option<Box<dyn Searcher>>,
    /// The sweep's seed: search-space sampling, scheduler randomness and every trial's
    /// `seed` derive from it (see the module docs).
    pub seed: u64,
    /// Logical CPUs trials may reserve, like Ray's `ray.init(num_cpus=…)` (default: the
    /// machine's cores). A trial reserves `1 + num_env_runners +
    /// evaluation_num_env_runners`.
    pub num_cpus: Option<usize>,
    /// Threads actually doing the work, shared by all trials (default: the machine's
    /// cores). Logical CPUs above this share these threads; they never oversubscribe.
    pub num_threads: Option<usize>,
}

impl Default for TuneConfig {
    fn default() -> Self {
        TuneConfig {
            metric: None,
            mode: None,
            num_samples: 1,
            max_concurrent_trials: None,
            scheduler: None,
            search_alg: None,
            seed: 0,
            num_cpus: None,
            num_threads: None,
        }
    }
}

impl fmt::Debug for TuneConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TuneConfig")
            .field("metric", &self.metric)
            .field("mode", &self.mode)
            .field("num_samples", &self.num_samples)
            .field("max_concurrent_trials", &self.max_concurrent_trials)
            .field(
                "scheduler",
                &self.scheduler.as_ref().map(|s| s.name().to_string()),
            )
            .field(
                "search_alg",
                &self.search_alg.as_ref().map(|s| s.name().to_string()),
            )
            .field("seed", &self.seed)
            .field("num_cpus", &self.num_cpus)
            .field("num_threads", &self.num_threads)
            .finish()
    }
}

setters!(TuneConfig {
    metric;
    /// Sets `num_samples`.
    num_samples: usize => num_samples;
    /// Sets `max_concurrent_trials`.
    max_concurrent_trials: usize => max_concurrent_trials;
    /// Sets the sweep's seed.
    seed: u64 => seed;
    /// Sets the logical CPU budget.
    num_cpus: usize => num_cpus;
    /// Sets the number of worker threads.
    num_threads: usize => num_threads;
});

impl TuneConfig {
    /// Ray's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the scheduler.
    pub fn scheduler(mut self, s: impl TrialScheduler + 'static) -> Self {
        self.scheduler = Some(Box::new(s));
        self
    }

    /// Sets the search algorithm.
    pub fn search_alg(mut self, s: impl Searcher + 'static) -> Self {
        self.search_alg = Some(Box::new(s));
        self
    }

    /// The JSON form of the plain settings, for the experiment state.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "metric": self.metric,
            "mode": self.mode,
            "num_samples": self.num_samples,
            "max_concurrent_trials": self.max_concurrent_trials,
            "seed": self.seed,
            "num_cpus": self.num_cpus,
            "num_threads": self.num_threads,
        })
    }
}

/// Checkpointing of every trial (Ray's `tune.CheckpointConfig`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckpointConfig {
    /// Keep at most this many checkpoints per trial (`None`: all). The latest is never
    /// deleted.
    pub num_to_keep: Option<usize>,
    /// Keep the best ones by this result key instead of the latest ones.
    pub checkpoint_score_attribute: Option<String>,
    /// Whether a higher score is better (Ray's `checkpoint_score_order`, default `"max"`).
    pub checkpoint_score_order: Mode,
    /// Save every N iterations (0: never).
    pub checkpoint_frequency: usize,
    /// Save when a trial ends.
    pub checkpoint_at_end: bool,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        CheckpointConfig {
            num_to_keep: None,
            checkpoint_score_attribute: None,
            checkpoint_score_order: Mode::Max,
            checkpoint_frequency: 0,
            checkpoint_at_end: false,
        }
    }
}

/// What happens when a trial fails (Ray's `tune.FailureConfig`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FailureConfig {
    /// Retries per trial, each from its latest checkpoint (from scratch without one);
    /// `-1`: retry forever. Default 0.
    pub max_failures: i64,
    /// Stop the whole sweep at the first trial error (its other running trials end as
    /// TERMINATED, pending ones stay PENDING).
    pub fail_fast: bool,
}

/// Console output settings (Ray's `CLIReporter` knobs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressConfig {
    /// Print the trial table at most every this many seconds (Ray's
    /// `max_report_frequency`, default 5).
    pub max_report_frequency: f64,
    /// Fit the trial table into this many columns (default 80; `None`: Ray's full width).
    pub max_width: Option<usize>,
    /// The keys of the result box printed when a trial ends (default: RLlib's progress
    /// metrics that its results hold: `env_runners/episode_len_mean`,
    /// `env_runners/episode_return_mean`, `evaluation/env_runners/episode_return_mean`,
    /// `num_env_steps_sampled_lifetime`).
    pub progress_metrics: Vec<String>,
    /// The metric columns of the trial table after `iter` and `total time (s)` (Ray's
    /// `metric_columns`); `None`: the sweep's metric and Ray's pick of up to four
    /// top-level numbers.
    pub metric_columns: Option<Vec<String>>,
}

impl Default for ProgressConfig {
    fn default() -> Self {
        ProgressConfig {
            max_report_frequency: 5.0,
            max_width: Some(80),
            progress_metrics: [
                "env_runners/episode_return_mean",
                "evaluation/env_runners/episode_return_mean",
                "num_env_steps_sampled_lifetime",
                "env_runners/episode_len_mean",
            ]
            .map(String::from)
            .to_vec(),
            metric_columns: None,
        }
    }
}

/// Where the sweep writes and when trials stop (Ray's `tune.RunConfig`).
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// The experiment's name (default `<algorithm>_<date>`, as Ray's).
    pub name: Option<String>,
    /// The directory holding experiments (default `~/rl_results`; Ray's is
    /// `~/ray_results`).
    pub storage_path: Option<PathBuf>,
    /// When trials stop.
    pub stop: Stop,
    /// Checkpointing.
    pub checkpoint_config: CheckpointConfig,
    /// Failure handling.
    pub failure_config: FailureConfig,
    /// 0: silent; 1: the trial table, and a result box when a trial ends (default);
    /// 2: also a result box after every iteration.
    pub verbose: u8,
    /// Console output.
    pub progress: ProgressConfig,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            name: None,
            storage_path: None,
            stop: Stop::Never,
            checkpoint_config: CheckpointConfig::default(),
            failure_config: FailureConfig::default(),
            verbose: 1,
            progress: ProgressConfig::default(),
        }
    }
}

setters!(RunConfig {
    /// Sets the stop criteria.
    stop: Stop => stop;
    /// Sets the checkpoint config.
    checkpoint_config: CheckpointConfig => checkpoint_config;
    /// Sets the failure config.
    failure_config: FailureConfig => failure_config;
    /// Sets the verbosity.
    verbose: u8 => verbose;
    /// Sets the console output settings.
    progress: ProgressConfig => progress;
});

impl RunConfig {
    /// Ray's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Sets the storage path.
    pub fn storage_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.storage_path = Some(path.into());
        self
    }

    /// The default storage path: `$HOME/rl_results` (or `./rl_results` without a home).
    pub fn default_storage_path() -> PathBuf {
        std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."))
            .join("rl_results")
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "storage_path": self.storage_path,
            "stop": self.stop.to_json(),
            "checkpoint_config": self.checkpoint_config,
            "failure_config": self.failure_config,
            "verbose": self.verbose,
            "progress": self.progress,
        })
    }
}
