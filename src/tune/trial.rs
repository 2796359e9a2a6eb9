//! A trial: one config of the sweep, its status, its files and checkpoints, and Ray's
//! names for it.

use std::fmt;
use std::path::PathBuf;

use rl_core::metrics::ResultDict;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A trial's status (Ray's `Trial.PENDING`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrialStatus {
    /// Waiting to start (or to restart after a failure or a resume).
    Pending,
    /// Training.
    Running,
    /// Waiting at a scheduler barrier (PBT).
    Paused,
    /// Ended normally (stop criteria, scheduler, or the sweep stopping).
    Terminated,
    /// Failed for good.
    Error,
}

impl TrialStatus {
    /// Whether the trial has ended.
    pub fn is_finished(self) -> bool {
        matches!(self, TrialStatus::Terminated | TrialStatus::Error)
    }

    /// Ray's order of statuses in the trial table.
    pub fn table_rank(self) -> usize {
        match self {
            TrialStatus::Running => 0,
            TrialStatus::Terminated => 1,
            TrialStatus::Paused => 2,
            TrialStatus::Pending => 3,
            TrialStatus::Error => 4,
        }
    }
}

impl fmt::Display for TrialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrialStatus::Pending => "PENDING",
            TrialStatus::Running => "RUNNING",
            TrialStatus::Paused => "PAUSED",
            TrialStatus::Terminated => "TERMINATED",
            TrialStatus::Error => "ERROR",
        })
    }
}

/// A checkpoint a trial saved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointRecord {
    /// Its number in the trial (`checkpoint_00000N`).
    pub index: usize,
    /// The training iteration it holds.
    pub iteration: usize,
    /// Its directory.
    pub path: PathBuf,
    /// `checkpoint_score_attribute` at that iteration, if configured.
    pub score: Option<f64>,
}

/// One trial of a sweep: what the experiment state records about it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Trial {
    /// Index in the sweep (0, 1, …).
    pub index: usize,
    /// Ray's trial id: `<5 hex experiment id>_<5-digit index>`.
    pub trial_id: String,
    /// Ray's trial name: `<algorithm>_<env>_<trial id>`.
    pub name: String,
    /// The trial directory's name (inside the experiment directory).
    pub dir_name: String,
    /// Ray's experiment tag: `<index>_<key=value,…>`.
    pub experiment_tag: String,
    /// The config (PBT changes it at exploits).
    pub config: Value,
    /// The searched keys and the values drawn for this trial.
    pub resolved_vars: Vec<(String, Value)>,
    /// Status.
    pub status: TrialStatus,
    /// The latest error message.
    pub error: Option<String>,
    /// Failures so far.
    pub num_failures: usize,
    /// The last result decided on.
    pub last_result: Option<ResultDict>,
    /// The `training_iteration` of the last result decided on (results up to it were seen
    /// by the scheduler, stoppers and searcher, and are not shown to them again after a
    /// restart).
    pub decided_iteration: usize,
    /// The scheduler's `time_attr` of that result.
    pub decided_time: f64,
    /// Paused at a barrier that has been passed: ready to continue.
    pub released: bool,
    /// Checkpoints kept, oldest first.
    pub checkpoints: Vec<CheckpointRecord>,
    /// Checkpoints saved so far (the next one's number).
    pub num_checkpoints_saved: usize,
    /// Logical CPUs it reserves.
    pub cpus: usize,
}

impl Trial {
    /// The latest checkpoint.
    pub fn latest_checkpoint(&self) -> Option<&CheckpointRecord> {
        self.checkpoints.iter().max_by_key(|c| c.index)
    }
}

/// Ray's trial name: `PPO_CartPole-v1_d4590_00000` (`/` in the env name becomes `_`).
pub fn trial_name(algorithm: &str, config: &Value, trial_id: &str) -> String {
    let env = config
        .get("env")
        .and_then(Value::as_str)
        .filter(|e| !e.is_empty());
    let name = match env {
        Some(env) => format!("{algorithm}_{env}_{trial_id}"),
        None => format!("{algorithm}_{trial_id}"),
    };
    name.replace('/', "_")
}

/// Longest trial directory name: short enough for every file system once the
/// experiment path and `checkpoint_000000/learner/…` are added (Ray issues 1463, 29586).
pub const MAX_DIR_NAME: usize = 64;

/// The trial directory's name: `<trial name>_<experiment tag>`, cut at [`MAX_DIR_NAME`]
/// characters (the full config is in `params.json`). Ray adds the date as well and cuts
/// at 130 characters.
pub fn trial_dir_name(name: &str, experiment_tag: &str) -> String {
    let full = format!("{name}_{experiment_tag}");
    let cut: String = full.chars().take(MAX_DIR_NAME).collect();
    cut.trim_end_matches(['_', ',', '=']).to_string()
}

/// The logical CPUs a trial asks for, like RLlib's placement group: one for the driver
/// and learner, one per env runner and evaluation env runner.
pub fn requested_cpus(config: &Value) -> usize {
    let n = |k: &str| config.get(k).and_then(Value::as_u64).unwrap_or(0) as usize;
    1 + n("num_env_runners") + n("evaluation_num_env_runners")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_as_ray() {
        let c = json!({"env": "CartPole-v1", "num_env_runners": 2});
        let name = trial_name("PPO", &c, "d4590_00000");
        assert_eq!(name, "PPO_CartPole-v1_d4590_00000");
        assert_eq!(
            trial_dir_name(&name, "0_minibatch_size=128"),
            "PPO_CartPole-v1_d4590_00000_0_minibatch_size=128"
        );
        let long = trial_dir_name(&name, &format!("0_{}", "lr=0.001,".repeat(20)));
        assert!(long.len() <= MAX_DIR_NAME, "{long}");
        assert_eq!(
            trial_name("PPO", &json!({"env": "ALE/Pong-v5"}), "x_00001"),
            "PPO_ALE_Pong-v5_x_00001"
        );
        assert_eq!(requested_cpus(&c), 3);
        assert_eq!(requested_cpus(&json!({})), 1);
    }
}
