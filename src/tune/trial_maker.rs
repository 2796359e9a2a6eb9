//! Making a trial from a searcher's variant: its seed, the scheduler's additions, Ray's
//! trial names and directory names (what the controller asks for each new trial).

use rl_core::seeding::derive_seed;
use serde_json::Value;

use super::schedulers::{TrialInfo, TrialScheduler};
use super::search::{format_vars, Variant};
use super::trial::{requested_cpus, trial_dir_name, trial_name, Trial, TrialStatus};

/// Makes trial `index` from a searcher's variant: the trial seed unless the space sets
/// one, the scheduler's additions, Ray's names.
pub(crate) struct TrialMaker {
    /// The algorithm's registered name.
    pub(crate) algorithm: String,
    /// The algorithm's default config, under the trial's own.
    pub(crate) default: Value,
    /// The sweep's seed, from which each trial's is derived.
    pub(crate) seed: u64,
    /// Ray's experiment id, the first part of each trial id.
    pub(crate) experiment_id: String,
    /// Whether the param space sets `seed` itself.
    pub(crate) seed_set: bool,
}

impl TrialMaker {
    pub(crate) fn make(
        &self,
        index: usize,
        variant: Variant,
        scheduler: &mut dyn TrialScheduler,
    ) -> Trial {
        let Variant {
            mut config,
            resolved_vars,
        } = variant;
        if !self.seed_set && self.default.get("seed").is_some() {
            if let Value::Object(o) = &mut config {
                let s = derive_seed(self.seed, &["tune", "trial", &index.to_string()]);
                o.insert("seed".into(), Value::from(s));
            }
        }
        let trial_id = format!("{}_{index:05}", self.experiment_id);
        let before = config.clone();
        scheduler.on_trial_add(
            &TrialInfo {
                index,
                trial_id: &trial_id,
                config: &before,
            },
            &mut config,
        );
        let mut merged = self.default.clone();
        merge(&mut merged, &config);
        let name = trial_name(&self.algorithm, &merged, &trial_id);
        let vars = format_vars(&resolved_vars);
        let tag = if vars.is_empty() {
            index.to_string()
        } else {
            format!("{index}_{vars}")
        };
        Trial {
            index,
            dir_name: trial_dir_name(&name, &tag),
            trial_id,
            name,
            experiment_tag: tag,
            cpus: requested_cpus(&merged),
            config,
            resolved_vars,
            status: TrialStatus::Pending,
            error: None,
            num_failures: 0,
            last_result: None,
            decided_iteration: 0,
            decided_time: 0.0,
            released: false,
            checkpoints: Vec::new(),
            num_checkpoints_saved: 0,
        }
    }
}

/// Deep-merges `over` into `base` (objects key by key, anything else replaced).
pub(crate) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}
