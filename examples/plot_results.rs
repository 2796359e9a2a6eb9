//! Plots a run's or a sweep's learning curves as PNG and SVG (what `rl plot DIR` will do).
//!
//! ```sh
//! cargo run --release --example plot_results -- DIR [OUT_DIR]
//! ```
//!
//! `DIR`: a trial directory (`result.json`, `params.json`; ours or Ray Tune's) or an
//! experiment directory of trials. Writes `learning_curves.png` and `.svg` into `OUT_DIR`
//! (default: `DIR`).

use std::path::PathBuf;
use std::process::ExitCode;

use rl::plot::{plot_dir, PlotOptions};

/// The example's arguments (parsed by clap).
#[derive(clap::Parser)]
#[command(about = "Plots a run's or a sweep's learning curves as PNG and SVG")]
struct Args {
    /// A trial directory (result.json, params.json; ours or Ray Tune's) or an experiment
    /// directory of trials.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Where to write learning_curves.png and .svg [default: DIR].
    #[arg(value_name = "OUT_DIR")]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = <Args as clap::Parser>::parse();
    let out = args.out.unwrap_or_else(|| args.dir.clone());
    match plot_dir(&args.dir, &out, &PlotOptions::default()) {
        Ok(paths) => {
            for p in paths {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
