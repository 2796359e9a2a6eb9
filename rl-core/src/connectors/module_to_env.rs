//! Module→env connectors: from the module's action-distribution inputs to env actions.

use ndarray::Array2;
use std::sync::Arc;

use rl_nn::ActionDistribution;
use serde::{Deserialize, Serialize};

use super::{connector_methods, impl_connector_for, ConnectorContext, ConnectorError, Pipeline};
use crate::env::{Space, Value};

/// The data a module→env pipeline transforms, one row per env.
#[derive(Clone, Debug, Default)]
pub struct ModuleToEnvBatch {
    /// The distribution `action_dist_inputs` parameterize (the module's).
    pub dist: Option<Arc<dyn ActionDistribution>>,
    /// The module's action-distribution inputs (the input), rows × dist_dim.
    pub action_dist_inputs: Array2<f32>,
    /// The actions as the module chose them (stored in episodes; a discrete action as its
    /// index), rows × act_dim.
    pub actions: Array2<f32>,
    /// Log-probability of each chosen action under the distribution.
    pub action_logp: Vec<f32>,
    /// The actions to send to the envs (after unsquashing/clipping).
    pub env_actions: Vec<Value>,
}

/// One module→env transformation; a serializable plugin like every connector.
#[typetag::serde(tag = "type")]
pub trait ModuleToEnv: CloneModuleToEnv + Send + Sync {
    connector_methods!();

    /// Transforms the batch in place.
    fn process(
        &mut self,
        batch: &mut ModuleToEnvBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError>;
}

impl_connector_for!(ModuleToEnv);
super::pipeline::connector_clone!(ModuleToEnv, CloneModuleToEnv);

impl Pipeline<dyn ModuleToEnv> {
    /// Runs every connector in order.
    pub fn run(
        &mut self,
        batch: &mut ModuleToEnvBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        self.connectors_mut()
            .iter_mut()
            .try_for_each(|c| c.process(batch, ctx))
    }

    /// RLlib's default module→env pipeline: get actions, then normalize and clip them.
    pub fn default_module_to_env(normalize_actions: bool, clip_actions: bool) -> Self {
        Pipeline::new(vec![
            Box::new(GetActions),
            Box::new(NormalizeAndClipActions {
                normalize_actions,
                clip_actions,
            }),
        ])
    }
}

/// Samples an action from the distribution (`explore`) or takes the greedy one
/// (argmax / mean), with its log-probability.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct GetActions;

#[typetag::serde]
impl ModuleToEnv for GetActions {
    fn process(
        &mut self,
        batch: &mut ModuleToEnvBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        let bad = |reason: String| ConnectorError::BadInput {
            connector: "GetActions".into(),
            reason,
        };
        let dist = batch
            .dist
            .clone()
            .ok_or_else(|| bad("the batch names no action distribution".into()))?;
        let n = batch.action_dist_inputs.nrows();
        let width = dist.action_width(batch.action_dist_inputs.ncols());
        check_action_width(ctx.action_space, width).map_err(bad)?;
        if batch.actions.dim() != (n, width) || !batch.actions.is_standard_layout() {
            batch.actions = Array2::zeros((n, width));
        }
        batch.action_logp.clear();
        batch.env_actions.clear();
        for (inputs, mut action) in batch
            .action_dist_inputs
            .rows()
            .into_iter()
            .zip(batch.actions.rows_mut())
        {
            let action = action
                .as_slice_mut()
                .ok_or_else(|| bad("the action buffer is not contiguous".into()))?;
            let logp = if ctx.explore {
                dist.sample_into(inputs, ctx.rng, action)
            } else {
                dist.deterministic_into(inputs, action)
            }
            .map_err(|e| bad(e.to_string()))?;
            batch.action_logp.push(logp);
            batch.env_actions.push(env_action(ctx.action_space, action));
        }
        Ok(())
    }
}

/// Checks that actions of `width` numbers fit `space` (1 for `Discrete`, the dimension
/// for `Box`); the error says what does not fit.
pub fn check_action_width(space: &Space, width: usize) -> Result<(), String> {
    let expected = match space {
        Space::Discrete { .. } => 1,
        Space::Box { low, .. } => low.len(),
    };
    if width == expected {
        Ok(())
    } else {
        Err(format!(
            "the module's actions have {width} numbers, the action space {space:?} takes {expected}"
        ))
    }
}

/// The env action for a module action row: a `Discrete` index (offset by the space's
/// `start`) or a `Box` vector. The width must fit ([`check_action_width`]).
pub fn env_action(space: &Space, action: &[f32]) -> Value {
    match space {
        Space::Discrete { start, .. } => Value::Discrete(action[0] as i64 + start),
        Space::Box { .. } => Value::Box(action.to_vec()),
    }
}

/// RLlib's `NormalizeAndClipActions`: with `normalize_actions` (the default), the module acts
/// in `[-1, 1]` and actions are unsquashed to the `Box` space's bounds, then clipped to them;
/// with `clip_actions` only, actions are clipped. Discrete actions pass through.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NormalizeAndClipActions {
    /// Unsquash from `[-1, 1]` to the space's bounds (then clip).
    pub normalize_actions: bool,
    /// Clip to the space's bounds.
    pub clip_actions: bool,
}

#[typetag::serde]
impl ModuleToEnv for NormalizeAndClipActions {
    fn process(
        &mut self,
        batch: &mut ModuleToEnvBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        let Space::Box { low, high, .. } = ctx.action_space else {
            return Ok(());
        };
        for action in batch.env_actions.iter_mut() {
            if let Value::Box(a) = action {
                for ((x, &lo), &hi) in a.iter_mut().zip(low).zip(high) {
                    let bounded = lo.is_finite() && hi.is_finite();
                    if self.normalize_actions && bounded {
                        *x = lo + (*x + 1.0) * (hi - lo) / 2.0;
                    }
                    if self.normalize_actions || self.clip_actions {
                        *x = x.clamp(lo, hi);
                    }
                }
            }
        }
        Ok(())
    }
}
