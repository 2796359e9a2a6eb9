//! `rl plot DIR`: learning curves (PNG and SVG) of a run or a sweep.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::CliError;
use crate::plot::{plot_dir, PlotError, PlotOptions};

/// Which way a sweep's best trial is picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// The largest metric.
    Max,
    /// The smallest metric.
    Min,
}

/// `rl plot`'s flags.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct PlotArgs {
    /// A run's directory (result.json) or a sweep's (one directory per trial); ours or
    /// Ray Tune's.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Where to write learning_curves.png and .svg [default: DIR].
    #[arg(long, short = 'o', value_name = "OUT_DIR")]
    pub out: Option<PathBuf>,
    /// The result key that picks a sweep's best trial by its last value
    /// [default: evaluation/env_runners/episode_return_mean, else the training return].
    #[arg(long, value_name = "KEY")]
    pub metric: Option<String>,
    /// Whether the best trial has the largest or the smallest metric.
    #[arg(long, value_enum, default_value_t = ModeArg::Max)]
    pub mode: ModeArg,
}

/// Runs `rl plot`.
pub fn run(args: PlotArgs) -> Result<(), CliError> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.clone());
    let options = PlotOptions {
        metric: args.metric,
        mode: match args.mode {
            ModeArg::Max => crate::plot::Mode::Max,
            ModeArg::Min => crate::plot::Mode::Min,
        },
        ..PlotOptions::default()
    };
    let paths = plot_dir(&args.dir, &out, &options).map_err(|e| match e {
        PlotError::Results(_) | PlotError::NothingToPlot(_) => CliError::Usage(e.to_string()),
        other => CliError::Run(other.to_string()),
    })?;
    for p in paths {
        println!("{}", p.display());
    }
    Ok(())
}
