//! Sweep files: what `rl tune` reads — Ray Tune's `Tuner(algorithm, param_space=…,
//! tune_config=TuneConfig(…), run_config=RunConfig(…))` as TOML or JSON tables.
//!
//! ```toml
//! algorithm = "PPO"
//! [param_space]                  # the algorithm's keys; a search domain is a one-key table
//! minibatch_size = { grid_search = [128, 200, 256] }
//! [tune_config]                  # tune.TuneConfig's fields
//! metric = "evaluation/env_runners/episode_return_mean"
//! mode = "max"
//! [tune_config.scheduler]        # optional: type = "AsyncHyperBandScheduler" | "MedianStoppingRule" | "FIFOScheduler"
//! [run_config]                   # tune.RunConfig's fields
//! stop = { training_iteration = 150 }
//! checkpoint_config = { checkpoint_at_end = true }
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::experiment::{read_file, StopCriteria, DEFAULT_ALGORITHM};
use super::CliError;
use crate::tune::schedulers::{AsyncHyperBandScheduler, FIFOScheduler, MedianStoppingRule};
use crate::tune::{Mode, ParamSpace, RunConfig, Stop, TuneConfig};

/// The top-level keys of a sweep file.
const SWEEP_FILE_KEYS: [&str; 4] = ["algorithm", "param_space", "tune_config", "run_config"];
const TUNE_CONFIG_KEYS: [&str; 8] = [
    "metric",
    "mode",
    "num_samples",
    "max_concurrent_trials",
    "seed",
    "num_cpus",
    "num_threads",
    "scheduler",
];
const RUN_CONFIG_KEYS: [&str; 7] = [
    "name",
    "storage_path",
    "stop",
    "checkpoint_config",
    "failure_config",
    "verbose",
    "progress",
];

/// A sweep, read from its file.
#[derive(Debug)]
pub struct SweepPlan {
    /// The registered algorithm.
    pub algorithm: String,
    /// The param space.
    pub space: ParamSpace,
    /// Tune's search and scheduling settings.
    pub tune: TuneConfig,
    /// Where it writes and when trials stop.
    pub run: RunConfig,
    /// The stop dict, for the progress bar.
    pub stop: StopCriteria,
}

fn usage(origin: &str, msg: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("{origin}: {msg}"))
}

fn table<'a>(
    top: &'a Map<String, Value>,
    key: &str,
    origin: &str,
) -> Result<Option<&'a Map<String, Value>>, CliError> {
    match top.get(key) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(usage(
            origin,
            format!("`{key}` must be a table, not {other}"),
        )),
    }
}

fn refuse_unknown(
    map: &Map<String, Value>,
    known: &[&str],
    section: &str,
    origin: &str,
) -> Result<(), CliError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(k) => Err(usage(
            origin,
            format!(
                "unknown key `{section}{k}`; {} takes {}",
                section.trim_end_matches('.'),
                known
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A serde struct from a table, refusing keys the struct does not have.
fn strict<T: Serialize + DeserializeOwned + Default>(
    v: &Value,
    section: &str,
    origin: &str,
) -> Result<T, CliError> {
    let parsed: T = serde_json::from_value(v.clone())
        .map_err(|e| usage(origin, format!("`{section}`: {e}")))?;
    if let (Value::Object(given), Ok(Value::Object(known))) =
        (v, serde_json::to_value(T::default()))
    {
        let names: Vec<&str> = known.keys().map(String::as_str).collect();
        refuse_unknown(given, &names, &format!("{section}."), origin)?;
    }
    Ok(parsed)
}

fn uint(v: &Value, key: &str, origin: &str) -> Result<usize, CliError> {
    v.as_u64().map(|n| n as usize).ok_or_else(|| {
        usage(
            origin,
            format!("`{key}` must be a non-negative integer, not {v}"),
        )
    })
}

fn string(v: &Value, key: &str, origin: &str) -> Result<String, CliError> {
    v.as_str()
        .map(String::from)
        .ok_or_else(|| usage(origin, format!("`{key}` must be a string, not {v}")))
}

fn mode(v: &Value, key: &str, origin: &str) -> Result<Mode, CliError> {
    string(v, key, origin)?
        .parse()
        .map_err(|e| usage(origin, format!("`{key}`: {e}")))
}

/// `~/x` → `$HOME/x`.
fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

impl SweepPlan {
    /// Reads a sweep file.
    pub fn read(path: &Path) -> Result<Self, CliError> {
        let origin = path.display().to_string();
        let Value::Object(top) = read_file(path)? else {
            // invariant: read_file refuses a file whose top level is not a table/object.
            unreachable!("read_file returns objects")
        };
        if top.contains_key("config") && !top.contains_key("param_space") {
            return Err(usage(
                &origin,
                format!("this is a training file (it has [config]): run it with `rl train --config {origin}`"),
            ));
        }
        refuse_unknown(&top, &SWEEP_FILE_KEYS, "", &origin)?;
        let algorithm = match top.get("algorithm") {
            None => DEFAULT_ALGORITHM.to_string(),
            Some(v) => string(v, "algorithm", &origin)?,
        };
        let space = match top.get("param_space") {
            Some(v @ Value::Object(_)) => ParamSpace::from_value(v.clone())
                .map_err(|e| usage(&origin, format!("[param_space]: {e}")))?,
            _ => return Err(usage(&origin, "a sweep needs a [param_space] table")),
        };
        let tune = match table(&top, "tune_config", &origin)? {
            Some(t) => tune_config(t, &origin)?,
            None => TuneConfig::new(),
        };
        let (run, stop) = match table(&top, "run_config", &origin)? {
            Some(t) => run_config(t, &origin)?,
            None => (RunConfig::new(), StopCriteria::default()),
        };
        Ok(SweepPlan {
            algorithm,
            space,
            tune,
            run,
            stop,
        })
    }
}

fn tune_config(t: &Map<String, Value>, origin: &str) -> Result<TuneConfig, CliError> {
    refuse_unknown(t, &TUNE_CONFIG_KEYS, "tune_config.", origin)?;
    let mut c = TuneConfig::new();
    for (k, v) in t {
        let key = format!("tune_config.{k}");
        match k.as_str() {
            "metric" => c.metric = Some(string(v, &key, origin)?),
            "mode" => c.mode = Some(mode(v, &key, origin)?),
            "num_samples" => c.num_samples = uint(v, &key, origin)?,
            "max_concurrent_trials" => c.max_concurrent_trials = Some(uint(v, &key, origin)?),
            "seed" => c.seed = uint(v, &key, origin)? as u64,
            "num_cpus" => c.num_cpus = Some(uint(v, &key, origin)?),
            "num_threads" => c.num_threads = Some(uint(v, &key, origin)?),
            "scheduler" => c.scheduler = Some(scheduler(v, origin)?),
            // invariant: unknown keys were refused above, with the nearest one named.
            _ => unreachable!("checked above"),
        }
    }
    Ok(c)
}

/// A scheduler from `[tune_config.scheduler]`: `type` and its settings (Ray's names).
fn scheduler(v: &Value, origin: &str) -> Result<Box<dyn crate::tune::TrialScheduler>, CliError> {
    let Value::Object(t) = v else {
        return Err(usage(
            origin,
            "`tune_config.scheduler` must be a table with `type`",
        ));
    };
    let ty = t
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("FIFOScheduler");
    let num = |k: &str| -> Result<Option<f64>, CliError> {
        t.get(k)
            .map(|v| {
                v.as_f64().ok_or_else(|| {
                    usage(
                        origin,
                        format!("`tune_config.scheduler.{k}` must be a number"),
                    )
                })
            })
            .transpose()
    };
    let text = |k: &str| t.get(k).and_then(Value::as_str).map(String::from);
    let md = t
        .get("mode")
        .map(|v| mode(v, "tune_config.scheduler.mode", origin))
        .transpose()?;
    let check = |known: &[&str]| refuse_unknown(t, known, "tune_config.scheduler.", origin);
    Ok(match ty {
        "FIFOScheduler" => {
            check(&["type"])?;
            Box::new(FIFOScheduler)
        }
        "AsyncHyperBandScheduler" | "ASHAScheduler" => {
            check(&[
                "type",
                "metric",
                "mode",
                "time_attr",
                "max_t",
                "grace_period",
                "reduction_factor",
                "brackets",
                "stop_last_trials",
            ])?;
            let mut a = AsyncHyperBandScheduler::new();
            if let Some(x) = num("max_t")? {
                a = a.max_t(x);
            }
            if let Some(x) = num("grace_period")? {
                a = a.grace_period(x);
            }
            if let Some(x) = num("reduction_factor")? {
                a = a.reduction_factor(x);
            }
            if let Some(x) = num("brackets")? {
                a = a.brackets(x as usize);
            }
            if let Some(x) = text("time_attr") {
                a = a.time_attr(&x);
            }
            a.metric = text("metric");
            a.mode = md;
            if let Some(b) = t.get("stop_last_trials").and_then(Value::as_bool) {
                a.stop_last_trials = b;
            }
            Box::new(a)
        }
        "MedianStoppingRule" => {
            check(&[
                "type",
                "metric",
                "mode",
                "time_attr",
                "grace_period",
                "min_samples_required",
            ])?;
            let mut m = MedianStoppingRule::new();
            if let Some(x) = num("grace_period")? {
                m = m.grace_period(x);
            }
            if let Some(x) = num("min_samples_required")? {
                m = m.min_samples_required(x as usize);
            }
            if let Some(x) = text("time_attr") {
                m = m.time_attr(&x);
            }
            m.metric = text("metric");
            m.mode = md;
            Box::new(m)
        }
        other => {
            return Err(usage(
                origin,
                format!("scheduler type {other:?}: a file takes FIFOScheduler, AsyncHyperBandScheduler (ASHAScheduler) or MedianStoppingRule; PopulationBasedTraining needs the Rust API (rl::tune::PopulationBasedTraining)"),
            ))
        }
    })
}

fn run_config(t: &Map<String, Value>, origin: &str) -> Result<(RunConfig, StopCriteria), CliError> {
    refuse_unknown(t, &RUN_CONFIG_KEYS, "run_config.", origin)?;
    let mut c = RunConfig::new();
    let mut stop = StopCriteria::default();
    for (k, v) in t {
        let key = format!("run_config.{k}");
        match k.as_str() {
            "name" => c.name = Some(string(v, &key, origin)?),
            "storage_path" => c.storage_path = Some(expand_home(&string(v, &key, origin)?)),
            "stop" => {
                stop = StopCriteria::from_json(v, origin)?;
                c.stop = Stop::dict(stop.0.clone());
            }
            "checkpoint_config" => c.checkpoint_config = strict(v, &key, origin)?,
            "failure_config" => c.failure_config = strict(v, &key, origin)?,
            "verbose" => c.verbose = uint(v, &key, origin)?.min(2) as u8,
            "progress" => c.progress = strict(v, &key, origin)?,
            // invariant: unknown keys were refused above, with the nearest one named.
            _ => unreachable!("checked above"),
        }
    }
    Ok((c, stop))
}
