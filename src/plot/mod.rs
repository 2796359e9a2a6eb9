//! Learning curves of a run or a sweep as PNG and SVG (`rl plot DIR`).
//!
//! [`plot_dir`] reads a trial directory (Tune's `result.json`, `params.json`, ours or Ray
//! Tune's) or an experiment directory of trials and writes `learning_curves.png` and
//! `learning_curves.svg`: training return with its min–max band, evaluation return,
//! policy loss, value loss, KL and entropy against env steps
//! (`num_env_steps_sampled_lifetime`). For a sweep, one line per trial labelled by the
//! parameters that differ between the trials' `params.json`, the best trial
//! ([`best_trial`]) drawn thicker, with its band.
//!
//! No system libraries: text is drawn with an embedded DejaVu Sans
//! (`src/plot/fonts/`, its licence beside it) through plotters' `ab_glyph` backend, and PNGs
//! are encoded by the pure-Rust `png` crate. Behind the default-on `plot` feature.

mod draw;
pub mod figure;

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::{BitMapBackend, IntoDrawingArea, SVGBackend};
use plotters::style::FontStyle;
use thiserror::Error;

use crate::results::{read_experiment, Experiment, ResultsError};
pub use figure::{best_trial, run_figure, sweep_figure, Figure, Mode, DEFAULT_METRIC};

/// The file name (without extension) of the plots.
pub const FILE_STEM: &str = "learning_curves";

static DEJAVU_SANS: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

/// Why plots could not be made.
#[derive(Debug, Error)]
pub enum PlotError {
    /// The directory's results could not be read.
    #[error(transparent)]
    Results(#[from] ResultsError),
    /// The results hold none of the plotted keys.
    #[error(
        "{0}: the results hold none of the plotted keys (env_runners/episode_return_mean, \
         learners/<module>/policy_loss, …); is this an RLlib-style run?"
    )]
    NothingToPlot(PathBuf),
    /// A plot file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// plotters or the PNG encoder failed.
    #[error("drawing {path}: {reason}")]
    Draw {
        /// The file being drawn.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}

/// How to plot.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// The key that picks a sweep's best trial by its last value; `None`:
    /// [`DEFAULT_METRIC`], falling back to `env_runners/episode_return_mean`.
    pub metric: Option<String>,
    /// Whether the best trial has the largest or the smallest metric.
    pub mode: Mode,
    /// Image size in pixels (the SVG's too).
    pub size: (u32, u32),
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            metric: None,
            mode: Mode::Max,
            size: (1500, 900),
        }
    }
}

/// Plots the run or sweep in `dir` into `out_dir` (created if needed); returns the PNG's
/// and the SVG's paths.
pub fn plot_dir(
    dir: impl AsRef<Path>,
    out_dir: impl AsRef<Path>,
    options: &PlotOptions,
) -> Result<[PathBuf; 2], PlotError> {
    let dir = dir.as_ref();
    let figure = match read_experiment(dir)? {
        Experiment::Run(trial) => run_figure(&trial),
        // An experiment of one trial is plotted as that run.
        Experiment::Sweep(trials) if trials.len() == 1 => run_figure(&trials[0]),
        Experiment::Sweep(trials) => {
            let title = dir.file_name().map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            sweep_figure(&trials, &title, options.metric.as_deref(), options.mode)
        }
    };
    if figure.panels.iter().all(|p| p.is_empty()) {
        return Err(PlotError::NothingToPlot(dir.to_path_buf()));
    }
    write_figure(&figure, out_dir, FILE_STEM, options.size)
}

/// Writes `figure` as `out_dir/<stem>.png` and `out_dir/<stem>.svg`; returns their paths.
pub fn write_figure(
    figure: &Figure,
    out_dir: impl AsRef<Path>,
    stem: &str,
    (width, height): (u32, u32),
) -> Result<[PathBuf; 2], PlotError> {
    let out_dir = out_dir.as_ref();
    fs::create_dir_all(out_dir).map_err(|source| PlotError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let png_path = out_dir.join(format!("{stem}.png"));
    let svg_path = out_dir.join(format!("{stem}.svg"));
    let draw_err = |path: &Path, reason: String| PlotError::Draw {
        path: path.to_path_buf(),
        reason,
    };
    register_font().map_err(|r| draw_err(&png_path, r))?;

    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw::draw_figure(&root, figure).map_err(|e| draw_err(&png_path, e.to_string()))?;
        root.present()
            .map_err(|e| draw_err(&png_path, e.to_string()))?;
    }
    write_png(&png_path, &rgb, (width, height))?;

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        draw::draw_figure(&root, figure).map_err(|e| draw_err(&svg_path, e.to_string()))?;
        root.present()
            .map_err(|e| draw_err(&svg_path, e.to_string()))?;
    }
    fs::write(&svg_path, svg).map_err(|source| PlotError::Io {
        path: svg_path.clone(),
        source,
    })?;
    Ok([png_path, svg_path])
}

fn write_png(path: &Path, rgb: &[u8], (width, height): (u32, u32)) -> Result<(), PlotError> {
    let file = File::create(path).map_err(|source| PlotError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut w| {
            w.write_image_data(rgb)?;
            w.finish()
        })
        .map_err(|e| PlotError::Draw {
            path: path.to_path_buf(),
            reason: format!("encoding PNG: {e}"),
        })
}

/// Registers the embedded font as plotters' `sans-serif`, once per process.
fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font("sans-serif", FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the embedded DejaVu Sans font did not load".to_string())
        })
        .clone()
}
