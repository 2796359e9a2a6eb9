//! Barriers of synchronous schedulers (PBT): the population's checkpoints and exploits.

use rl_core::algorithm::build_algorithm;
use rl_core::metrics::ResultDict;
use serde_json::{json, Value};

use super::Run;
use crate::tune::files::{append_json_line, write_params};
use crate::tune::schedulers::{BarrierAction, Member, Ordering, TrialInfo};
use crate::tune::trial::{Trial, TrialStatus};
use crate::tune::TuneError;

impl Run {
    pub(super) fn barrier(&mut self) -> Result<(), TuneError> {
        if self.c.scheduler.ordering() != Ordering::Synchronous || self.stopping {
            return Ok(());
        }
        let waiting: Vec<usize> = (0..self.c.trials.len())
            .filter(|&i| !self.c.trials[i].status.is_finished())
            .collect();
        let all_parked = waiting.iter().all(|&i| {
            let t = &self.c.trials[i];
            t.status == TrialStatus::Paused && !t.released && self.rt[i].algo.is_some()
        });
        if waiting.is_empty() || !all_parked {
            return Ok(());
        }
        let snapshot: Vec<(usize, String, Value, ResultDict)> = waiting
            .iter()
            .map(|&i| {
                let t = &self.c.trials[i];
                (
                    i,
                    t.trial_id.clone(),
                    t.config.clone(),
                    t.last_result.clone().unwrap_or_default(),
                )
            })
            .collect();
        let members: Vec<Member<'_>> = snapshot
            .iter()
            .map(|(i, id, config, result)| Member {
                trial: TrialInfo {
                    index: *i,
                    trial_id: id,
                    config,
                },
                result,
            })
            .collect();
        let actions = self.c.scheduler.on_barrier(&members);
        for action in actions {
            match action {
                BarrierAction::Checkpoint(i) => {
                    if let Err(e) = self.save_checkpoint(i) {
                        self.on_failure(i, format!("saving a checkpoint: {e}"))?;
                    }
                }
                BarrierAction::Exploit {
                    trial,
                    from,
                    config,
                } => {
                    if let Err(e) = self.exploit(trial, from, config) {
                        self.on_failure(trial, format!("exploiting trial {from}: {e}"))?;
                    }
                }
            }
        }
        for i in waiting {
            if self.c.trials[i].status == TrialStatus::Paused {
                self.c.trials[i].released = true;
            }
        }
        self.save_state(false)
    }

    pub(super) fn exploit(
        &mut self,
        j: usize,
        from: usize,
        config: Value,
    ) -> Result<(), TuneError> {
        let source = self.c.trials[from]
            .latest_checkpoint()
            .cloned()
            .ok_or_else(|| TuneError::Config(format!("trial {from} has no checkpoint to clone")))?;
        let mut algo = build_algorithm(&self.c.algorithm, &config)?;
        algo.restore_from_path(&source.path)?;
        let old_config = self.c.trials[from].config.clone();
        let dir = self.dir(j);
        write_params(&dir, &config)?;
        self.rt[j].algo = Some(algo);
        let target_iter = self.c.trials[j].decided_iteration;
        self.c.trials[j].config = config.clone();
        // Its own checkpoint of the new state: a resume restarts from here.
        self.save_checkpoint_of(j, true)?;
        let line = json!([
            self.c.trials[j].experiment_tag,
            self.c.trials[from].experiment_tag,
            target_iter,
            source.iteration,
            old_config,
            config,
        ]);
        append_json_line(&self.c.experiment_dir.join("pbt_global.txt"), &line)?;
        let policy = |t: &Trial| {
            self.c
                .experiment_dir
                .join(format!("pbt_policy_{}.txt", t.trial_id))
        };
        let (target, clone) = (policy(&self.c.trials[j]), policy(&self.c.trials[from]));
        if clone.exists() {
            std::fs::copy(&clone, &target).map_err(|e| TuneError::io(&target, e))?;
        } else {
            let _ = std::fs::remove_file(&target);
        }
        append_json_line(&target, &line)?;
        if self.c.verbose >= 1 {
            println!(
                "[PopulationBasedTraining] [Exploit] Cloning trial {} into trial {} at iteration {target_iter}; new config: {}",
                self.c.trials[from].trial_id,
                self.c.trials[j].trial_id,
                crate::tune::report::format::py_repr(&json!(self
                    .c
                    .params
                    .iter()
                    .map(|k| (k.clone(), crate::tune::search::space::get_in(&config, k).cloned().unwrap_or(Value::Null)))
                    .collect::<serde_json::Map<_, _>>()))
            );
        }
        Ok(())
    }
}
