//! Batching: the columns of every episode chunk, laid end to end, into the train batch
//! (RLlib's `AddObservationsFromEpisodesToBatch`, `AddColumnsFromEpisodesToTrainBatch` and
//! `BatchIndividualItems` in one step).

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::{LearnerConnector, LearnerContext, LearnerData};
use crate::batch::TrainBatch;
use crate::connectors::ConnectorError;

/// Builds `obs`, `actions`, `rewards`, `terminateds`, `truncateds`, `action_logp`,
/// `action_dist_inputs` and `loss_mask` from the episode chunks.
///
/// Row `t` of a chunk holds observation `t` and the step taken on it. With bootstrap steps
/// added, a chunk's last row is the extra step (`loss_mask` false, neither terminated nor
/// truncated: RLlib 2.60's `AddOneTsToEpisodesAndTruncate`) and its last real step is
/// `terminated` if the episode terminated there, else `truncated`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AddColumnsFromEpisodesToTrainBatch;

#[typetag::serde]
impl LearnerConnector for AddColumnsFromEpisodesToTrainBatch {
    fn process(
        &mut self,
        data: &mut LearnerData,
        _ctx: &mut LearnerContext<'_>,
    ) -> Result<(), ConnectorError> {
        let Some(first) = data.episodes.first() else {
            data.batch = TrainBatch::default();
            return Ok(());
        };
        let (obs_dim, act_dim, dist_dim) = (first.obs_dim, first.act_dim, first.dist_dim);
        if let Some(ep) = data
            .episodes
            .iter()
            .find(|e| (e.obs_dim, e.act_dim, e.dist_dim) != (obs_dim, act_dim, dist_dim))
        {
            return Err(ConnectorError::BadInput {
                connector: self.name().into(),
                reason: format!(
                    "episode {} has widths (obs {}, act {}, dist {}) but the first has ({obs_dim}, {act_dim}, {dist_dim})",
                    ep.id, ep.obs_dim, ep.act_dim, ep.dist_dim
                ),
            });
        }
        let rows: usize = data.episodes.iter().map(|e| e.len()).sum();
        let mut obs = Vec::with_capacity(rows * obs_dim);
        let mut actions = Vec::with_capacity(rows * act_dim);
        let mut dist = Vec::with_capacity(rows * dist_dim);
        let (mut rewards, mut logp) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
        let mut terminateds = vec![false; rows];
        let mut truncateds = vec![false; rows];
        let mut loss_mask = vec![true; rows];
        let mut row = 0;
        for ep in &data.episodes {
            let n = ep.len();
            obs.extend_from_slice(&ep.observations[..n * obs_dim]);
            actions.extend_from_slice(&ep.actions);
            dist.extend_from_slice(&ep.action_dist_inputs);
            rewards.extend_from_slice(&ep.rewards);
            logp.extend_from_slice(&ep.action_logp);
            let last = row + n - 1;
            if data.bootstrap_steps_added {
                // RLlib 2.60's convention: the appended bootstrap step is neither
                // terminated nor truncated (only masked); the last real step carries the
                // chunk's end. `n >= 2` always holds here (a real step plus the extra one).
                loss_mask[last] = false;
                if n >= 2 {
                    terminateds[last - 1] = ep.is_terminated;
                    truncateds[last - 1] = !ep.is_terminated;
                }
            } else {
                terminateds[last] = ep.is_terminated;
                truncateds[last] = ep.is_truncated;
            }
            row += n;
        }
        let shape_err = |e: ndarray::ShapeError| ConnectorError::BadInput {
            connector: "AddColumnsFromEpisodesToTrainBatch".into(),
            reason: e.to_string(),
        };
        data.batch = TrainBatch {
            obs: Array2::from_shape_vec((rows, obs_dim), obs).map_err(shape_err)?,
            actions: Array2::from_shape_vec((rows, act_dim), actions).map_err(shape_err)?,
            action_dist_inputs: Array2::from_shape_vec((rows, dist_dim), dist)
                .map_err(shape_err)?,
            rewards: Array1::from(rewards),
            action_logp: Array1::from(logp),
            terminateds: Array1::from(terminateds),
            truncateds: Array1::from(truncateds),
            loss_mask: Array1::from(loss_mask),
            ..Default::default()
        };
        Ok(())
    }
}
