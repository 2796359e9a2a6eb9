//! Result loggers: where each iteration's result goes besides the caller.
//!
//! [`ResultLogger`] is the seam a training loop (or Tune's trial runner) calls once per
//! result, as Tune calls its `LoggerCallback`s: Tune's trial files
//! ([`TrialWriter`]: `result.json`, `progress.csv`) and TensorBoard event files
//! ([`TensorBoardLogger`]) both implement it, so a run can hold a
//! `Vec<Box<dyn ResultLogger>>` and feed each result to all of them.

pub mod event;
pub mod tensorboard;
pub mod tfrecord;

use std::io;

use rl_core::metrics::{ResultDict, TrialWriter};

pub use tensorboard::{tune_scalars, tune_step, TensorBoardLogger};

/// Receives every result of a run, in order (Tune's `LoggerCallback.log_trial_result`).
pub trait ResultLogger {
    /// Records one iteration's result.
    fn on_result(&mut self, result: &ResultDict) -> io::Result<()>;
}

impl ResultLogger for TrialWriter {
    /// Appends the result to `result.json` and `progress.csv`.
    fn on_result(&mut self, result: &ResultDict) -> io::Result<()> {
        self.write(result)
    }
}
