//! DQN's loss, as RLlib 2.60's `DQNTorchLearner.compute_loss_for_module` with
//! `num_atoms = 1`:
//!
//! ```text
//! q_sel     = Q(s)[a]                                       (online network, with gradient)
//! a*        = argmax_a' Q(s')[a']   (double_q)  or  argmax_a' Q_target(s')[a']
//! target    = r + γ^n · (1 − terminated) · Q_target(s')[a*]  (no gradient)
//! td_error  = |q_sel − target|
//! total     = mean(weights · loss_fn(q_sel − target))      loss_fn: Huber (δ = 1) or x²
//! ```
//!
//! `r` is the batch's n-step discounted reward sum and `n` its `n_step` column. Logged:
//! `qf_loss` (the total), `qf_mean`, `qf_max`, `qf_min` (of `q_sel`), `td_error_mean`;
//! the TD errors go back to a prioritized buffer. The Huber loss is recorded as
//! `c·(x − c) + ½c²` with `c = clamp(x, −1, 1)`, which equals `½x²` inside and `|x| − ½`
//! outside, with torch's gradients (`x`, `±1`) exactly, from the tape's existing ops.
//!
//! RLlib wraps the gathered Q-values in `nan_to_num(…, neginf=0)`; for finite Q-values
//! that is the identity, and we leave it out (a non-finite Q-value is a diverged network
//! either way).

use ndarray::{Array2, ArrayView1, ArrayView2};
use rl_core::learner::{columns, BatchError, TrainBatch};
use rl_nn::{Tape, Var};
use serde::{Deserialize, Serialize};

use super::config::TdErrorLossFn;
use super::exploration::argmax;
use super::module::DQNModule;

/// The train-batch columns the loss reads.
pub const DQN_COLUMNS: [&str; 7] = [
    "obs",
    "actions",
    "rewards",
    "terminateds",
    columns::NEXT_OBS,
    columns::WEIGHTS,
    columns::N_STEP,
];

/// The loss's settings (RLlib's names).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossHyperparameters {
    /// Discount γ.
    pub gamma: f32,
    /// Double Q-learning.
    pub double_q: bool,
    /// Huber or squared error.
    pub td_error_loss_fn: TdErrorLossFn,
}

/// The statistics RLlib logs for the loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LossStats {
    /// The total loss.
    pub qf_loss: f32,
    /// Mean of the taken actions' Q-values.
    pub qf_mean: f32,
    /// Their maximum.
    pub qf_max: f32,
    /// Their minimum.
    pub qf_min: f32,
    /// Mean absolute TD error.
    pub td_error_mean: f32,
}

/// What [`dqn_loss`] records.
#[derive(Clone, Debug)]
pub struct LossOutput {
    /// The `1 × 1` total loss (call `tape.backward` on it).
    pub total_loss: Var,
    /// The online Q-values of the batch's observations (`B × num_actions`).
    pub q_values: Var,
    /// `|q_sel − target|` per row (what priorities are updated with).
    pub td_errors: Vec<f32>,
    /// The logged statistics.
    pub stats: LossStats,
}

/// The columns of a batch the loss reads (views, so any storage works).
#[derive(Clone, Copy, Debug)]
pub struct DqnMinibatch<'a> {
    /// `B × obs_dim`.
    pub obs: ArrayView2<'a, f32>,
    /// `B × 1`: the action indices.
    pub actions: ArrayView2<'a, f32>,
    /// n-step discounted reward sums.
    pub rewards: ArrayView1<'a, f32>,
    /// Whether the episode terminated at `next_obs` (no bootstrap).
    pub terminateds: ArrayView1<'a, bool>,
    /// `B × obs_dim`: the observation n steps later.
    pub next_obs: ArrayView2<'a, f32>,
    /// Importance-sampling weights.
    pub weights: ArrayView1<'a, f32>,
    /// Each row's n.
    pub n_step: ArrayView1<'a, f32>,
}

impl<'a> DqnMinibatch<'a> {
    /// The loss's columns of a train batch; the error names a missing or short one.
    pub fn from_batch(b: &'a TrainBatch) -> Result<Self, BatchError> {
        b.require(&DQN_COLUMNS)?;
        Ok(DqnMinibatch {
            obs: b.obs.view(),
            actions: b.actions.view(),
            rewards: b.rewards.view(),
            terminateds: b.terminateds.view(),
            next_obs: b.matrix_column(columns::NEXT_OBS)?.view(),
            weights: b.f32_column(columns::WEIGHTS)?.view(),
            n_step: b.f32_column(columns::N_STEP)?.view(),
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.obs.nrows()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reused no-grad buffers of the targets.
#[derive(Clone, Debug, Default)]
pub struct TargetScratch {
    q_next: Array2<f32>,
    q_target_next: Array2<f32>,
    target: Vec<f32>,
    actions: Vec<usize>,
}

/// The n-step TD targets `r + γ^n (1 − terminated) Q_target(s')[a*]` into `s.target`.
fn td_targets(
    module: &mut DQNModule,
    batch: &DqnMinibatch<'_>,
    hp: &LossHyperparameters,
    s: &mut TargetScratch,
) -> Result<(), BatchError> {
    let module_err = |e: rl_core::module::ModuleError| BatchError(e.to_string());
    module
        .forward_q_into(batch.next_obs, true, &mut s.q_target_next)
        .map_err(module_err)?;
    if hp.double_q {
        module
            .forward_q_into(batch.next_obs, false, &mut s.q_next)
            .map_err(module_err)?;
    }
    s.target.clear();
    for i in 0..batch.len() {
        let target_row = s.q_target_next.row(i);
        let target_row = target_row.as_slice().expect("contiguous");
        let best = if hp.double_q {
            argmax(s.q_next.row(i).as_slice().expect("contiguous"))
        } else {
            argmax(target_row)
        };
        let q_next_best = nan_to_num(target_row[best]);
        let not_done = if batch.terminateds[i] { 0.0 } else { 1.0 };
        let discount = hp.gamma.powf(batch.n_step[i]);
        s.target
            .push(batch.rewards[i] + discount * (not_done * q_next_best));
    }
    Ok(())
}

/// `torch.nan_to_num(x, neginf=0)`: NaN and −∞ to 0, +∞ to the largest finite value.
fn nan_to_num(x: f32) -> f32 {
    if x.is_nan() || x == f32::NEG_INFINITY {
        0.0
    } else if x == f32::INFINITY {
        f32::MAX
    } else {
        x
    }
}

/// Records DQN's loss of `batch` on `tape` (see the [module docs](self)); `module` must
/// have target networks. Errors on a malformed batch (wrong widths, an action out of
/// range, no rows).
pub fn dqn_loss(
    tape: &mut Tape,
    module: &mut DQNModule,
    batch: &DqnMinibatch<'_>,
    hp: &LossHyperparameters,
    scratch: &mut TargetScratch,
) -> Result<LossOutput, BatchError> {
    let b = batch.len();
    if b == 0 {
        return Err(BatchError("empty train batch".into()));
    }
    if batch.actions.ncols() != 1 {
        return Err(BatchError(format!(
            "actions have {} columns; DQN takes one discrete action index per row",
            batch.actions.ncols()
        )));
    }
    let n = module.num_actions();
    scratch.actions.clear();
    for &a in batch.actions.column(0) {
        if !(a >= 0.0 && (a as usize) < n && a.fract() == 0.0) {
            return Err(BatchError(format!(
                "action {a} is not an index of the {n} actions"
            )));
        }
        scratch.actions.push(a as usize);
    }
    td_targets(module, batch, hp, scratch)?;

    let obs = tape.constant(batch.obs);
    let q = module.q_values(tape, obs);
    let q_sel = tape.gather(q, &scratch.actions);
    let target = tape.constant_with(b, 1, |o| {
        for (d, &t) in o.iter_mut().zip(&scratch.target) {
            *d = t;
        }
    });
    let x = tape.sub(q_sel, target);
    let per_row = match hp.td_error_loss_fn {
        TdErrorLossFn::Huber => {
            let c = tape.clamp(x, -1.0, 1.0);
            let outside = tape.sub(x, c);
            let linear = tape.mul(c, outside);
            let c2 = tape.square(c);
            let quadratic = tape.scale(c2, 0.5);
            tape.add(linear, quadratic)
        }
        TdErrorLossFn::Mse => tape.square(x),
    };
    let weights = tape.constant_with(b, 1, |o| {
        for (d, &w) in o.iter_mut().zip(batch.weights.iter()) {
            *d = w;
        }
    });
    let weighted = tape.mul(weights, per_row);
    let total_loss = tape.mean(weighted);

    let q_selected: Vec<f32> = tape.value(q_sel).iter().copied().collect();
    let td_errors: Vec<f32> = q_selected
        .iter()
        .zip(&scratch.target)
        .map(|(&q, &t)| (q - t).abs())
        .collect();
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    let stats = LossStats {
        qf_loss: tape.scalar(total_loss),
        qf_mean: mean(&q_selected),
        qf_max: q_selected.iter().copied().fold(f32::NEG_INFINITY, f32::max),
        qf_min: q_selected.iter().copied().fold(f32::INFINITY, f32::min),
        td_error_mean: mean(&td_errors),
    };
    Ok(LossOutput {
        total_loss,
        q_values: q,
        td_errors,
        stats,
    })
}
