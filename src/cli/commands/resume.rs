//! `rl resume DIR`: continues a run of `rl train` from its latest checkpoint until its stop
//! criterion, appending to its trial files (rows after the checkpoint's iteration are
//! dropped first, so the files read as one uninterrupted run); or a sweep of `rl tune`
//! with its saved settings (`Tuner::restore`).

use std::path::{Path, PathBuf};

use clap::Args;
use rl_core::algorithm::algorithm_from_checkpoint;
use rl_core::algorithm::checkpoint::latest_checkpoint;
use rl_core::metrics::get_path;

use super::train::{finish, read_run_file, train_until, RUN_FILE};
use crate::cli::args::OutputArgs;
use crate::cli::progress::{Mode, TrainProgress};
use crate::cli::CliError;

/// `rl resume`'s flags.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct ResumeArgs {
    /// The run's directory (what `rl train --output` named) or a sweep's
    /// (`storage_path/name`).
    #[arg(value_name = "RUN_OR_EXPERIMENT_DIR")]
    pub dir: PathBuf,
    /// What to print.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Runs `rl resume`.
pub fn run(args: ResumeArgs) -> Result<(), CliError> {
    if args.dir.join(RUN_FILE).is_file() {
        return resume_run(&args.dir, args.output);
    }
    if crate::tune::Tuner::can_restore(&args.dir) {
        return super::tune::resume_sweep(&args.dir, args.output);
    }
    Err(CliError::Usage(format!(
        "{} holds neither a run of `rl train` ({RUN_FILE}) nor a sweep (experiment_state-*.json)",
        args.dir.display()
    )))
}

fn resume_run(dir: &Path, output: OutputArgs) -> Result<(), CliError> {
    rl_algos::register_builtins();
    let (algorithm, stop, plot) = read_run_file(dir)?;
    let checkpoint = latest_checkpoint(dir).ok_or_else(|| {
        CliError::Usage(format!(
            "{} holds no checkpoint to resume from; runs keep checkpoints with --set checkpoint_frequency=N or --checkpoint-at-end",
            dir.display()
        ))
    })?;
    let mut algo = algorithm_from_checkpoint(&checkpoint)?;
    if algo.name() != algorithm {
        return Err(CliError::Run(format!(
            "{} is a {} checkpoint but the run trains {algorithm}",
            checkpoint.display(),
            algo.name()
        )));
    }
    let mut progress = TrainProgress::new(Mode::from_flags(output), &stop);
    if let Some(last) = last_result(dir) {
        let at = get_path(&last, "training_iteration").and_then(|v| v.as_u64());
        if stop.should_stop(&last) && at == Some(algo.iteration() as u64) {
            progress.finish();
            progress.message(&format!(
                "{} is complete: iteration {} met {}",
                dir.display(),
                algo.iteration(),
                stop.describe()
            ));
            return Ok(());
        }
    }
    let dir = crate::logger::log_to(&mut *algo, dir)?;
    progress.message(&format!(
        "Resuming {algorithm} from {} (iteration {}) until {}",
        checkpoint.display(),
        algo.iteration(),
        stop.describe()
    ));
    train_until(&mut *algo, &stop, &mut progress)?;
    finish(&mut *algo, &dir, plot, &progress)
}

/// The run's last result in `result.json`, if it can be read.
fn last_result(dir: &Path) -> Option<rl_core::metrics::ResultDict> {
    crate::results::read_results(dir.join("result.json"))
        .ok()?
        .pop()
}
