//! What `rl train` shows while it runs: a progress bar on a terminal (iteration, return,
//! env steps/s, ETA to the stop criterion), one plain line per iteration otherwise (CI logs
//! stay readable), one JSON line per result with `--json`, nothing with `--quiet`.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rl_core::metrics::{get_path, ResultDict};
use serde_json::Value;

use super::args::OutputArgs;
use super::experiment::StopCriteria;

/// Bar positions per unit of progress towards the stop criterion.
const BAR_LEN: u64 = 1000;

/// The bar: elapsed time, the bar, its percentage, the ETA and the message.
pub const BAR_TEMPLATE: &str =
    "[{elapsed_precise}] {wide_bar:.cyan/blue} {percent:>3}% ETA {eta} | {msg}";
/// Without a stop criterion: a spinner, elapsed time and the message.
const SPINNER_TEMPLATE: &str = "{spinner} [{elapsed_precise}] {msg}";

/// A bar (`Some(len)`) or a spinner drawn on stdout in `template`, ticking 5 times a second.
pub fn new_bar(len: Option<u64>, template: &str, message: &str) -> ProgressBar {
    let bar = len.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
    bar.set_draw_target(ProgressDrawTarget::stdout());
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar.set_message(message.to_string());
    bar
}

/// Where the per-iteration output goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Nothing.
    Quiet,
    /// One JSON result per line on stdout; messages on stderr.
    Json,
    /// A live progress bar (stdout is a terminal).
    Bar,
    /// One line per iteration.
    Plain,
}

impl Mode {
    /// The mode for these flags, with a bar only when stdout is a terminal.
    pub fn from_flags(out: OutputArgs) -> Self {
        if out.json {
            Mode::Json
        } else if out.quiet {
            Mode::Quiet
        } else if std::io::stdout().is_terminal() {
            Mode::Bar
        } else {
            Mode::Plain
        }
    }
}

/// The training run's progress output.
pub struct TrainProgress {
    mode: Mode,
    bar: Option<ProgressBar>,
    stop: StopCriteria,
}

fn num(r: &ResultDict, path: &str) -> Option<f64> {
    get_path(r, path).and_then(Value::as_f64)
}

/// `1234.5` → `1.23k`, for rates.
fn si(x: f64) -> String {
    match x {
        x if !x.is_finite() => "-".into(),
        x if x >= 1e6 => format!("{:.2}M", x / 1e6),
        x if x >= 1e3 => format!("{:.1}k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

fn fmt(x: Option<f64>, decimals: usize) -> String {
    x.filter(|v| v.is_finite())
        .map_or_else(|| "-".into(), |v| format!("{v:.decimals$}"))
}

/// Env steps sampled per second in this iteration.
pub fn steps_per_second(r: &ResultDict) -> Option<f64> {
    let steps = num(r, "env_runners/num_env_steps_sampled")?;
    let t = num(r, "time_this_iter_s")?;
    (t > 0.0).then(|| steps / t)
}

/// One line per iteration: iteration, training return (min, max), evaluation return,
/// env steps, env steps/s, seconds.
pub fn iteration_line(r: &ResultDict) -> String {
    let mut line = format!(
        "iter {:>4}  return {:>7} (min {}, max {})",
        fmt(num(r, "training_iteration"), 0),
        fmt(num(r, "env_runners/episode_return_mean"), 2),
        fmt(num(r, "env_runners/episode_return_min"), 0),
        fmt(num(r, "env_runners/episode_return_max"), 0),
    );
    if let Some(e) = num(r, "evaluation/env_runners/episode_return_mean") {
        line.push_str(&format!("  eval {}", fmt(Some(e), 2)));
    }
    line.push_str(&format!(
        "  env steps {}  {} steps/s  {} s",
        fmt(num(r, "num_env_steps_sampled_lifetime"), 0),
        steps_per_second(r).map_or_else(|| "-".into(), si),
        fmt(num(r, "time_this_iter_s"), 3),
    ));
    line
}

fn bar_message(r: &ResultDict) -> String {
    let mut m = format!(
        "iter {} | return {}",
        fmt(num(r, "training_iteration"), 0),
        fmt(num(r, "env_runners/episode_return_mean"), 1)
    );
    if let Some(e) = num(r, "evaluation/env_runners/episode_return_mean") {
        m.push_str(&format!(" | eval {}", fmt(Some(e), 1)));
    }
    m.push_str(&format!(
        " | {} steps/s",
        steps_per_second(r).map_or_else(|| "-".into(), si)
    ));
    m
}

impl TrainProgress {
    /// Progress output in `mode` towards `stop`.
    pub fn new(mode: Mode, stop: &StopCriteria) -> Self {
        let bar = (mode == Mode::Bar).then(|| {
            if stop.0.is_empty() {
                new_bar(None, SPINNER_TEMPLATE, "building the algorithm…")
            } else {
                new_bar(Some(BAR_LEN), BAR_TEMPLATE, "building the algorithm…")
            }
        });
        TrainProgress {
            mode,
            bar,
            stop: stop.clone(),
        }
    }

    /// The mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Shows one iteration's result.
    pub fn on_result(&mut self, r: &ResultDict) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Json => {
                let mut out = std::io::stdout().lock();
                // A closed pipe (`rl train --json | head`) is not an error of the run.
                let _ = serde_json::to_writer(&mut out, r);
                let _ = writeln!(out);
                let _ = out.flush();
            }
            Mode::Plain => println!("{}", iteration_line(r)),
            Mode::Bar => {
                if let Some(bar) = &self.bar {
                    if get_path(r, "evaluation").is_some() {
                        bar.println(iteration_line(r));
                    }
                    if let Some(f) = self.stop.fraction(r) {
                        bar.set_position((f * BAR_LEN as f64).round() as u64);
                    }
                    bar.set_message(bar_message(r));
                }
            }
        }
    }

    /// Prints a message line: above the bar, on stdout in plain mode, on stderr with
    /// `--json`, nowhere with `--quiet`.
    pub fn message(&self, line: &str) {
        match self.mode {
            Mode::Quiet => {}
            Mode::Json => eprintln!("{line}"),
            Mode::Plain => println!("{line}"),
            Mode::Bar => match &self.bar {
                Some(bar) if !bar.is_finished() => bar.println(line),
                _ => println!("{line}"),
            },
        }
    }

    /// Ends the bar (leaving its last state on screen, the cursor on the next line).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.finish();
                println!();
            }
        }
    }
}

impl Drop for TrainProgress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iteration_lines_show_return_eval_and_rate() {
        let r = json!({
            "training_iteration": 10,
            "time_this_iter_s": 0.5,
            "num_env_steps_sampled_lifetime": 5000,
            "env_runners": {"episode_return_mean": 187.321, "episode_return_min": 20.0,
                            "episode_return_max": 500.0, "num_env_steps_sampled": 500},
            "evaluation": {"env_runners": {"episode_return_mean": 480.1}}
        });
        let line = iteration_line(r.as_object().unwrap());
        assert_eq!(
            line,
            "iter   10  return  187.32 (min 20, max 500)  eval 480.10  env steps 5000  1.0k steps/s  0.500 s"
        );
        let r = json!({"training_iteration": 1});
        let line = iteration_line(r.as_object().unwrap());
        assert!(
            line.contains("return       - (min -, max -)") && !line.contains("eval"),
            "{line}"
        );
    }
}
