//! `rl train`: builds the algorithm from the experiment file and flags, trains it until the
//! stop criterion, writing Tune's trial files, a TensorBoard events file and checkpoints.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use rl_core::algorithm::{build_algorithm, Algorithm};
use rl_core::metrics::ResultDict;
use serde_json::{json, Value};

use crate::cli::args::{OutputArgs, RunArgs};
use crate::cli::experiment::{RunPlan, StopCriteria};
use crate::cli::progress::{Mode, TrainProgress};
use crate::cli::CliError;
use crate::tune::report::format::date_str;
use crate::tune::RunConfig;

/// The file in a run's directory that tells `rl resume` how the run was started.
pub const RUN_FILE: &str = "rl_train.json";

/// `rl train`'s flags.
#[derive(Args, Clone, Debug, Default, PartialEq)]
pub struct TrainArgs {
    /// What to train.
    #[command(flatten)]
    pub run: RunArgs,
    /// What to print.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `~/rl_results/<ALGO>_<ENV>_<date>` (Ray's `~/ray_results/PPO_CartPole-v1_<date>`).
fn default_output(plan: &RunPlan) -> PathBuf {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    RunConfig::default_storage_path().join(format!(
        "{}_{}_{}",
        plan.algorithm,
        plan.env(),
        date_str(now)
    ))
}

/// Runs `rl train`.
pub fn run(args: TrainArgs) -> Result<(), CliError> {
    let plan = RunPlan::from_args(&args.run)?;
    let dir = plan.output.clone().unwrap_or_else(|| default_output(&plan));
    refuse_existing_run(&dir)?;
    let mut progress = TrainProgress::new(Mode::from_flags(args.output), &plan.stop);
    let mut algo = build_algorithm(&plan.algorithm, &plan.config).map_err(CliError::building)?;
    let dir = crate::logger::log_to(&mut *algo, &dir)?;
    write_run_file(&dir, &plan.algorithm, &plan.stop, plan.plot)?;
    progress.message(&format!(
        "Training {} on {} until {}; results in {}",
        plan.algorithm,
        plan.env(),
        plan.stop.describe(),
        dir.display()
    ));
    train_until(&mut *algo, &plan.stop, &mut progress)?;
    finish(&mut *algo, &dir, plan.plot, &progress)
}

/// Refuses to write over the results of another run.
fn refuse_existing_run(dir: &Path) -> Result<(), CliError> {
    let result = dir.join("result.json");
    if std::fs::metadata(&result).is_ok_and(|m| m.len() > 0) {
        return Err(CliError::Usage(format!(
            "{} already holds a run (result.json): continue it with `rl resume {}`, or choose another --output",
            dir.display(),
            dir.display()
        )));
    }
    Ok(())
}

/// Records how the run was started, for `rl resume`.
pub(crate) fn write_run_file(
    dir: &Path,
    algorithm: &str,
    stop: &StopCriteria,
    plot: bool,
) -> Result<(), CliError> {
    let v = json!({ "algorithm": algorithm, "stop": stop.to_json(), "plot": plot });
    let path = dir.join(RUN_FILE);
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    std::fs::write(&path, text)
        .map_err(|e| CliError::Run(format!("cannot write {}: {e}", path.display())))
}

/// Reads what [`write_run_file`] wrote: (algorithm, stop, plot).
pub(crate) fn read_run_file(dir: &Path) -> Result<(String, StopCriteria, bool), CliError> {
    let path = dir.join(RUN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        CliError::Usage(format!(
            "{} is not a run started by `rl train` ({}: {e})",
            dir.display(),
            path.display()
        ))
    })?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Run(format!("{}: bad JSON: {e}", path.display())))?;
    let algorithm = v["algorithm"].as_str().unwrap_or_default().to_string();
    let stop = StopCriteria::from_json(&v["stop"], &path.display().to_string())?;
    Ok((algorithm, stop, v["plot"].as_bool().unwrap_or(false)))
}

/// Trains until `stop` says so; returns the last result (`None` if no iteration ran).
pub(crate) fn train_until(
    algo: &mut dyn Algorithm,
    stop: &StopCriteria,
    progress: &mut TrainProgress,
) -> Result<Option<ResultDict>, CliError> {
    loop {
        let result = algo.train()?;
        progress.on_result(&result);
        if stop.should_stop(&result) {
            return Ok(Some(result));
        }
    }
}

/// Ends the run: the final checkpoint (with `checkpoint_at_end`), the plots (with
/// `--plot`), and where everything is.
pub(crate) fn finish(
    algo: &mut dyn Algorithm,
    dir: &Path,
    plot: bool,
    progress: &TrainProgress,
) -> Result<(), CliError> {
    let checkpoint = algo.stop()?;
    progress.finish();
    progress.message(&format!(
        "Trained {} iterations; results in {}",
        algo.iteration(),
        dir.display()
    ));
    if let Some(c) = checkpoint {
        progress.message(&format!("Checkpoint: {}", c.display()));
    }
    if plot {
        let paths = crate::plot::plot_dir(dir, dir, &crate::plot::PlotOptions::default())
            .map_err(|e| CliError::Run(format!("plotting: {e}")))?;
        for p in paths {
            progress.message(&format!("Plot: {}", p.display()));
        }
    }
    progress.message(&format!(
        "TensorBoard: tensorboard --logdir {}",
        dir.display()
    ));
    Ok(())
}
