//! RLlib's `GeneralAdvantageEstimation` learner connector: value predictions for the whole
//! batch, value targets by [`compute_value_targets`], advantages standardized over the batch.
//!
//! γ and λ are the config's `gamma` and `lambda_`, as in RLlib (whose learner builds the
//! connector from the config): [`configure`](LearnerConnector::configure) reads them when the
//! learner is built. A pipeline may still name them (pipelines written before they came from
//! the config do), but only to the config's values: a config cannot say two things, so a
//! different value is refused, naming both.

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use super::gae::{compute_value_targets, standardize, standardize_over};
use super::{LearnerConnector, LearnerContext, LearnerData};
use crate::connectors::ConnectorError;

/// Fills `vf_preds`, `value_targets` and (standardized) `advantages`.
///
/// `GeneralAdvantageEstimation::default()` takes γ and λ from the config; that is what to put
/// in a custom learner pipeline, so that setting `gamma` or `lambda_` (a sweep) reaches it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GeneralAdvantageEstimation {
    /// Discount factor γ: `None` until [`configure`](LearnerConnector::configure) reads the
    /// config's `gamma`; if set, it must equal it.
    #[serde(default)]
    pub gamma: Option<f32>,
    /// GAE's λ: `None` until `configure` reads the config's `lambda_`; if set, it must equal
    /// it.
    #[serde(default)]
    pub lambda: Option<f32>,
    /// Not in RLlib: take the standardization's mean and std over the real steps only
    /// (`loss_mask` true), leaving out the bootstrap steps
    /// [`AddOneTsToEpisodesAndTruncate`](super::AddOneTsToEpisodesAndTruncate) appends.
    /// Off by default, as RLlib 2.60 counts those steps, whose advantages run on into the
    /// next chunk (`docs/ppo_vs_rllib.md`).
    #[serde(default)]
    pub standardize_real_rows_only: bool,
}

impl GeneralAdvantageEstimation {
    /// Sets [`GeneralAdvantageEstimation::standardize_real_rows_only`].
    pub fn with_standardize_real_rows_only(mut self, on: bool) -> Self {
        self.standardize_real_rows_only = on;
        self
    }
}

impl GeneralAdvantageEstimation {
    /// A connector with γ and λ fixed (they must still equal the config's).
    pub fn with(gamma: f32, lambda: f32) -> Self {
        GeneralAdvantageEstimation {
            gamma: Some(gamma),
            lambda: Some(lambda),
            standardize_real_rows_only: false,
        }
    }
}

/// The config's value for `key` into `own`: taken when `own` is unset, refused when it says
/// something else.
fn take_from_config(
    own: &mut Option<f32>,
    field: &str,
    config: &serde_json::Value,
    key: &str,
) -> Result<(), ConnectorError> {
    let bad = |reason: String| ConnectorError::BadInput {
        connector: "GeneralAdvantageEstimation".into(),
        reason,
    };
    let wanted = config.get(key).and_then(|v| v.as_f64()).map(|v| v as f32);
    match (*own, wanted) {
        (Some(mine), Some(theirs)) if mine != theirs => Err(bad(format!(
            "its `{field}` = {mine} contradicts the config's `{key}` = {theirs}; a config cannot say two things: remove `{field}` from the connector (it then reads the config's) or set `{key}` = {mine}"
        ))),
        (Some(_), _) => Ok(()),
        (None, Some(theirs)) => {
            *own = Some(theirs);
            Ok(())
        }
        (None, None) => Err(bad(format!(
            "the config has no number `{key}` to take `{field}` from; set `{key}` in the config or `{field}` on the connector"
        ))),
    }
}

#[typetag::serde]
impl LearnerConnector for GeneralAdvantageEstimation {
    fn configure(&mut self, config: &serde_json::Value) -> Result<(), ConnectorError> {
        take_from_config(&mut self.gamma, "gamma", config, "gamma")?;
        take_from_config(&mut self.lambda, "lambda", config, "lambda_")
    }

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
        let (Some(gamma), Some(lambda)) = (self.gamma, self.lambda) else {
            return Err(bad(
                "γ and λ are not set: the learner must call Pipeline::configure with its config before running the pipeline".into(),
            ));
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
            gamma,
            lambda,
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
