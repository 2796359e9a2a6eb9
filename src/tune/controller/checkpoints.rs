//! Saving trial checkpoints (Tune's numbering) and keeping `num_to_keep` of them.

use rl_core::algorithm::checkpoint::checkpoint_dir_name;

use super::Run;
use crate::tune::schedulers::metric_value;
use crate::tune::trial::CheckpointRecord;
use crate::tune::TuneError;

impl Run {
    pub(super) fn save_checkpoint(&mut self, j: usize) -> Result<(), TuneError> {
        self.save_checkpoint_of(j, false)
    }

    /// Saves trial `j`'s checkpoint of its decided iteration; one of that iteration is
    /// kept unless `replace` (after an exploit the state is no longer the one saved).
    pub(super) fn save_checkpoint_of(&mut self, j: usize, replace: bool) -> Result<(), TuneError> {
        let dir = self.dir(j);
        let t = &self.c.trials[j];
        let iteration = t.decided_iteration;
        let same = t
            .latest_checkpoint()
            .filter(|c| c.iteration == iteration)
            .cloned();
        if same.is_some() && !replace {
            return Ok(());
        }
        // Replacing keeps the number, hence the directory: the save swaps it atomically.
        let index = same.as_ref().map_or(t.num_checkpoints_saved, |c| c.index);
        let path = dir.join(checkpoint_dir_name(index));
        let algo = self.rt[j].algo.as_ref().ok_or_else(|| {
            TuneError::Config(format!(
                "internal: trial {} has no algorithm to save",
                t.trial_id
            ))
        })?;
        algo.save_to_path(&path)?;
        let score = self
            .c
            .checkpoint
            .checkpoint_score_attribute
            .as_deref()
            .and_then(|k| t.last_result.as_ref().and_then(|r| metric_value(r, k)));
        let t = &mut self.c.trials[j];
        t.checkpoints.retain(|c| c.index != index);
        if same.is_none() {
            t.num_checkpoints_saved += 1;
        }
        t.checkpoints.push(CheckpointRecord {
            index,
            iteration,
            path: path.clone(),
            score,
        });
        self.prune_checkpoints(j);
        if self.c.verbose >= 2 {
            println!(
                "Trial {} saved a checkpoint for iteration {iteration} at: (local){}",
                self.c.trials[j].name,
                path.display()
            );
        }
        Ok(())
    }

    /// Keeps the best `num_to_keep` (by score, or the latest without one) and always the
    /// latest.
    pub(super) fn prune_checkpoints(&mut self, j: usize) {
        let Some(keep) = self.c.checkpoint.num_to_keep else {
            return;
        };
        let order = self.c.checkpoint.checkpoint_score_order;
        let t = &mut self.c.trials[j];
        let latest = t.latest_checkpoint().map(|c| c.index);
        let mut ranked: Vec<&CheckpointRecord> = t.checkpoints.iter().collect();
        ranked.sort_by(|a, b| match (a.score, b.score) {
            (Some(x), Some(y)) => (order.sign() * y)
                .total_cmp(&(order.sign() * x))
                .then(b.index.cmp(&a.index)),
            _ => b.index.cmp(&a.index),
        });
        let kept: Vec<usize> = ranked.iter().take(keep.max(1)).map(|c| c.index).collect();
        let (stay, go): (Vec<CheckpointRecord>, Vec<CheckpointRecord>) = t
            .checkpoints
            .drain(..)
            .partition(|c| kept.contains(&c.index) || Some(c.index) == latest);
        t.checkpoints = stay;
        for c in go {
            let _ = std::fs::remove_dir_all(&c.path);
        }
    }
}
