//! Experiment files: what `rl train` reads from `--config FILE` and how the flags change it.
//!
//! A file (TOML, or JSON when it ends in `.json`) is either
//! - an experiment: `algorithm = "PPO"`, a `[stop]` table (Ray Tune's stop dict) and a
//!   `[config]` table of the algorithm's keys under their RLlib names — RLlib's tuned-example
//!   files (`run:`, `stop:`, `config:`) in TOML; or
//! - a bare config: the algorithm's keys at the top level, e.g. a trial's `params.json`.
//!
//! The algorithm's config is its default config, then the file's keys, then `--env`,
//! `--seed`, `--checkpoint-at-end` and every `--set` in order; the algorithm's factory then
//! refuses unknown keys and bad values, naming the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rl_core::algorithm::{default_config, registered_algorithms, set_by_key};
use rl_core::metrics::{get_path, ResultDict};
use serde_json::{Map, Value};

use super::args::{KeyValue, RunArgs};
use super::CliError;

/// The algorithm trained when neither the file nor `--algo` names one.
pub const DEFAULT_ALGORITHM: &str = "PPO";

/// The top-level keys of an experiment file.
const EXPERIMENT_KEYS: [&str; 3] = ["algorithm", "stop", "config"];
/// The top-level keys that make a file a sweep (`rl tune`'s).
pub(crate) const SWEEP_KEYS: [&str; 3] = ["param_space", "tune_config", "run_config"];

/// Reads a TOML or JSON file into JSON (`.json`: JSON; anything else: TOML).
pub fn read_file(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let value = if is_json {
        serde_json::from_str(&text)
            .map_err(|e| CliError::Usage(format!("{}: bad JSON: {e}", path.display())))?
    } else {
        let t: toml::Value = toml::from_str(&text).map_err(|e| {
            let msg = e.to_string().replace('\n', " ");
            CliError::Usage(format!("{}: bad TOML: {}", path.display(), msg.trim()))
        })?;
        serde_json::to_value(t).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?
    };
    match value {
        Value::Object(_) => Ok(value),
        other => Err(CliError::Usage(format!(
            "{}: expected a table of keys, found {other}",
            path.display()
        ))),
    }
}

/// Stop criteria: a run stops at the first result in which any `key` is at least its
/// threshold (Ray Tune's `stop={"training_iteration": 100}`). Empty: never stops.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StopCriteria(pub BTreeMap<String, f64>);

impl StopCriteria {
    /// Reads a `[stop]` table: every value a number.
    pub fn from_json(value: &Value, origin: &str) -> Result<Self, CliError> {
        let Value::Object(map) = value else {
            return Err(CliError::Usage(format!(
                "{origin}: `stop` must be a table of KEY = THRESHOLD, e.g. training_iteration = 100"
            )));
        };
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let t = v.as_f64().ok_or_else(|| {
                CliError::Usage(format!(
                    "{origin}: stop `{k}` = {v}: the threshold must be a number"
                ))
            })?;
            out.insert(k.clone(), t);
        }
        Ok(StopCriteria(out))
    }

    /// As JSON (`{"training_iteration": 100.0}`).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.0).unwrap_or_default()
    }

    /// Whether `result` meets any criterion.
    pub fn should_stop(&self, result: &ResultDict) -> bool {
        self.0.iter().any(|(k, &t)| {
            get_path(result, k)
                .and_then(Value::as_f64)
                .is_some_and(|v| v >= t)
        })
    }

    /// How far the run is towards stopping, in [0, 1]: the largest `value / threshold`
    /// over the criteria with a positive threshold (the nearest one stops the run); `None`
    /// without such a criterion.
    pub fn fraction(&self, result: &ResultDict) -> Option<f64> {
        self.0
            .iter()
            .filter(|(_, &t)| t > 0.0)
            .filter_map(|(k, &t)| Some(get_path(result, k)?.as_f64()? / t))
            .filter(|f| f.is_finite())
            .map(|f| f.clamp(0.0, 1.0))
            .reduce(f64::max)
    }

    /// `training_iteration >= 100` (or `never`).
    pub fn describe(&self) -> String {
        if self.0.is_empty() {
            return "never (Ctrl-C ends the run)".into();
        }
        let parts: Vec<String> = self.0.iter().map(|(k, t)| format!("{k} >= {t}")).collect();
        parts.join(" or ")
    }
}

/// A training run, resolved from the file and the flags.
#[derive(Clone, Debug, PartialEq)]
pub struct RunPlan {
    /// The registered algorithm.
    pub algorithm: String,
    /// Its config (RLlib's keys), ready for `build_algorithm`.
    pub config: Value,
    /// When it stops.
    pub stop: StopCriteria,
    /// Where its files go (`None`: the default under `~/rl_results`).
    pub output: Option<PathBuf>,
    /// Whether to plot at the end.
    pub plot: bool,
}

impl RunPlan {
    /// Resolves `args`: reads the file, picks the algorithm, applies the flags.
    pub fn from_args(args: &RunArgs) -> Result<Self, CliError> {
        Self::with_base(args, None)
    }

    /// As [`from_args`](Self::from_args), with `base` — an algorithm and its config as
    /// JSON, e.g. a preset — standing in for the file when `--config` is absent.
    pub fn with_base(args: &RunArgs, base: Option<(&str, Value)>) -> Result<Self, CliError> {
        rl_algos::register_builtins();
        let (file_algo, file_stop, file_config) = match (&args.config, base) {
            (Some(path), _) => split_file(path, read_file(path)?)?,
            (None, Some((algo, Value::Object(config)))) => {
                (Some(algo.to_string()), StopCriteria::default(), config)
            }
            (None, _) => (None, StopCriteria::default(), Map::new()),
        };
        let algorithm = args
            .algo
            .clone()
            .or(file_algo)
            .unwrap_or_else(|| DEFAULT_ALGORITHM.to_string());
        let mut config = default_config(&algorithm).map_err(|_| {
            CliError::Usage(format!(
                "no algorithm registered as `{algorithm}`; registered: {}",
                registered_algorithms().join(", ")
            ))
        })?;
        merge(&mut config, Value::Object(file_config));
        let mut sets = Vec::new();
        if let Some(env) = &args.env {
            sets.push(KeyValue {
                key: "env".into(),
                value: env.clone().into(),
            });
        }
        if let Some(seed) = args.seed {
            sets.push(KeyValue {
                key: "seed".into(),
                value: seed.into(),
            });
        }
        if args.checkpoint_at_end {
            sets.push(KeyValue {
                key: "checkpoint_at_end".into(),
                value: true.into(),
            });
        }
        sets.extend(args.set.iter().cloned());
        for kv in &sets {
            set_key(&mut config, kv)?;
        }
        let mut stop = file_stop;
        for s in &args.stop {
            stop.0.insert(s.key.clone(), s.threshold);
        }
        Ok(RunPlan {
            algorithm,
            config,
            stop,
            output: args.output.clone(),
            plot: args.plot,
        })
    }

    /// `config["env"]` (empty when unset).
    pub fn env(&self) -> &str {
        self.config["env"].as_str().unwrap_or("")
    }
}

/// Sets `kv.key` in `config` (the algorithm's JSON config) by its RLlib name.
pub fn set_key(config: &mut Value, kv: &KeyValue) -> Result<(), CliError> {
    set_by_key(config, &kv.key, kv.value.clone())
        .map_err(|e| CliError::Usage(format!("--set {}: {e}", kv.key)))
}

/// What a training file says: (algorithm, stop criteria, config).
type FileParts = (Option<String>, StopCriteria, Map<String, Value>);

/// Splits a file into its parts, telling an experiment from a bare config.
fn split_file(path: &Path, value: Value) -> Result<FileParts, CliError> {
    let origin = path.display().to_string();
    let Value::Object(mut top) = value else {
        // invariant: read_file refuses a file whose top level is not a table/object.
        unreachable!("read_file returns objects");
    };
    if let Some(k) = SWEEP_KEYS.iter().find(|k| top.contains_key(**k)) {
        return Err(CliError::Usage(format!(
            "{origin} is a sweep (it has `{k}`): run it with `rl tune --config {origin}`"
        )));
    }
    if !top.contains_key("config") {
        // A bare config: every key is the algorithm's.
        return Ok((None, StopCriteria::default(), top));
    }
    if let Some(k) = top.keys().find(|k| !EXPERIMENT_KEYS.contains(&k.as_str())) {
        return Err(CliError::Usage(format!(
            "{origin}: unknown top-level key `{k}`; an experiment file has {} (the algorithm's keys go in [config])",
            EXPERIMENT_KEYS.map(|k| format!("`{k}`")).join(", ")
        )));
    }
    let algorithm = match top.remove("algorithm") {
        None => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            return Err(CliError::Usage(format!(
                "{origin}: `algorithm` must be a name like \"PPO\", not {other}"
            )))
        }
    };
    let stop = match top.remove("stop") {
        Some(v) => StopCriteria::from_json(&v, &origin)?,
        None => StopCriteria::default(),
    };
    let config = match top.remove("config") {
        Some(Value::Object(c)) => c,
        _ => {
            return Err(CliError::Usage(format!(
                "{origin}: `config` must be a table of the algorithm's keys"
            )))
        }
    };
    Ok((algorithm, stop, config))
}

/// Deep-merges `from` into `into`: objects key by key, anything else replaced.
pub fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stop_criteria_stop_at_the_first_threshold_reached() {
        let s = StopCriteria(BTreeMap::from([
            ("training_iteration".to_string(), 10.0),
            ("env_runners/episode_return_mean".to_string(), 450.0),
        ]));
        let r = |it: u64, ret: f64| {
            json!({"training_iteration": it, "env_runners": {"episode_return_mean": ret}})
                .as_object()
                .unwrap()
                .clone()
        };
        assert!(!s.should_stop(&r(9, 449.0)));
        assert!(s.should_stop(&r(10, 20.0)));
        assert!(s.should_stop(&r(3, 450.0)));
        assert_eq!(s.fraction(&r(5, 90.0)), Some(0.5));
        assert_eq!(s.fraction(&r(2, 225.0)), Some(0.5));
        assert_eq!(StopCriteria::default().fraction(&r(5, 1.0)), None);
    }

    #[test]
    fn merge_goes_into_sections() {
        let mut a =
            json!({"lr": 1, "model_config": {"fcnet_hiddens": [256], "vf_share_layers": false}});
        merge(
            &mut a,
            json!({"lr": 2, "model_config": {"fcnet_hiddens": [64]}}),
        );
        assert_eq!(
            a,
            json!({"lr": 2, "model_config": {"fcnet_hiddens": [64], "vf_share_layers": false}})
        );
    }
}
