//! `rl::tune`: Ray Tune's names and semantics for sweeps of any registered algorithm.
//!
//! ```no_run
//! use rl::algos::PPOConfig;
//! use rl::tune::{grid_search, CheckpointConfig, Mode, ParamSpace, RunConfig, Stop, TuneConfig, Tuner};
//!
//! let config = PPOConfig::new()
//!     .environment("CartPole-v1")
//!     .env_runners(|r| r.num_env_runners(2))
//!     .training(|t| t.train_batch_size(4000).lr(3e-4).gamma(0.99).num_epochs(5))
//!     .evaluation(|e| e.evaluation_interval(Some(10)).evaluation_duration(10));
//! let space = ParamSpace::from_config(&config)?.set("minibatch_size", grid_search([128, 200, 256]));
//! let results = Tuner::new("PPO", space)
//!     .tune_config(TuneConfig::new().metric("evaluation/env_runners/episode_return_mean", Mode::Max))
//!     .run_config(
//!         RunConfig::new()
//!             .stop(Stop::iterations(150))
//!             .checkpoint_config(CheckpointConfig { checkpoint_at_end: true, ..Default::default() }),
//!     )
//!     .fit()?;
//! println!("{results}");
//! # Ok::<(), rl::tune::TuneError>(())
//! ```
//!
//! # Pieces
//! - [`search`]: domains (`grid_search`, `choice`, `uniform`, `loguniform`, …,
//!   `sample_from`), the [`ParamSpace`], the [`Searcher`] trait and Ray's
//!   [`BasicVariantGenerator`].
//! - [`Tuner`], [`TuneConfig`], [`RunConfig`], [`CheckpointConfig`], [`FailureConfig`],
//!   [`Stop`]: what to run and how.
//! - [`schedulers`]: FIFO, [`AsyncHyperBandScheduler`], [`MedianStoppingRule`],
//!   [`PopulationBasedTraining`].
//! - [`ResultGrid`]: the results, best-result scopes, data frames.
//!
//! # Determinism
//!
//! A sweep's trial results are bit-identical whatever `max_concurrent_trials`,
//! `num_threads` and the thread timing are:
//! - trial `i`'s config is grid point `i % grid points` with its other domains drawn from
//!   an RNG seeded with `derive_seed(TuneConfig::seed, ["tune", "search", i])`;
//! - unless the param space sets `seed` itself (a constant or a domain), trial `i` trains
//!   with `seed = derive_seed(TuneConfig::seed, ["tune", "trial", i])`
//!   (`rl_core::seeding::derive_seed`), so repeated samples (`num_samples > 1`) differ;
//! - each algorithm is deterministic given its seed (its own threads return results in a
//!   fixed order);
//! - schedulers see results in an order that does not depend on timing (see
//!   [`schedulers`]): FIFO decides per trial; ASHA and the median rule decide as a
//!   one-trial-at-a-time run would, for any `max_concurrent_trials`; PBT perturbs at
//!   synchronized barriers. Only stoppers that look at the clock (`TimeoutStopper`,
//!   `time_total_s` thresholds) depend on timing, by nature.
//!
//! # Files
//!
//! `storage_path/name/` holds `experiment_state-<date>.json` (everything a resume needs,
//! rewritten atomically after every decision), `searcher-state-<date>.json`, PBT's
//! `pbt_global.txt` and `pbt_policy_<trial id>.txt`, and one directory per trial
//! (`PPO_CartPole-v1_d4590_00000_0_minibatch_size=128`) with `params.json`,
//! `result.json`, `progress.csv` (with the evaluation columns), `error.txt` and
//! `checkpoint_00000N/`. See `docs/tune.md`.

/// Builder setters, `fn name(mut self, v: T) -> Self` (the value converted into the
/// field's type), and `metric(name, mode)` for the types that hold `metric` and `mode`.
macro_rules! setters {
    ($t:ty { $($(#[$doc:meta])* $name:ident: $arg:ty => $field:ident;)* }) => {
        impl $t {
            $(
                $(#[$doc])*
                pub fn $name(mut self, v: $arg) -> Self {
                    self.$field = v.into();
                    self
                }
            )*
        }
    };
    ($t:ty { metric; $($rest:tt)* }) => {
        impl $t {
            /// Sets the metric and its mode.
            pub fn metric(mut self, metric: &str, mode: Mode) -> Self {
                self.metric = Some(metric.to_string());
                self.mode = Some(mode);
                self
            }
        }
        setters!($t { $($rest)* });
    };
}

mod config;
mod controller;
mod error;
mod files;
pub mod report;
pub mod result_grid;
pub mod schedulers;
pub mod search;
mod state;
pub mod stop;
mod trial;
mod trial_maker;
mod tuner;

pub use config::{CheckpointConfig, FailureConfig, Mode, ProgressConfig, RunConfig, TuneConfig};
pub use error::TuneError;
pub use files::read_results;
pub use result_grid::{Checkpoint, DataFrame, ResultGrid, SCOPES};
pub use schedulers::asha::ASHAScheduler;
pub use schedulers::pbt::Mutation;
pub use schedulers::{
    AsyncHyperBandScheduler, Decision, FIFOScheduler, MedianStoppingRule, Ordering,
    PopulationBasedTraining, TrialScheduler,
};
pub use search::{
    choice, grid_search, loguniform, qloguniform, qrandint, quniform, randint, randn, sample_from,
    uniform, BasicVariantGenerator, Domain, ParamSpace, Searcher,
};
pub use state::ExperimentState;
pub use stop::{MaximumIterationStopper, Stop, Stopper, TimeoutStopper};
pub use trial::{CheckpointRecord, Trial, TrialStatus};
pub use tuner::Tuner;

/// One trial's outcome (Ray's `tune.Result`; named `TuneResult` here so that it does not
/// hide `std::result::Result`).
pub type TuneResult = result_grid::Result;
