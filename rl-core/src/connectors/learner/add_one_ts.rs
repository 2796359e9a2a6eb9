//! RLlib's `AddOneTsToEpisodesAndTruncate`: one extra time step at the end of every chunk,
//! so that the value of the last observation can be predicted in the same batch pass.

use serde::{Deserialize, Serialize};

use super::{LearnerConnector, LearnerContext, LearnerData};
use crate::connectors::ConnectorError;

/// Appends to every episode chunk one step that repeats the last observation (and last
/// action and distribution inputs) with reward 0.
///
/// The flags follow RLlib 2.60 (`add_one_ts_to_episodes_and_truncate.py`): downstream
/// ([`AddColumnsFromEpisodesToTrainBatch`](super::AddColumnsFromEpisodesToTrainBatch)) the
/// chunk's last *real* step is `terminated` if the episode ended in a terminal state there
/// and `truncated` otherwise (time limit or rollout cut), so GAE bootstraps that step from
/// the extra step's value (or from 0); the extra step itself is `loss_mask = false` and
/// **neither** terminated nor truncated. Its own advantage therefore runs on into the next
/// chunk's first step; the loss never reads it, but it counts in the advantage
/// standardization's mean and std, as in RLlib (see
/// [`GeneralAdvantageEstimation::standardize_real_rows_only`](super::GeneralAdvantageEstimation::standardize_real_rows_only)).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AddOneTsToEpisodesAndTruncate;

#[typetag::serde]
impl LearnerConnector for AddOneTsToEpisodesAndTruncate {
    fn process(
        &mut self,
        data: &mut LearnerData,
        _ctx: &mut LearnerContext<'_>,
    ) -> Result<(), ConnectorError> {
        if data.bootstrap_steps_added {
            return Ok(());
        }
        for ep in data.episodes.iter_mut() {
            if ep.is_empty() {
                return Err(ConnectorError::BadInput {
                    connector: self.name().into(),
                    reason: format!(
                        "episode {} has an empty chunk; runners never return one",
                        ep.id
                    ),
                });
            }
            let last_obs = ep.last_obs().to_vec();
            let n = ep.len();
            let action = ep.actions[(n - 1) * ep.act_dim..n * ep.act_dim].to_vec();
            let dist = ep.action_dist_inputs[(n - 1) * ep.dist_dim..n * ep.dist_dim].to_vec();
            ep.add_step(&action, 0.0, &dist, 0.0, &last_obs);
        }
        data.bootstrap_steps_added = true;
        Ok(())
    }
}
