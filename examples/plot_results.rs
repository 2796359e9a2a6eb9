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

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let Some(dir) = args.next() else {
        eprintln!("usage: plot_results DIR [OUT_DIR]");
        return ExitCode::from(2);
    };
    let out = args.next().unwrap_or_else(|| dir.clone());
    match plot_dir(&dir, &out, &PlotOptions::default()) {
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
