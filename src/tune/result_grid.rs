//! `ResultGrid` and `Result` (Ray's `tune.ResultGrid`, `tune.Result`): every trial's
//! last result, config, directory, checkpoints, all its results, and error.
//!
//! # Best-result scopes
//!
//! [`ResultGrid::get_best_result`]`(metric, mode, scope)` ranks trials by a number taken
//! from each trial's reported values of `metric` (results without it are skipped, as are
//! NaN and infinite values):
//!
//! | scope | the number per trial |
//! |---|---|
//! | `"last"` | the last reported value (Ray's default) — not the best one, which surprises users (Ray issues 9838, 45021) |
//! | `"avg"` | the mean of all reported values |
//! | `"last-5-avg"` | the mean of the last 5 reported values |
//! | `"last-10-avg"` | the mean of the last 10 reported values |
//! | `"all"` | the best value ever reported (max or min by `mode`) |
//!
//! Ties go to the trial with the smaller index (the first one, as Ray's loop keeps it).

use std::fmt;
use std::ops::Index;
use std::path::{Path, PathBuf};

use rl_core::metrics::{flatten, get_path, ResultDict};
use serde_json::Value;

use super::files::read_results;
use super::report::format::py_repr;
use super::trial::{Trial, TrialStatus};
use super::{Mode, TuneError};

/// A checkpoint directory (Ray's `Checkpoint`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Its directory; load it with `rl::core::algorithm::algorithm_from_checkpoint`.
    pub path: PathBuf,
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Checkpoint(filesystem=local, path={})",
            self.path.display()
        )
    }
}

/// Rows of flattened results with a union of columns (a small stand-in for the pandas
/// `DataFrame` Ray returns).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DataFrame {
    /// Column names (`env_runners/episode_return_mean`, `config/lr`, …), first seen first.
    pub columns: Vec<String>,
    /// One row per result, one value per column (`Null` where a result lacked the key).
    pub rows: Vec<Vec<Value>>,
}

impl DataFrame {
    /// A frame from flat `(column, value)` rows.
    pub fn from_flat(rows: Vec<Vec<(String, Value)>>) -> Self {
        let mut columns: Vec<String> = Vec::new();
        for r in &rows {
            for (k, _) in r {
                if !columns.contains(k) {
                    columns.push(k.clone());
                }
            }
        }
        let rows = rows
            .into_iter()
            .map(|r| {
                columns
                    .iter()
                    .map(|c| {
                        r.iter()
                            .find(|(k, _)| k == c)
                            .map_or(Value::Null, |(_, v)| v.clone())
                    })
                    .collect()
            })
            .collect();
        DataFrame { columns, rows }
    }

    /// A frame of results (nested keys flattened with `/`).
    pub fn from_results(results: &[ResultDict]) -> Self {
        Self::from_flat(results.iter().map(flatten).collect())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A column's values (`None` if there is no such column).
    pub fn column(&self, name: &str) -> Option<Vec<&Value>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| &r[i]).collect())
    }

    /// The frame as CSV (header first; empty fields for missing values).
    pub fn to_csv(&self) -> String {
        let field = |v: &Value| {
            let s = match v {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s
            }
        };
        let mut out = self
            .columns
            .iter()
            .map(|c| field(&Value::String(c.clone())))
            .collect::<Vec<_>>()
            .join(",");
        out.push('\n');
        for r in &self.rows {
            out.push_str(&r.iter().map(field).collect::<Vec<_>>().join(","));
            out.push('\n');
        }
        out
    }
}

/// One trial's outcome (Ray's `tune.Result`).
#[derive(Clone, Debug)]
pub struct Result {
    /// The trial's name.
    pub trial_name: String,
    /// The trial's id.
    pub trial_id: String,
    /// Its final status.
    pub status: TrialStatus,
    /// The last result it reported.
    pub metrics: Option<ResultDict>,
    /// Its config (after PBT's changes).
    pub config: Value,
    /// Its directory.
    pub path: PathBuf,
    /// Its latest checkpoint.
    pub checkpoint: Option<Checkpoint>,
    /// Every checkpoint kept, with the result of its iteration.
    pub best_checkpoints: Vec<(Checkpoint, Option<ResultDict>)>,
    /// All its results, one row each.
    pub metrics_dataframe: DataFrame,
    /// Every result it reported, nested.
    pub results: Vec<ResultDict>,
    /// Its error, if it failed for good.
    pub error: Option<String>,
}

impl Result {
    /// The trial's reported values of `metric`, in order (NaN and infinities skipped).
    pub fn metric_values(&self, metric: &str) -> Vec<f64> {
        self.results
            .iter()
            .filter_map(|r| get_path(r, metric).and_then(Value::as_f64))
            .filter(|x| x.is_finite())
            .collect()
    }

    /// The number `scope` takes from the trial's values of `metric` (see the module docs).
    pub fn metric_score(&self, metric: &str, mode: Mode, scope: &str) -> Option<f64> {
        let v = self.metric_values(metric);
        let mean = |s: &[f64]| (!s.is_empty()).then(|| s.iter().sum::<f64>() / s.len() as f64);
        let tail = |n: usize| &v[v.len().saturating_sub(n)..];
        match scope {
            "last" => v.last().copied(),
            "avg" => mean(&v),
            "last-5-avg" => mean(tail(5)),
            "last-10-avg" => mean(tail(10)),
            "all" => v
                .iter()
                .copied()
                .reduce(|a, b| if mode.better(b, a) { b } else { a }),
            _ => None,
        }
    }
}

impl fmt::Display for Result {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metrics = self.metrics.clone().map_or(Value::Null, Value::Object);
        writeln!(f, "  Result(")?;
        if let Some(e) = &self.error {
            writeln!(f, "    error='{}',", e.lines().next().unwrap_or(""))?;
        }
        writeln!(f, "    metrics={},", py_repr(&metrics))?;
        writeln!(f, "    path='{}',", self.path.display())?;
        writeln!(f, "    filesystem='local',")?;
        match &self.checkpoint {
            Some(c) => writeln!(f, "    checkpoint={c}")?,
            None => writeln!(f, "    checkpoint=None")?,
        }
        write!(f, "  )")
    }
}

/// Every trial's [`Result`] (Ray's `tune.ResultGrid`).
#[derive(Clone, Debug)]
pub struct ResultGrid {
    results: Vec<Result>,
    experiment_path: PathBuf,
    metric: Option<String>,
    mode: Option<Mode>,
}

/// The scopes [`ResultGrid::get_best_result`] understands.
pub const SCOPES: [&str; 5] = ["last", "avg", "last-5-avg", "last-10-avg", "all"];

impl ResultGrid {
    pub(crate) fn from_trials(
        trials: &[Trial],
        experiment_path: &Path,
        metric: Option<String>,
        mode: Option<Mode>,
    ) -> std::result::Result<Self, TuneError> {
        let mut results = Vec::with_capacity(trials.len());
        for t in trials {
            let path = experiment_path.join(&t.dir_name);
            let rows = read_results(&path)?;
            let best_checkpoints = t
                .checkpoints
                .iter()
                .map(|c| {
                    let r = rows
                        .iter()
                        .find(|r| {
                            r.get("training_iteration").and_then(Value::as_u64)
                                == Some(c.iteration as u64)
                        })
                        .cloned();
                    (
                        Checkpoint {
                            path: c.path.clone(),
                        },
                        r,
                    )
                })
                .collect();
            results.push(Result {
                trial_name: t.name.clone(),
                trial_id: t.trial_id.clone(),
                status: t.status,
                metrics: t.last_result.clone(),
                config: t.config.clone(),
                path,
                checkpoint: t.latest_checkpoint().map(|c| Checkpoint {
                    path: c.path.clone(),
                }),
                best_checkpoints,
                metrics_dataframe: DataFrame::from_results(&rows),
                results: rows,
                error: (t.status == TrialStatus::Error)
                    .then(|| t.error.clone().unwrap_or_default()),
            });
        }
        Ok(ResultGrid {
            results,
            experiment_path: experiment_path.to_path_buf(),
            metric,
            mode,
        })
    }

    /// Number of trials.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    /// The results in trial order.
    pub fn iter(&self) -> std::slice::Iter<'_, Result> {
        self.results.iter()
    }

    /// The experiment directory.
    pub fn experiment_path(&self) -> &Path {
        &self.experiment_path
    }

    /// The errors of the trials that failed for good.
    pub fn errors(&self) -> Vec<&str> {
        self.results
            .iter()
            .filter_map(|r| r.error.as_deref())
            .collect()
    }

    /// How many trials failed for good.
    pub fn num_errors(&self) -> usize {
        self.errors().len()
    }

    /// How many trials ended normally.
    pub fn num_terminated(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.status == TrialStatus::Terminated)
            .count()
    }

    /// The best trial by `metric` and `mode` (default: the sweep's) under `scope` (see
    /// the module docs). With a single trial, that trial (as Ray).
    pub fn get_best_result(
        &self,
        metric: Option<&str>,
        mode: Option<Mode>,
        scope: &str,
    ) -> std::result::Result<&Result, TuneError> {
        if !SCOPES.contains(&scope) {
            return Err(TuneError::Results(format!(
                "scope {scope:?} is not one of {SCOPES:?}"
            )));
        }
        if self.results.len() == 1 {
            return Ok(&self.results[0]);
        }
        let metric = metric.or(self.metric.as_deref()).ok_or_else(|| {
            TuneError::Results("no metric: pass one, or set TuneConfig::metric".into())
        })?;
        let mode = mode.or(self.mode).ok_or_else(|| {
            TuneError::Results(
                "no mode: pass Mode::Max or Mode::Min, or set TuneConfig::metric".into(),
            )
        })?;
        let mut best: Option<(&Result, f64)> = None;
        for r in &self.results {
            if let Some(s) = r.metric_score(metric, mode, scope) {
                if best.is_none_or(|(_, b)| mode.better(s, b)) {
                    best = Some((r, s));
                }
            }
        }
        best.map(|(r, _)| r).ok_or_else(|| {
            TuneError::Results(format!(
                "no trial reported a finite value of {metric:?}; check the metric's name (nested keys are joined by `/`)"
            ))
        })
    }

    /// One row per trial (Ray's `get_dataframe`): its last result, or with
    /// `filter_metric` its result with the best value of it; plus `config/<key>` columns
    /// and `logdir`.
    pub fn get_dataframe(
        &self,
        filter_metric: Option<&str>,
        filter_mode: Option<Mode>,
    ) -> DataFrame {
        let rows = self
            .results
            .iter()
            .map(|r| {
                let chosen = match (filter_metric, filter_mode) {
                    (Some(m), Some(mode)) => r
                        .results
                        .iter()
                        .filter(|x| {
                            get_path(x, m)
                                .and_then(Value::as_f64)
                                .is_some_and(f64::is_finite)
                        })
                        .reduce(|a, b| {
                            let (va, vb) = (
                                get_path(a, m).and_then(Value::as_f64).unwrap_or(f64::NAN),
                                get_path(b, m).and_then(Value::as_f64).unwrap_or(f64::NAN),
                            );
                            if mode.better(vb, va) {
                                b
                            } else {
                                a
                            }
                        })
                        .cloned(),
                    _ => r.metrics.clone(),
                };
                let mut flat = chosen.as_ref().map(flatten).unwrap_or_default();
                if let Value::Object(c) = &r.config {
                    flat.extend(
                        flatten(c)
                            .into_iter()
                            .map(|(k, v)| (format!("config/{k}"), v)),
                    );
                }
                flat.push(("trial_id".into(), Value::String(r.trial_id.clone())));
                flat.push(("logdir".into(), Value::String(r.path.display().to_string())));
                flat
            })
            .collect();
        DataFrame::from_flat(rows)
    }
}

impl Index<usize> for ResultGrid {
    type Output = Result;
    fn index(&self, i: usize) -> &Result {
        &self.results[i]
    }
}

impl<'a> IntoIterator for &'a ResultGrid {
    type Item = &'a Result;
    type IntoIter = std::slice::Iter<'a, Result>;
    fn into_iter(self) -> Self::IntoIter {
        self.results.iter()
    }
}

impl fmt::Display for ResultGrid {
    /// Ray's `repr(ResultGrid)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "ResultGrid<[")?;
        for (i, r) in self.results.iter().enumerate() {
            write!(f, "{r}")?;
            writeln!(f, "{}", if i + 1 < self.results.len() { "," } else { "" })?;
        }
        write!(f, "]>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(i: usize, values: &[Option<f64>]) -> Result {
        let results: Vec<ResultDict> = values
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let mut r = json!({"training_iteration": k + 1})
                    .as_object()
                    .unwrap()
                    .clone();
                if let Some(v) = v {
                    r.insert("evaluation".into(), json!({"score": v}));
                }
                r
            })
            .collect();
        Result {
            trial_name: format!("T_{i}"),
            trial_id: format!("x_{i:05}"),
            status: TrialStatus::Terminated,
            metrics: results.last().cloned(),
            config: json!({"lr": i}),
            path: PathBuf::from(format!("/tmp/T_{i}")),
            checkpoint: None,
            best_checkpoints: Vec::new(),
            metrics_dataframe: DataFrame::from_results(&results),
            results,
            error: None,
        }
    }

    fn grid(results: Vec<Result>) -> ResultGrid {
        ResultGrid {
            results,
            experiment_path: PathBuf::from("/tmp"),
            metric: None,
            mode: None,
        }
    }

    #[test]
    fn scopes_pick_different_trials() {
        let m = "evaluation/score";
        // Trial 0 peaks early, trial 1 ends best, trial 2 is steady; evaluation results
        // are missing in some iterations.
        let g = grid(vec![
            result(0, &[Some(10.0), Some(100.0), Some(1.0), None, Some(2.0)]),
            result(1, &[Some(1.0), Some(1.0), Some(1.0), None, Some(50.0)]),
            result(2, &[Some(30.0), Some(30.0), Some(30.0), None, Some(30.0)]),
        ]);
        let best = |scope| {
            g.get_best_result(Some(m), Some(Mode::Max), scope)
                .unwrap()
                .trial_id
                .clone()
        };
        assert_eq!(best("last"), "x_00001");
        assert_eq!(best("all"), "x_00000");
        assert_eq!(best("avg"), "x_00002");
        assert_eq!(best("last-5-avg"), "x_00002");
        assert_eq!(
            g.get_best_result(Some(m), Some(Mode::Min), "all")
                .unwrap()
                .trial_id,
            "x_00000"
        );
        assert_eq!(
            g.get_best_result(Some(m), Some(Mode::Min), "last")
                .unwrap()
                .trial_id,
            "x_00000"
        );
        assert!(g.get_best_result(Some(m), Some(Mode::Max), "best").is_err());
        let e = g
            .get_best_result(Some("nope"), Some(Mode::Max), "last")
            .unwrap_err();
        assert!(e.to_string().contains("no trial reported"), "{e}");
        assert!(g.get_best_result(Some(m), None, "last").is_err());
    }

    #[test]
    fn ties_go_to_the_first_trial_and_nan_is_skipped() {
        let m = "evaluation/score";
        let g = grid(vec![
            result(0, &[Some(f64::NAN)]),
            result(1, &[Some(5.0)]),
            result(2, &[Some(5.0)]),
        ]);
        assert_eq!(
            g.get_best_result(Some(m), Some(Mode::Max), "last")
                .unwrap()
                .trial_id,
            "x_00001"
        );
        assert_eq!(
            g.get_best_result(Some(m), Some(Mode::Min), "last")
                .unwrap()
                .trial_id,
            "x_00001"
        );
    }

    #[test]
    fn dataframes_and_csv() {
        let g = grid(vec![
            result(0, &[Some(1.0), Some(3.0), None]),
            result(1, &[Some(2.0)]),
        ]);
        let df = g.get_dataframe(None, None);
        assert_eq!(df.len(), 2);
        assert!(df.columns.contains(&"config/lr".to_string()));
        let best = g.get_dataframe(Some("evaluation/score"), Some(Mode::Max));
        let col = best.column("evaluation/score").unwrap();
        assert_eq!(col, vec![&json!(3.0), &json!(2.0)]);
        let csv = g[0].metrics_dataframe.to_csv();
        assert_eq!(csv.lines().count(), 4, "{csv}");
        assert!(
            csv.starts_with("evaluation/score,training_iteration\n"),
            "{csv}"
        );
        assert!(csv.ends_with(",3\n"), "{csv}");
        assert_eq!(g.num_terminated(), 2);
        assert_eq!(g.num_errors(), 0);
        let shown = g.to_string();
        assert!(
            shown.starts_with("ResultGrid<[\n  Result(\n    metrics={"),
            "{shown}"
        );
    }
}
