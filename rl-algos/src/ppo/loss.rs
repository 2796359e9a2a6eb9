//! PPO's loss, exactly as RLlib 2.60's `PPOTorchLearner.compute_loss_for_module`:
//!
//! ```text
//! m(x)      = Σ x[mask] / Σ mask                       (possibly_masked_mean)
//! ratio     = exp(logp_curr(a) − action_logp)
//! surrogate = min(A·ratio, A·clamp(ratio, 1 − clip_param, 1 + clip_param))
//! vf_loss   = (V(s) − value_target)²,  clipped = clamp(vf_loss, 0, vf_clip_param)
//! kl        = m(KL(prev ‖ curr))                        (prev from action_dist_inputs)
//! total     = m(−surrogate + vf_loss_coeff·clipped − entropy_coeff·entropy)
//!             + curr_kl_coeff·kl                        (when use_kl_loss)
//! ```
//!
//! Logged: `policy_loss = −m(surrogate)`, `vf_loss = m(clipped)`, `vf_loss_unclipped =
//! m(vf_loss)`, `entropy = m(entropy)`, `mean_kl_loss = kl`, and `vf_explained_var =
//! max(−1, 1 − Var(y − V)/(Var(y) + 1e-6))` with torch's unbiased variance over all rows
//! (mask ignored, as RLlib).

use ndarray::{ArrayView1, ArrayView2};
use rl_core::learner::TrainBatch;
use rl_nn::{ActionDistKind, NnError, Tape, Var};
use serde::{Deserialize, Serialize};

use super::module::PPOModule;

/// The loss's hyperparameters (RLlib's names).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossHyperparameters {
    /// Surrogate clipping ε (RLlib default 0.3).
    pub clip_param: f32,
    /// Clip of the squared value error (default 10).
    pub vf_clip_param: f32,
    /// Weight of the value loss (default 1).
    pub vf_loss_coeff: f32,
    /// Weight of the entropy bonus (default 0).
    pub entropy_coeff: f32,
    /// Current adaptive KL coefficient.
    pub curr_kl_coeff: f32,
    /// Whether the KL penalty is added (default true).
    pub use_kl_loss: bool,
}

impl Default for LossHyperparameters {
    fn default() -> Self {
        LossHyperparameters {
            clip_param: 0.3,
            vf_clip_param: 10.0,
            vf_loss_coeff: 1.0,
            entropy_coeff: 0.0,
            curr_kl_coeff: 0.2,
            use_kl_loss: true,
        }
    }
}

/// The statistics RLlib logs for the loss (plus the total), as plain numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossStats {
    /// `−m(surrogate)`.
    pub policy_loss: f32,
    /// `m(clamp(vf_loss, 0, vf_clip_param))`.
    pub vf_loss: f32,
    /// `m(vf_loss)`.
    pub vf_loss_unclipped: f32,
    /// Explained variance of the value targets by the predictions (unmasked).
    pub vf_explained_var: f32,
    /// `m(entropy)`.
    pub entropy: f32,
    /// `m(KL(prev ‖ curr))` (0 without the KL loss).
    pub mean_kl_loss: f32,
    /// The total loss.
    pub total_loss: f32,
}

/// What [`ppo_loss`] records.
#[derive(Clone, Copy, Debug)]
pub struct LossOutput {
    /// The `1 × 1` total loss (call `tape.backward` on it).
    pub total_loss: Var,
    /// The module's `action_dist_inputs` (`B × dist_dim`).
    pub action_dist_inputs: Var,
    /// The module's values (`B × 1`).
    pub values: Var,
    /// The logged statistics.
    pub stats: LossStats,
}

/// The columns of a minibatch the loss reads (views, so any storage works).
#[derive(Clone, Copy, Debug)]
pub struct PpoMinibatch<'a> {
    /// `B × obs_dim`.
    pub obs: ArrayView2<'a, f32>,
    /// `B × action_width` (a discrete action is its index as one `f32`).
    pub actions: ArrayView2<'a, f32>,
    /// Log-probability of each action under the sampling policy.
    pub action_logp: ArrayView1<'a, f32>,
    /// The sampling policy's distribution inputs, `B × dist_dim`.
    pub action_dist_inputs: ArrayView2<'a, f32>,
    /// Advantages (standardized upstream).
    pub advantages: ArrayView1<'a, f32>,
    /// Value targets.
    pub value_targets: ArrayView1<'a, f32>,
    /// Rows that count (false on RLlib's extra bootstrap steps).
    pub loss_mask: ArrayView1<'a, bool>,
}

impl<'a> From<&'a TrainBatch> for PpoMinibatch<'a> {
    fn from(b: &'a TrainBatch) -> Self {
        PpoMinibatch {
            obs: b.obs.view(),
            actions: b.actions.view(),
            action_logp: b.action_logp.view(),
            action_dist_inputs: b.action_dist_inputs.view(),
            advantages: b.advantages.view(),
            value_targets: b.value_targets.view(),
            loss_mask: b.loss_mask.view(),
        }
    }
}

impl PpoMinibatch<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.obs.nrows()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check(&self) -> Result<(), NnError> {
        let b = self.len();
        let lens = [
            ("actions", self.actions.nrows()),
            ("action_logp", self.action_logp.len()),
            ("action_dist_inputs", self.action_dist_inputs.nrows()),
            ("advantages", self.advantages.len()),
            ("value_targets", self.value_targets.len()),
            ("loss_mask", self.loss_mask.len()),
        ];
        for (name, n) in lens {
            if n != b {
                return Err(NnError::StateMismatch(format!(
                    "minibatch column {name} has {n} rows, obs has {b}"
                )));
            }
        }
        if b == 0 {
            return Err(NnError::StateMismatch("empty minibatch".into()));
        }
        Ok(())
    }
}

/// A `B × 1` constant from a column.
fn column(tape: &mut Tape, x: ArrayView1<'_, f32>) -> Var {
    tape.constant_with(x.len(), 1, |o| {
        for (d, &s) in o.iter_mut().zip(x.iter()) {
            *d = s;
        }
    })
}

/// RLlib's `explained_variance(y, pred)`: `max(−1, 1 − Var(y − pred)/(Var(y) + 1e-6))`,
/// unbiased variances (NaN for a single row, as torch).
pub fn explained_variance(y: ArrayView1<'_, f32>, pred: impl Iterator<Item = f32> + Clone) -> f32 {
    fn var(it: impl Iterator<Item = f64> + Clone) -> f64 {
        let (mut n, mut sum) = (0.0, 0.0);
        for x in it.clone() {
            n += 1.0;
            sum += x;
        }
        let mean = sum / n;
        it.map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)
    }
    let var_y = var(y.iter().map(|&v| f64::from(v)));
    let var_d = var(y
        .iter()
        .zip(pred)
        .map(|(&a, p)| f64::from(a) - f64::from(p)));
    let ev = 1.0 - var_d / (var_y + 1e-6);
    if ev.is_nan() {
        f32::NAN
    } else {
        ev.max(-1.0) as f32
    }
}

/// The `B × 1` loss mask as a constant (1 where a row counts).
fn mask_column(tape: &mut Tape, batch: &PpoMinibatch<'_>) -> Var {
    tape.constant_with(batch.len(), 1, |o| {
        for (d, &m) in o.iter_mut().zip(batch.loss_mask.iter()) {
            *d = if m { 1.0 } else { 0.0 };
        }
    })
}

/// The statistics of the policy part of the loss.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PolicyTermStats {
    /// `−m(surrogate)`.
    pub policy_loss: f32,
    /// `m(entropy)`.
    pub entropy: f32,
    /// `m(KL(prev ‖ curr))` (0 without the KL loss).
    pub mean_kl_loss: f32,
    /// The policy part's value.
    pub loss: f32,
}

/// The statistics of the value part of the loss.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ValueTermStats {
    /// `m(clipped)`.
    pub vf_loss: f32,
    /// `m(vf_loss)`.
    pub vf_loss_unclipped: f32,
    /// Explained variance (all rows).
    pub vf_explained_var: f32,
    /// The value part's value (`vf_loss_coeff · m(clipped)`).
    pub loss: f32,
}

/// The policy part of the loss: `m(−surrogate − entropy_coeff·entropy) + curr_kl_coeff·kl`.
/// It depends on the actor's outputs only.
pub fn policy_loss_terms(
    tape: &mut Tape,
    dist_kind: ActionDistKind,
    dist_inputs: Var,
    batch: &PpoMinibatch<'_>,
    hp: &LossHyperparameters,
) -> Result<(Var, PolicyTermStats), NnError> {
    batch.check()?;
    let mask = mask_column(tape, batch);
    let logp = dist_kind.logp_var(tape, dist_inputs, batch.actions)?;
    let old_logp = column(tape, batch.action_logp);
    let log_ratio = tape.sub(logp, old_logp);
    let ratio = tape.exp(log_ratio);

    let mean_kl = if hp.use_kl_loss {
        let kl = dist_kind.kl_var(tape, batch.action_dist_inputs, dist_inputs)?;
        Some(tape.masked_mean(kl, mask))
    } else {
        None
    };

    let entropy = dist_kind.entropy_var(tape, dist_inputs)?;
    let mean_entropy = tape.masked_mean(entropy, mask);

    let adv = column(tape, batch.advantages);
    let surr1 = tape.mul(adv, ratio);
    let clipped_ratio = tape.clamp(ratio, 1.0 - hp.clip_param, 1.0 + hp.clip_param);
    let surr2 = tape.mul(adv, clipped_ratio);
    let surrogate = tape.minimum(surr1, surr2);

    let neg_surr = tape.neg(surrogate);
    let ent_term = tape.scale(entropy, hp.entropy_coeff);
    let per_row = tape.sub(neg_surr, ent_term);
    let mut loss = tape.masked_mean(per_row, mask);
    if let Some(kl) = mean_kl {
        let kl_term = tape.scale(kl, hp.curr_kl_coeff);
        loss = tape.add(loss, kl_term);
    }
    let mean_surr = tape.masked_mean(surrogate, mask);
    let stats = PolicyTermStats {
        policy_loss: -tape.scalar(mean_surr),
        entropy: tape.scalar(mean_entropy),
        mean_kl_loss: mean_kl.map_or(0.0, |k| tape.scalar(k)),
        loss: tape.scalar(loss),
    };
    Ok((loss, stats))
}

/// The value part of the loss: `vf_loss_coeff · m(clamp((V − target)², 0, vf_clip_param))`.
/// It depends on the critic's outputs only.
pub fn value_loss_terms(
    tape: &mut Tape,
    values: Var,
    batch: &PpoMinibatch<'_>,
    hp: &LossHyperparameters,
) -> Result<(Var, ValueTermStats), NnError> {
    batch.check()?;
    let mask = mask_column(tape, batch);
    let targets = column(tape, batch.value_targets);
    let err = tape.sub(values, targets);
    let vf_loss = tape.square(err);
    let vf_loss_clipped = tape.clamp(vf_loss, 0.0, hp.vf_clip_param);
    let mean_vf_loss = tape.masked_mean(vf_loss_clipped, mask);
    let mean_vf_unclipped = tape.masked_mean(vf_loss, mask);
    let loss = tape.scale(mean_vf_loss, hp.vf_loss_coeff);
    let stats = ValueTermStats {
        vf_loss: tape.scalar(mean_vf_loss),
        vf_loss_unclipped: tape.scalar(mean_vf_unclipped),
        vf_explained_var: explained_variance(
            batch.value_targets,
            tape.value(values).column(0).into_iter().copied(),
        ),
        loss: tape.scalar(loss),
    };
    Ok((loss, stats))
}

/// Joins the two parts' statistics into RLlib's logged set.
pub fn join_stats(p: &PolicyTermStats, v: &ValueTermStats) -> LossStats {
    LossStats {
        policy_loss: p.policy_loss,
        vf_loss: v.vf_loss,
        vf_loss_unclipped: v.vf_loss_unclipped,
        vf_explained_var: v.vf_explained_var,
        entropy: p.entropy,
        mean_kl_loss: p.mean_kl_loss,
        total_loss: p.loss + v.loss,
    }
}

/// The loss from the module's outputs (`dist_inputs` `B × dist_dim`, `values` `B × 1`,
/// already on the tape): records the total loss — the policy part plus the value part,
/// which equals RLlib's `m(−surrogate + vf_loss_coeff·clipped − entropy_coeff·entropy) +
/// curr_kl_coeff·kl` since the masked mean is linear — and returns it with the statistics.
/// Errors on inconsistent minibatch columns or invalid actions.
pub fn compute_loss_for_module(
    tape: &mut Tape,
    dist_kind: ActionDistKind,
    dist_inputs: Var,
    values: Var,
    batch: &PpoMinibatch<'_>,
    hp: &LossHyperparameters,
) -> Result<(Var, LossStats), NnError> {
    let (policy, p) = policy_loss_terms(tape, dist_kind, dist_inputs, batch, hp)?;
    let (value, v) = value_loss_terms(tape, values, batch, hp)?;
    let total = tape.add(policy, value);
    let mut stats = join_stats(&p, &v);
    stats.total_loss = tape.scalar(total);
    Ok((total, stats))
}

/// Checks that `batch`'s columns agree with each other and with `module`'s sizes.
pub fn check_module_batch(module: &PPOModule, batch: &PpoMinibatch<'_>) -> Result<(), NnError> {
    batch.check()?;
    if batch.obs.ncols() != module.obs_dim() {
        return Err(NnError::StateMismatch(format!(
            "obs has {} columns, the module expects {}",
            batch.obs.ncols(),
            module.obs_dim()
        )));
    }
    if batch.action_dist_inputs.ncols() != module.dist_dim() {
        return Err(NnError::StateMismatch(format!(
            "action_dist_inputs has {} columns, the module produces {}",
            batch.action_dist_inputs.ncols(),
            module.dist_dim()
        )));
    }
    Ok(())
}

/// Runs the module's `forward_train` on `batch.obs` and records the loss: RLlib's
/// `compute_loss_for_module` for a [`PPOModule`]. Backward on `total_loss` gives the
/// gradients of every module parameter.
pub fn ppo_loss<'a>(
    tape: &mut Tape,
    module: &PPOModule,
    batch: impl Into<PpoMinibatch<'a>>,
    hp: &LossHyperparameters,
) -> Result<LossOutput, NnError> {
    let batch = batch.into();
    check_module_batch(module, &batch)?;
    let obs = tape.constant(batch.obs);
    let (dist_inputs, values) = module.forward_train(tape, obs);
    let (total_loss, stats) =
        compute_loss_for_module(tape, module.dist_kind(), dist_inputs, values, &batch, hp)?;
    Ok(LossOutput {
        total_loss,
        action_dist_inputs: dist_inputs,
        values,
        stats,
    })
}
