//! The train batch: the learner pipeline's output, one row per time step.

use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

/// Columns of a train batch, RLlib's names. Rows are time steps of episode chunks laid
/// end to end (extra bootstrap steps included, with `loss_mask` false).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainBatch {
    /// `obs`: module inputs, rows × obs_dim.
    pub obs: Array2<f32>,
    /// `actions`: rows × act_dim (a discrete action as its index).
    pub actions: Array2<f32>,
    /// `rewards`.
    pub rewards: Array1<f32>,
    /// `terminateds`: the episode reached a terminal state at this step.
    pub terminateds: Array1<bool>,
    /// `truncateds`: the chunk was cut at this step (time limit, rollout end, or extra step).
    pub truncateds: Array1<bool>,
    /// `action_logp`: log-probability of the action under the sampling policy.
    pub action_logp: Array1<f32>,
    /// `action_dist_inputs`: the sampling policy's distribution inputs, rows × dist_dim.
    pub action_dist_inputs: Array2<f32>,
    /// `loss_mask`: false on the extra bootstrap steps.
    pub loss_mask: Array1<bool>,
    /// `vf_preds`: the critic's predictions when the batch was built.
    pub vf_preds: Array1<f32>,
    /// `advantages` (standardized by the GAE connector).
    pub advantages: Array1<f32>,
    /// `value_targets`.
    pub value_targets: Array1<f32>,
}

impl TrainBatch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.obs.nrows()
    }

    /// Whether the batch has no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of rows that count in the loss.
    pub fn num_masked_rows(&self) -> usize {
        self.loss_mask.iter().filter(|&&m| m).count()
    }

    /// Checks that every column has one entry per row: the error names the first column
    /// that does not.
    pub fn check(&self) -> Result<(), super::LearnerError> {
        let n = self.len();
        let lens = [
            ("actions", self.actions.nrows()),
            ("rewards", self.rewards.len()),
            ("terminateds", self.terminateds.len()),
            ("truncateds", self.truncateds.len()),
            ("action_logp", self.action_logp.len()),
            ("action_dist_inputs", self.action_dist_inputs.nrows()),
            ("loss_mask", self.loss_mask.len()),
            ("vf_preds", self.vf_preds.len()),
            ("advantages", self.advantages.len()),
            ("value_targets", self.value_targets.len()),
        ];
        match lens.iter().find(|(_, len)| *len != n) {
            None => Ok(()),
            Some((name, len)) => Err(super::LearnerError::BadBatch(format!(
                "column `{name}` has {len} rows, `obs` has {n}; every column needs one entry per row"
            ))),
        }
    }

    /// Copies rows `rows` into `out`, reusing its buffers when the shapes allow
    /// (the learner calls this once per minibatch). Errors, changing nothing, when a column
    /// is ragged ([`check`](Self::check)) or a row is out of range.
    pub fn select_into(
        &self,
        rows: &[usize],
        out: &mut TrainBatch,
    ) -> Result<(), super::LearnerError> {
        self.check()?;
        if let Some(&r) = rows.iter().find(|&&r| r >= self.len()) {
            return Err(super::LearnerError::BadBatch(format!(
                "row {r} selected from a batch of {} rows",
                self.len()
            )));
        }
        fn rows2(src: &Array2<f32>, rows: &[usize], dst: &mut Array2<f32>) {
            if dst.dim() != (rows.len(), src.ncols()) {
                *dst = Array2::zeros((rows.len(), src.ncols()));
            }
            for (mut d, &r) in dst.axis_iter_mut(Axis(0)).zip(rows) {
                d.assign(&src.row(r));
            }
        }
        fn rows1<T: Copy + Default>(src: &Array1<T>, rows: &[usize], dst: &mut Array1<T>) {
            if dst.len() != rows.len() {
                *dst = Array1::from_elem(rows.len(), T::default());
            }
            for (d, &r) in dst.iter_mut().zip(rows) {
                *d = src[r];
            }
        }
        rows2(&self.obs, rows, &mut out.obs);
        rows2(&self.actions, rows, &mut out.actions);
        rows2(&self.action_dist_inputs, rows, &mut out.action_dist_inputs);
        rows1(&self.rewards, rows, &mut out.rewards);
        rows1(&self.terminateds, rows, &mut out.terminateds);
        rows1(&self.truncateds, rows, &mut out.truncateds);
        rows1(&self.action_logp, rows, &mut out.action_logp);
        rows1(&self.loss_mask, rows, &mut out.loss_mask);
        rows1(&self.vf_preds, rows, &mut out.vf_preds);
        rows1(&self.advantages, rows, &mut out.advantages);
        rows1(&self.value_targets, rows, &mut out.value_targets);
        Ok(())
    }
}
