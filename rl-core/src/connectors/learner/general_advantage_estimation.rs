//! RLlib's `GeneralAdvantageEstimation` learner connector: value predictions for the whole
//! batch, value targets by [`compute_value_targets`], advantages standardized over the batch.

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use super::gae::{compute_value_targets, standardize, standardize_over};
use super::{LearnerConnector, LearnerContext, LearnerData};
use crate::connectors::{ConnectorError, ConnectorState, Named};

/// Fills `vf_preds`, `value_targets` and (standardized) `advantages`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GeneralAdvantageEstimation {
    /// Discount factor γ.
    pub gamma: f32,
    /// GAE's λ (RLlib's `lambda_`).
    pub lambda: f32,
    /// Not in RLlib: take the standardization's mean and std over the real steps only
    /// (`loss_mask` true), leaving out the bootstrap steps
    /// [`AddOneTsToEpisodesAndTruncate`](super::AddOneTsToEpisodesAndTruncate) appends.
    /// Off by default, as RLlib 2.60 counts those steps, whose advantages run on into the
    /// next chunk (`docs/ppo_vs_rllib.md`).
    #[serde(default)]
    pub standardize_real_rows_only: bool,
}

impl GeneralAdvantageEstimation {
    /// RLlib's connector with these GAE parameters.
    pub fn new(gamma: f32, lambda: f32) -> Self {
        GeneralAdvantageEstimation {
            gamma,
            lambda,
            standardize_real_rows_only: false,
        }
    }

    /// Sets [`GeneralAdvantageEstimation::standardize_real_rows_only`].
    pub fn with_standardize_real_rows_only(mut self, on: bool) -> Self {
        self.standardize_real_rows_only = on;
        self
    }
}

impl Named for GeneralAdvantageEstimation {
    fn name(&self) -> &str {
        "GeneralAdvantageEstimation"
    }
}
impl ConnectorState for GeneralAdvantageEstimation {}

#[typetag::serde]
impl LearnerConnector for GeneralAdvantageEstimation {
    fn process(
        &mut self,
        data: &mut LearnerData,
        ctx: &mut LearnerContext<'_>,
    ) -> Result<(), ConnectorError> {
        let batch = &mut data.batch;
        if batch.is_empty() {
            return Ok(());
        }
        let bad = |reason: String| ConnectorError::BadInput {
            connector: "GeneralAdvantageEstimation".into(),
            reason,
        };
        let critic = ctx.module.as_value_function().ok_or_else(|| {
            bad("the module has no value function (ValueFunctionAPI); GAE needs a critic".into())
        })?;
        let values = critic
            .compute_values(batch.obs.view())
            .map_err(|e| bad(e.to_string()))?;
        let as_slice = |a: &Array1<f32>| a.to_vec();
        let targets = compute_value_targets(
            &as_slice(&values),
            &as_slice(&batch.rewards),
            &batch.terminateds.to_vec(),
            &batch.truncateds.to_vec(),
            self.gamma,
            self.lambda,
        )
        .ok_or_else(|| ConnectorError::BadInput {
            connector: self.name().into(),
            reason: format!(
                "the module returned {} values for a batch of {} rows",
                values.len(),
                batch.len()
            ),
        })?;
        let mut advantages: Vec<f32> = targets.iter().zip(&values).map(|(t, v)| t - v).collect();
        if self.standardize_real_rows_only {
            let mask = batch.loss_mask.to_vec();
            standardize_over(&mut advantages, &mask).ok_or_else(|| ConnectorError::BadInput {
                connector: "GeneralAdvantageEstimation".into(),
                reason: format!(
                    "the loss mask has {} rows for a batch of {}",
                    mask.len(),
                    advantages.len()
                ),
            })?;
        } else {
            standardize(&mut advantages);
        }
        batch.vf_preds = values;
        batch.value_targets = Array1::from(targets);
        batch.advantages = Array1::from(advantages);
        Ok(())
    }
}
