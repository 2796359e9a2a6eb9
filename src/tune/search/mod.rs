//! Search: domains, the param space, and search algorithms (Ray's `Searcher`), of which
//! [`BasicVariantGenerator`] — grid and random search — is the built-in one.

pub mod domain;
pub mod space;

use serde_json::{json, Value};

use rl_core::metrics::ResultDict;

pub use domain::{
    choice, grid_search, loguniform, qloguniform, qrandint, quniform, randint, randn, sample_from,
    uniform, Domain, SampleFn,
};
pub use space::{format_vars, ParamSpace, Variant};

use super::{Mode, TuneError};

/// What a searcher is told before the sweep starts (Ray's `set_search_properties`).
#[derive(Debug)]
pub struct SearchProperties<'a> {
    /// The metric being optimized, if any.
    pub metric: Option<&'a str>,
    /// Maximize or minimize it.
    pub mode: Option<Mode>,
    /// The param space.
    pub space: &'a ParamSpace,
    /// `TuneConfig::num_samples`.
    pub num_samples: usize,
    /// `TuneConfig::seed`.
    pub seed: u64,
}

/// A search algorithm: suggests trial configs (Ray's `Searcher`/`SearchAlgorithm`), so
/// that smarter ones (Bayesian, TPE, …) can plug in.
///
/// The controller asks for trials in index order. A searcher whose suggestions depend on
/// results it was told about makes a sweep depend on the order trials end in, hence on
/// timing; [`BasicVariantGenerator`]'s do not.
pub trait Searcher: Send {
    /// Its name for the console (`BasicVariantGenerator`).
    fn name(&self) -> &str;
    /// Receives the metric, mode, param space and sample count before the sweep.
    fn set_search_properties(&mut self, props: &SearchProperties<'_>) -> Result<(), TuneError>;
    /// How many trials it will suggest in all, when known up front.
    fn total_trials(&self) -> Option<usize>;
    /// The config of trial `index` (0, 1, 2, … in order), or `None` when done.
    fn suggest(&mut self, index: usize) -> Result<Option<Variant>, TuneError>;
    /// A trial reported a result.
    fn on_trial_result(&mut self, _index: usize, _result: &ResultDict) {}
    /// A trial ended (`error`: it failed for good).
    fn on_trial_complete(&mut self, _index: usize, _result: Option<&ResultDict>, _error: bool) {}
    /// Its state as JSON (written next to the experiment state, for resume).
    fn save_state(&self) -> Value;
    /// Restores [`save_state`](Self::save_state)'s output.
    fn restore_state(&mut self, state: &Value) -> Result<(), TuneError>;
}

/// Ray's default search algorithm: every grid point `num_samples` times, other domains
/// drawn at random with each trial's own seeded RNG. Trial `i` is grid point
/// `i % grid points` of repetition `i / grid points`.
#[derive(Debug, Default)]
pub struct BasicVariantGenerator {
    space: ParamSpace,
    num_samples: usize,
    seed: u64,
    suggested: usize,
}

impl BasicVariantGenerator {
    /// A generator; the param space and sample count come from the Tuner.
    pub fn new() -> Self {
        Self::default()
    }

    /// "3 grid points × 1 sample = 3 trials", as printed at the start of a sweep.
    pub fn describe(space: &ParamSpace, num_samples: usize) -> String {
        let g = space.num_grid_points();
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        format!(
            "{} × {} = {}",
            plural(g, "grid point"),
            plural(num_samples, "sample"),
            plural(g * num_samples, "trial")
        )
    }
}

impl Searcher for BasicVariantGenerator {
    fn name(&self) -> &str {
        "BasicVariantGenerator"
    }

    fn set_search_properties(&mut self, props: &SearchProperties<'_>) -> Result<(), TuneError> {
        props.space.validate()?;
        self.space = props.space.clone();
        self.num_samples = props.num_samples;
        self.seed = props.seed;
        Ok(())
    }

    fn total_trials(&self) -> Option<usize> {
        Some(self.space.num_grid_points() * self.num_samples)
    }

    fn suggest(&mut self, index: usize) -> Result<Option<Variant>, TuneError> {
        if index >= self.total_trials().unwrap_or(0) {
            return Ok(None);
        }
        self.suggested = self.suggested.max(index + 1);
        Ok(Some(self.space.variant(index, self.seed)))
    }

    fn save_state(&self) -> Value {
        json!({
            "name": self.name(),
            "param_space": self.space.to_json(),
            "num_samples": self.num_samples,
            "seed": self.seed,
            "num_suggested": self.suggested,
        })
    }

    fn restore_state(&mut self, state: &Value) -> Result<(), TuneError> {
        let n = state["num_suggested"].as_u64().ok_or_else(|| {
            TuneError::Restore(format!("searcher state without num_suggested: {state}"))
        })?;
        self.suggested = n as usize;
        Ok(())
    }
}
