//! Writes a TensorBoard event file from a trial's `result.json`, as Ray Tune's
//! `TBXLoggerCallback` would have written it during the run.
//!
//! ```sh
//! cargo run --release --example tensorboard_from_results -- TRIAL_DIR [OUT_DIR]
//! tensorboard --logdir OUT_DIR
//! ```
//!
//! `TRIAL_DIR` holds `result.json` (ours or Ray Tune's); the event file goes into `OUT_DIR`
//! (default: `TRIAL_DIR`). Check it with TensorBoard's own reader:
//! `python scripts/check_tfevents.py OUT_DIR` (needs `result.json` beside it).

use std::path::PathBuf;
use std::process::ExitCode;

use rl::logger::{ResultLogger, TensorBoardLogger};
use rl::results::read_results;

fn run(trial: PathBuf, out: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let results = read_results(trial.join("result.json"))?;
    let mut tb = TensorBoardLogger::create(&out)?;
    for r in &results {
        tb.on_result(r)?;
    }
    println!("{} results -> {}", results.len(), tb.path().display());
    Ok(())
}

/// The example's arguments (parsed by clap).
#[derive(clap::Parser)]
#[command(about = "Writes a TensorBoard event file from a trial's result.json")]
struct Args {
    /// The trial directory holding result.json (ours or Ray Tune's).
    #[arg(value_name = "TRIAL_DIR")]
    trial: PathBuf,
    /// Where to write the event file [default: TRIAL_DIR].
    #[arg(value_name = "OUT_DIR")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    let out = args.out.unwrap_or_else(|| args.trial.clone());
    match run(args.trial, out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
