//! RLlib's `AddOneTsToEpisodesAndTruncate`: one extra time step at the end of every chunk,
//! so that the value of the last observation can be predicted in the same batch pass.

use serde::{Deserialize, Serialize};

use super::{LearnerConnector, LearnerContext, LearnerData};
use crate::connectors::ConnectorError;

/// Appends to every episode chunk one step that repeats the last observation (and last
/// action and distribution inputs) with reward 0. Downstream, that step has
/// `loss_mask = false` and `truncated = true`, and a chunk that did not terminate is
/// marked truncated at its last real step, so GAE bootstraps from the extra step's value.
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
