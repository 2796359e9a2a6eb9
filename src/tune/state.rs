//! The experiment state file, `experiment_state-<date>.json`: everything a resume needs,
//! as JSON (Ray pickles parts of its state; nothing here is a pickle).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::files::write_atomic;
use super::trial::Trial;
use super::TuneError;

/// The format this build writes.
pub const STATE_FORMAT_VERSION: u32 = 1;

/// The scheduler as saved: its name, settings (to rebuild a built-in one) and state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SchedulerState {
    /// `FIFOScheduler`, `AsyncHyperBandScheduler`, …
    pub name: String,
    /// Its settings (`null` for schedulers that cannot be rebuilt from JSON).
    pub settings: Value,
    /// Its state.
    pub state: Value,
}

/// The content of `experiment_state-<date>.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExperimentState {
    /// The format version (1 for this build).
    pub format_version: u32,
    /// `"rl"`.
    pub framework: String,
    /// The registered algorithm the trials run.
    pub algorithm: String,
    /// The experiment's name (its directory's).
    pub experiment_name: String,
    /// The 5-hex-digit id in every trial id.
    pub experiment_id: String,
    /// The experiment directory.
    pub experiment_path: PathBuf,
    /// When the sweep first started (UNIX seconds).
    pub start_time: f64,
    /// When this file was written (UNIX seconds).
    pub timestamp: f64,
    /// The param space in JSON form.
    pub param_space: Value,
    /// Whether the param space held `sample_from` functions (saved as placeholders).
    pub param_space_has_functions: bool,
    /// `TuneConfig`'s plain settings.
    pub tune_config: Value,
    /// `RunConfig`'s plain settings.
    pub run_config: Value,
    /// The scheduler.
    pub scheduler: SchedulerState,
    /// The search algorithm's state.
    pub searcher: Value,
    /// Every trial created so far.
    pub trials: Vec<Trial>,
    /// Whether the sweep ran to its end.
    pub finished: bool,
}

impl ExperimentState {
    /// Writes the file atomically (a kill leaves the previous version).
    pub fn save(&self, path: &Path) -> Result<(), TuneError> {
        let text = serde_json::to_string(self).map_err(|e| {
            TuneError::Restore(format!("the experiment state does not serialize: {e}"))
        })?;
        write_atomic(path, &text)
    }

    /// Reads the newest `experiment_state-*.json` in `experiment_dir`.
    pub fn load_newest(experiment_dir: &Path) -> Result<(Self, PathBuf), TuneError> {
        let path = newest_state_file(experiment_dir)?.ok_or_else(|| {
            TuneError::Restore(format!(
                "{} holds no experiment_state-*.json: it is not a sweep's directory (pass storage_path/name of a sweep)",
                experiment_dir.display()
            ))
        })?;
        let text = fs::read_to_string(&path).map_err(|e| TuneError::io(&path, e))?;
        let state: ExperimentState = serde_json::from_str(&text)
            .map_err(|e| TuneError::Restore(format!("{} does not parse: {e}", path.display())))?;
        if state.format_version > STATE_FORMAT_VERSION {
            return Err(TuneError::Restore(format!(
                "{} has format_version {}, newer than this build reads ({STATE_FORMAT_VERSION}); restore it with a newer rl",
                path.display(),
                state.format_version
            )));
        }
        Ok((state, path))
    }
}

/// The newest `experiment_state-<date>.json` in a directory (names sort by date).
pub fn newest_state_file(dir: &Path) -> Result<Option<PathBuf>, TuneError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(TuneError::io(dir, e)),
    };
    let mut names: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("experiment_state-") && n.ends_with(".json"))
        })
        .collect();
    names.sort();
    Ok(names.pop())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::trial::{CheckpointRecord, TrialStatus};
    use serde_json::json;

    #[test]
    fn state_round_trips_and_the_newest_file_wins() {
        let dir = std::env::temp_dir().join(format!("rl-tune-state-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let trial = Trial {
            index: 0,
            trial_id: "abcde_00000".into(),
            name: "PPO_CartPole-v1_abcde_00000".into(),
            dir_name: "PPO_CartPole-v1_abcde_00000_0_lr=0.001".into(),
            experiment_tag: "0_lr=0.001".into(),
            config: json!({"lr": 0.001, "env": "CartPole-v1"}),
            resolved_vars: vec![("lr".into(), json!(0.001))],
            status: TrialStatus::Paused,
            error: Some("boom".into()),
            num_failures: 1,
            last_result: json!({"training_iteration": 3}).as_object().cloned(),
            decided_iteration: 3,
            decided_time: 3.0,
            released: true,
            checkpoints: vec![CheckpointRecord {
                index: 0,
                iteration: 2,
                path: dir.join("checkpoint_000000"),
                score: Some(1.5),
            }],
            num_checkpoints_saved: 1,
            cpus: 3,
        };
        let state = ExperimentState {
            format_version: STATE_FORMAT_VERSION,
            framework: "rl".into(),
            algorithm: "PPO".into(),
            experiment_name: "exp".into(),
            experiment_id: "abcde".into(),
            experiment_path: dir.clone(),
            start_time: 1.0,
            timestamp: 2.0,
            param_space: json!({"lr": {"grid_search": [0.001]}}),
            param_space_has_functions: false,
            tune_config: json!({"seed": 0}),
            run_config: json!({"stop": {"training_iteration": 3.0}}),
            scheduler: SchedulerState {
                name: "FIFOScheduler".into(),
                settings: json!({}),
                state: json!({}),
            },
            searcher: json!({"num_suggested": 1}),
            trials: vec![trial],
            finished: false,
        };
        state
            .save(&dir.join("experiment_state-2025-01-01_00-00-00.json"))
            .unwrap();
        let mut newer = state.clone();
        newer.finished = true;
        newer
            .save(&dir.join("experiment_state-2025-01-02_00-00-00.json"))
            .unwrap();
        let (back, path) = ExperimentState::load_newest(&dir).unwrap();
        assert!(path.ends_with("experiment_state-2025-01-02_00-00-00.json"));
        assert!(back.finished);
        assert_eq!(
            serde_json::to_value(&back.trials).unwrap(),
            serde_json::to_value(&state.trials).unwrap()
        );
        assert_eq!(back.param_space, state.param_space);
        // A newer format is refused with a message saying so.
        let mut future = serde_json::to_value(&state).unwrap();
        future["format_version"] = json!(STATE_FORMAT_VERSION + 1);
        fs::write(
            dir.join("experiment_state-2025-01-03_00-00-00.json"),
            future.to_string(),
        )
        .unwrap();
        let e = ExperimentState::load_newest(&dir).unwrap_err().to_string();
        assert!(e.contains("newer"), "{e}");
        assert!(ExperimentState::load_newest(&dir.join("nope")).is_err());
        let _ = fs::remove_dir_all(&dir);
    }
}
