//! Result loggers: where each iteration's result goes besides the caller.
//!
//! [`ResultLogger`] is the seam a training loop (or Tune's trial runner) calls once per
//! result, as Tune calls its `LoggerCallback`s: Tune's trial files
//! ([`TrialWriter`](crate::core::metrics::TrialWriter): `result.json`, `progress.csv`) and TensorBoard event files
//! ([`TensorBoardLogger`]) both implement it, so a run can hold a
//! `Vec<Box<dyn ResultLogger>>` and feed each result to all of them.

pub mod event;
pub mod tensorboard;
pub mod tfrecord;

use std::path::{Path, PathBuf};

use rl_core::algorithm::{Algorithm, AlgorithmError};

#[doc(inline)]
pub use rl_core::metrics::ResultLogger;
pub use tensorboard::{tune_scalars, tune_step, TensorBoardLogger};

/// Makes `dir` the run's output directory with everything a run writes there: Tune's trial
/// files (`params.json`, `result.json`, `progress.csv`, through
/// [`Algorithm::log_to`]) and a TensorBoard event file with Tune's tags. Returns `dir`.
pub fn log_to(algo: &mut dyn Algorithm, dir: impl AsRef<Path>) -> Result<PathBuf, AlgorithmError> {
    let dir = algo.log_to(dir.as_ref())?;
    let tb = TensorBoardLogger::create(&dir).map_err(|source| AlgorithmError::Io {
        context: format!("creating a TensorBoard event file in {}", dir.display()),
        source,
    })?;
    algo.add_logger(Box::new(tb));
    Ok(dir)
}
