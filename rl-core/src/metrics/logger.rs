//! [`ResultLogger`]: where each iteration's result goes besides the caller, as Tune's
//! `LoggerCallback`s. Tune's trial files ([`TrialWriter`]) implement it here; the `rl`
//! crate adds TensorBoard event files. A run holds any number of them
//! (`Algorithm::add_logger` in the algorithm wing).

use std::io;

use super::{ResultDict, TrialWriter};

/// Receives every result of a run, in order (Tune's `LoggerCallback.log_trial_result`).
pub trait ResultLogger: Send {
    /// Records one iteration's result.
    fn on_result(&mut self, result: &ResultDict) -> io::Result<()>;
}

impl ResultLogger for TrialWriter {
    /// Appends the result to `result.json` and `progress.csv`.
    fn on_result(&mut self, result: &ResultDict) -> io::Result<()> {
        self.write(result)
    }
}
