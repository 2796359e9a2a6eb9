//! What a plot shows, before any drawing: panels of lines and bands taken from trials'
//! results under RLlib's keys.

use serde_json::Value;

use crate::results::{leaf_f64, series, varied_params, Trial};

/// The key whose last value picks a sweep's best trial, as Tune's `metric` would.
pub const DEFAULT_METRIC: &str = "evaluation/env_runners/episode_return_mean";
/// The metric used when no trial reports [`DEFAULT_METRIC`] (no evaluation configured).
pub const FALLBACK_METRIC: &str = "env_runners/episode_return_mean";

/// The x axes tried in order: the first every trial reports is used.
const X_KEYS: [&str; 3] = [
    "num_env_steps_sampled_lifetime",
    "env_runners/num_env_steps_sampled_lifetime",
    "training_iteration",
];

/// Whether a larger or a smaller metric is better (Tune's `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Larger is better (returns).
    #[default]
    Max,
    /// Smaller is better (losses).
    Min,
}

/// One line of a panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The legend's text.
    pub label: String,
    /// `(x, y)` in x order.
    pub points: Vec<(f64, f64)>,
    /// Index into the palette.
    pub color: usize,
    /// Drawn thicker, on top (the run's own curve, or a sweep's best trial).
    pub highlight: bool,
}

/// A shaded band between a lower and an upper curve (the min–max of episode returns).
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    /// The legend's text.
    pub label: String,
    /// `(x, low, high)` in x order.
    pub points: Vec<(f64, f64, f64)>,
    /// Index into the palette.
    pub color: usize,
}

/// One chart of the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The chart's caption.
    pub title: String,
    /// The result key plotted (shown on the y axis).
    pub y_label: String,
    /// Its lines.
    pub lines: Vec<Line>,
    /// Its bands, drawn under the lines.
    pub bands: Vec<Band>,
}

impl Panel {
    /// Whether the panel has anything to draw.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.points.is_empty())
            && self.bands.iter().all(|b| b.points.is_empty())
    }
}

/// A figure: a title, a shared x axis and its panels.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The figure's title.
    pub title: String,
    /// The x axis' key.
    pub x_label: String,
    /// The panels, row by row.
    pub panels: Vec<Panel>,
}

/// What each panel plots: caption, key (under `learners/<module>/` when `learner`), and the
/// keys of its min–max band.
struct PanelSpec {
    title: &'static str,
    key: &'static str,
    learner: bool,
    band: Option<(&'static str, &'static str)>,
}

const PANELS: [PanelSpec; 6] = [
    PanelSpec {
        title: "Training return",
        key: "env_runners/episode_return_mean",
        learner: false,
        band: Some((
            "env_runners/episode_return_min",
            "env_runners/episode_return_max",
        )),
    },
    PanelSpec {
        title: "Evaluation return",
        key: "evaluation/env_runners/episode_return_mean",
        learner: false,
        band: Some((
            "evaluation/env_runners/episode_return_min",
            "evaluation/env_runners/episode_return_max",
        )),
    },
    PanelSpec {
        title: "Policy loss",
        key: "policy_loss",
        learner: true,
        band: None,
    },
    PanelSpec {
        title: "Value loss",
        key: "vf_loss",
        learner: true,
        band: None,
    },
    PanelSpec {
        title: "KL divergence",
        key: "mean_kl_loss",
        learner: true,
        band: None,
    },
    PanelSpec {
        title: "Entropy",
        key: "entropy",
        learner: true,
        band: None,
    },
];

/// The figure of one run: each panel its mean curve, the returns with their min–max band.
pub fn run_figure(trial: &Trial) -> Figure {
    let x_key = x_key(std::slice::from_ref(trial));
    let module = learner_module(trial);
    let panels = PANELS
        .iter()
        .map(|spec| {
            let key = spec_key(spec, &module);
            let line = Line {
                label: "mean".to_string(),
                points: series(&trial.results, x_key, &key),
                color: 0,
                highlight: true,
            };
            let bands = spec
                .band
                .map(|(lo, hi)| Band {
                    label: "min–max".to_string(),
                    points: band(trial, x_key, lo, hi),
                    color: 0,
                })
                .into_iter()
                .collect();
            Panel {
                title: spec.title.to_string(),
                y_label: key,
                lines: vec![line],
                bands,
            }
        })
        .collect();
    Figure {
        title: trial.name(),
        x_label: x_key.to_string(),
        panels,
    }
}

/// The figure of a sweep: one line per trial labelled by the parameters the sweep varied,
/// the best trial ([`best_trial`]) highlighted, with its return band.
pub fn sweep_figure(trials: &[Trial], title: &str, metric: Option<&str>, mode: Mode) -> Figure {
    let x_key = x_key(trials);
    let labels = trial_labels(trials);
    let best = best_trial(trials, metric, mode).map(|(i, _)| i);
    let panels = PANELS
        .iter()
        .map(|spec| {
            let mut lines = Vec::new();
            let mut bands = Vec::new();
            for (i, trial) in trials.iter().enumerate() {
                let key = spec_key(spec, &learner_module(trial));
                let is_best = best == Some(i);
                let label = if is_best {
                    format!("{} (best)", labels[i])
                } else {
                    labels[i].clone()
                };
                lines.push(Line {
                    label,
                    points: series(&trial.results, x_key, &key),
                    color: i,
                    highlight: is_best,
                });
                if let (true, Some((lo, hi))) = (is_best, spec.band) {
                    bands.push(Band {
                        label: "best: min–max".to_string(),
                        points: band(trial, x_key, lo, hi),
                        color: i,
                    });
                }
            }
            Panel {
                title: spec.title.to_string(),
                y_label: generic_key(spec),
                lines,
                bands,
            }
        })
        .collect();
    Figure {
        title: title.to_string(),
        x_label: x_key.to_string(),
        panels,
    }
}

/// A panel's key with the module left generic (a sweep's trials may name it differently).
fn generic_key(spec: &PanelSpec) -> String {
    if spec.learner {
        format!("learners/<module>/{}", spec.key)
    } else {
        spec.key.to_string()
    }
}

/// The best trial by the last reported value of `metric` (default [`DEFAULT_METRIC`],
/// falling back to [`FALLBACK_METRIC`] when no trial reports it): `(index, value)`.
/// Trials that never report the metric are not candidates; ties go to the first.
pub fn best_trial(trials: &[Trial], metric: Option<&str>, mode: Mode) -> Option<(usize, f64)> {
    let last = |t: &Trial, key: &str| t.results.iter().rev().find_map(|r| leaf_f64(r, key));
    let key = match metric {
        Some(m) => m,
        None if trials.iter().any(|t| last(t, DEFAULT_METRIC).is_some()) => DEFAULT_METRIC,
        None => FALLBACK_METRIC,
    };
    let mut best: Option<(usize, f64)> = None;
    for (i, t) in trials.iter().enumerate() {
        let Some(v) = last(t, key) else { continue };
        let better = match (best, mode) {
            (None, _) => true,
            (Some((_, b)), Mode::Max) => v > b,
            (Some((_, b)), Mode::Min) => v < b,
        };
        if better {
            best = Some((i, v));
        }
    }
    best
}

/// Each trial's legend label: `key=value, …` over the varied parameters, else its name.
pub fn trial_labels(trials: &[Trial]) -> Vec<String> {
    let varied = varied_params(trials);
    trials
        .iter()
        .map(|t| {
            if varied.is_empty() {
                return t.name();
            }
            varied
                .iter()
                .map(|k| {
                    let v = match &t.params {
                        Value::Object(map) => rl_core::metrics::get_path(map, k),
                        _ => None,
                    };
                    let shown = match v {
                        Some(Value::String(s)) => s.clone(),
                        Some(v) => v.to_string(),
                        None => "-".to_string(),
                    };
                    format!("{k}={shown}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect()
}

/// The first of [`X_KEYS`] that every trial reports in its first result.
fn x_key(trials: &[Trial]) -> &'static str {
    X_KEYS
        .into_iter()
        .find(|k| {
            trials
                .iter()
                .all(|t| t.results.first().is_some_and(|r| leaf_f64(r, k).is_some()))
        })
        .unwrap_or("training_iteration")
}

/// The module whose learner results are plotted: `default_policy`, else the first under
/// `learners/` that is not `__all_modules__`.
fn learner_module(trial: &Trial) -> String {
    let modules = trial
        .results
        .iter()
        .find_map(|r| r.get("learners")?.as_object());
    match modules {
        Some(m) if !m.contains_key("default_policy") => m
            .keys()
            .find(|k| k.as_str() != "__all_modules__")
            .cloned()
            .unwrap_or_else(|| "default_policy".to_string()),
        _ => "default_policy".to_string(),
    }
}

fn spec_key(spec: &PanelSpec, module: &str) -> String {
    if spec.learner {
        format!("learners/{module}/{}", spec.key)
    } else {
        spec.key.to_string()
    }
}

fn band(trial: &Trial, x_key: &str, lo: &str, hi: &str) -> Vec<(f64, f64, f64)> {
    trial
        .results
        .iter()
        .filter_map(|r| Some((leaf_f64(r, x_key)?, leaf_f64(r, lo)?, leaf_f64(r, hi)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn trial(name: &str, params: Value, returns: &[f64], eval: &[Option<f64>]) -> Trial {
        let results = returns
            .iter()
            .zip(eval)
            .enumerate()
            .map(|(i, (&ret, ev))| {
                let mut r = json!({
                    "training_iteration": i + 1,
                    "num_env_steps_sampled_lifetime": 100 * (i + 1),
                    "env_runners": {"episode_return_mean": ret,
                                    "episode_return_min": ret - 5.0, "episode_return_max": ret + 5.0},
                    "learners": {"__all_modules__": {}, "default_policy": {"policy_loss": -0.1}},
                });
                if let Some(e) = ev {
                    r["evaluation"] = json!({"env_runners": {"episode_return_mean": e}});
                }
                r.as_object().unwrap().clone()
            })
            .collect();
        Trial {
            dir: PathBuf::from(name),
            params,
            results,
        }
    }

    #[test]
    fn run_figure_takes_rllib_keys_against_env_steps() {
        let t = trial(
            "t",
            json!({}),
            &[10.0, 20.0, 30.0],
            &[None, Some(25.0), None],
        );
        let fig = run_figure(&t);
        assert_eq!(fig.x_label, "num_env_steps_sampled_lifetime");
        assert_eq!(fig.panels.len(), 6);
        let train = &fig.panels[0];
        assert_eq!(
            train.lines[0].points,
            [(100.0, 10.0), (200.0, 20.0), (300.0, 30.0)]
        );
        assert_eq!(train.bands[0].points[1], (200.0, 15.0, 25.0));
        assert_eq!(fig.panels[1].lines[0].points, [(200.0, 25.0)]);
        assert_eq!(fig.panels[2].y_label, "learners/default_policy/policy_loss");
        assert_eq!(fig.panels[2].lines[0].points.len(), 3);
        assert!(fig.panels[3].is_empty(), "no vf_loss in these results");
    }

    #[test]
    fn best_trial_by_last_evaluation_else_training_return() {
        let a = trial(
            "a",
            json!({"lr": 1}),
            &[10.0, 90.0],
            &[Some(50.0), Some(60.0)],
        );
        let b = trial(
            "b",
            json!({"lr": 2}),
            &[10.0, 20.0],
            &[Some(80.0), Some(70.0)],
        );
        let c = trial("c", json!({"lr": 3}), &[99.0, 99.0], &[None, None]);
        let trials = [a, b, c];
        assert_eq!(best_trial(&trials, None, Mode::Max), Some((1, 70.0)));
        assert_eq!(best_trial(&trials, None, Mode::Min), Some((0, 60.0)));
        let key = Some("env_runners/episode_return_mean");
        assert_eq!(best_trial(&trials, key, Mode::Max), Some((2, 99.0)));
        // No evaluation anywhere: the training return decides.
        let no_eval: Vec<Trial> = trials
            .iter()
            .map(|t| trial(&t.name(), t.params.clone(), &[1.0, 2.0], &[None, None]))
            .collect();
        assert_eq!(best_trial(&no_eval, None, Mode::Max), Some((0, 2.0)));
        assert_eq!(best_trial(&trials, Some("missing"), Mode::Max), None);
    }

    #[test]
    fn sweep_lines_are_labelled_by_varied_params_best_highlighted() {
        let a = trial(
            "a",
            json!({"lr": 1e-3, "env": "CartPole-v1"}),
            &[1.0],
            &[Some(5.0)],
        );
        let b = trial(
            "b",
            json!({"lr": 3e-4, "env": "CartPole-v1"}),
            &[1.0],
            &[Some(9.0)],
        );
        let fig = sweep_figure(&[a.clone(), b], "exp", None, Mode::Max);
        let lines = &fig.panels[0].lines;
        assert_eq!(lines[0].label, "lr=0.001");
        assert_eq!(lines[1].label, "lr=0.0003 (best)");
        assert!(!lines[0].highlight && lines[1].highlight);
        assert_eq!(fig.panels[0].bands.len(), 1);
        assert_eq!(fig.panels[0].bands[0].color, 1);
        // Nothing varied: the trials' names.
        assert_eq!(trial_labels(&[a.clone(), a]), ["a", "a"]);
    }

    #[test]
    fn x_axis_falls_back_to_iterations() {
        let mut t = trial("t", json!({}), &[1.0, 2.0], &[None, None]);
        for r in &mut t.results {
            r.remove("num_env_steps_sampled_lifetime");
        }
        let fig = run_figure(&t);
        assert_eq!(fig.x_label, "training_iteration");
        assert_eq!(fig.panels[0].lines[0].points, [(1.0, 1.0), (2.0, 2.0)]);
    }
}
