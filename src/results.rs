//! Reading Tune's trial files back: a trial directory (`result.json`, `params.json`) or an
//! experiment directory of trials (a sweep), ours or Ray Tune's.
//!
//! Ray Tune writes Python's `NaN` / `Infinity` into `result.json` (RLlib reports
//! `num_trainable_parameters: NaN` from its second iteration); they are read as `null`,
//! as our own writer stores them.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use thiserror::Error;

use rl_core::metrics::{flatten, ResultDict};

/// Why a trial or experiment directory could not be read.
#[derive(Debug, Error)]
pub enum ResultsError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A line of `result.json` (or `params.json`) is not a JSON object.
    #[error("{path}, line {line}: not a JSON object: {reason}")]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What the parser said.
        reason: String,
    },
    /// Neither the directory nor any directory below it holds a `result.json`.
    #[error(
        "no result.json in {0} or its subdirectories; point at a run's output directory \
         (params.json, result.json) or at a sweep's experiment directory holding trial directories"
    )]
    NoTrials(PathBuf),
}

/// One trial's files: its config and its results, one per iteration.
#[derive(Debug, Clone)]
pub struct Trial {
    /// The trial's directory.
    pub dir: PathBuf,
    /// `params.json` (the config); `null` when the file is absent.
    pub params: Value,
    /// `result.json`, line by line.
    pub results: Vec<ResultDict>,
}

impl Trial {
    /// The trial's name: its directory's name.
    pub fn name(&self) -> String {
        self.dir.file_name().map_or_else(
            || self.dir.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// What a directory holds: one trial, or a sweep of trials.
#[derive(Debug, Clone)]
pub enum Experiment {
    /// The directory is a trial (holds `result.json`).
    Run(Trial),
    /// The directory holds trial directories, in name order.
    Sweep(Vec<Trial>),
}

/// Reads `dir` as a trial if it holds `result.json`, else every trial directory below it
/// (at any depth, as Tune nests them) as a sweep.
pub fn read_experiment(dir: impl AsRef<Path>) -> Result<Experiment, ResultsError> {
    let dir = dir.as_ref();
    if dir.join("result.json").is_file() {
        return read_trial(dir).map(Experiment::Run);
    }
    let mut trial_dirs = Vec::new();
    find_trial_dirs(dir, &mut trial_dirs)?;
    if trial_dirs.is_empty() {
        return Err(ResultsError::NoTrials(dir.to_path_buf()));
    }
    trial_dirs.sort();
    let trials = trial_dirs
        .iter()
        .map(read_trial)
        .collect::<Result<_, _>>()?;
    Ok(Experiment::Sweep(trials))
}

fn find_trial_dirs(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ResultsError> {
    let io = |source| ResultsError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if !path.is_dir() {
            continue;
        }
        if path.join("result.json").is_file() {
            out.push(path);
        } else {
            find_trial_dirs(&path, out)?;
        }
    }
    Ok(())
}

/// Reads one trial directory's `result.json` and (if present) `params.json`.
pub fn read_trial(dir: impl AsRef<Path>) -> Result<Trial, ResultsError> {
    let dir = dir.as_ref();
    let results = read_results(dir.join("result.json"))?;
    let params_path = dir.join("params.json");
    let params = if params_path.is_file() {
        let text = read_text(&params_path)?;
        parse_python_json(&text).map_err(|reason| ResultsError::Json {
            path: params_path,
            line: 1,
            reason,
        })?
    } else {
        Value::Null
    };
    Ok(Trial {
        dir: dir.to_path_buf(),
        params,
        results,
    })
}

/// Reads a `result.json`: one JSON object per non-empty line.
pub fn read_results(path: impl AsRef<Path>) -> Result<Vec<ResultDict>, ResultsError> {
    let path = path.as_ref();
    let text = read_text(path)?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            match parse_python_json(line) {
                Ok(Value::Object(map)) => Ok(map),
                Ok(other) => Err(format!("found {}", type_name(&other))),
                Err(e) => Err(e),
            }
            .map_err(|reason| ResultsError::Json {
                path: path.to_path_buf(),
                line: i + 1,
                reason,
            })
        })
        .collect()
}

fn read_text(path: &Path) -> Result<String, ResultsError> {
    fs::read_to_string(path).map_err(|source| ResultsError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses JSON as Python's `json` module writes it: bare `NaN`, `Infinity` and
/// `-Infinity` (outside strings) are read as `null`.
pub fn parse_python_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).or_else(|first_error| {
        let cleaned = python_non_finite_to_null(text);
        if cleaned == text {
            return Err(first_error.to_string());
        }
        serde_json::from_str(&cleaned).map_err(|e| e.to_string())
    })
}

fn python_non_finite_to_null(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut in_string = false;
    while let Some(c) = rest.chars().next() {
        if in_string {
            // Copy escapes whole so an escaped quote does not end the string.
            let n = if c == '\\' {
                1 + rest[1..].chars().next().map_or(0, char::len_utf8)
            } else {
                c.len_utf8()
            };
            out.push_str(&rest[..n]);
            in_string = c != '"';
            rest = &rest[n..];
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(t) = token {
            out.push_str("null");
            rest = &rest[t.len()..];
        } else {
            in_string = c == '"';
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// The numeric leaf at `path` (keys joined by `/`) of every result that has one, as
/// `(x, y)` with `x` the leaf at `x_path`; results missing either are left out.
pub fn series(results: &[ResultDict], x_path: &str, path: &str) -> Vec<(f64, f64)> {
    results
        .iter()
        .filter_map(|r| Some((leaf_f64(r, x_path)?, leaf_f64(r, path)?)))
        .collect()
}

/// The numeric leaf at `path` of a result (`None` for absent, `null`, or non-numbers).
pub fn leaf_f64(result: &ResultDict, path: &str) -> Option<f64> {
    rl_core::metrics::get_path(result, path)?.as_f64()
}

/// The flattened keys (joined by `/`) whose values differ between the trials' params —
/// what a sweep varied — in key order. A key some trials lack counts as differing.
pub fn varied_params(trials: &[Trial]) -> Vec<String> {
    let flat: Vec<Vec<(String, Value)>> = trials
        .iter()
        .map(|t| match &t.params {
            Value::Object(map) => flatten(map),
            _ => Vec::new(),
        })
        .collect();
    let mut keys: Vec<&String> = flat.iter().flatten().map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    let value_of =
        |f: &[(String, Value)], key: &str| f.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    keys.into_iter()
        .filter(|key| {
            let first = value_of(&flat[0], key);
            flat[1..].iter().any(|f| value_of(f, key) != first)
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_non_finite_values_read_as_null() {
        let v = parse_python_json(r#"{"a": NaN, "b": [Infinity, -Infinity], "s": "NaN \" NaN"}"#)
            .unwrap();
        assert_eq!(v, json!({"a": null, "b": [null, null], "s": "NaN \" NaN"}));
        assert!(parse_python_json("{\"a\": nan}").is_err());
    }

    #[test]
    fn varied_params_are_the_differing_leaves() {
        let trial = |params| Trial {
            dir: PathBuf::new(),
            params,
            results: Vec::new(),
        };
        let trials = [
            trial(json!({"lr": 1e-3, "minibatch_size": 128, "model": {"hidden": [64]}})),
            trial(json!({"lr": 1e-3, "minibatch_size": 256, "model": {"hidden": [64]}})),
            trial(json!({"lr": 1e-3, "minibatch_size": 512, "model": {"hidden": [32]}, "x": 1})),
        ];
        assert_eq!(
            varied_params(&trials),
            ["minibatch_size", "model/hidden", "x"]
        );
    }
}
