//! Action distributions built from network outputs, with RLlib's conventions (log-prob,
//! entropy and KL summed over action dimensions).
//!
//! Two faces:
//! - on plain arrays, for acting: [`Categorical`], [`DiagGaussian`], and the
//!   [`ActionDistKind`] helpers for code that is generic over the action space;
//! - recorded on a [`Tape`], batched, for losses: [`ActionDistKind::logp_var`],
//!   [`ActionDistKind::entropy_var`], [`ActionDistKind::kl_var`] (and the per-kind
//!   functions they call), each returning a `B × 1` [`Var`].
//!
//! Actions are rows of `f32`, as in a train batch: a discrete action is its index stored
//! as one `f32`, a continuous action its `d` components.

use ndarray::{ArrayView1, ArrayView2};
use rand::Rng as _;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::kernels::{exp, ln};
use crate::{NnError, Rng, Tape, Var};

/// `½·ln(2π)`.
const HALF_LN_2PI: f32 = 0.918_938_5;

fn to_vec(x: ArrayView1<'_, f32>) -> Vec<f32> {
    x.iter().copied().collect()
}

fn log_sum_exp(x: &[f32]) -> f32 {
    let m = x.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    if m == f32::NEG_INFINITY {
        return m;
    }
    m + ln(x.iter().map(|&z| exp(z - m)).sum::<f32>())
}

fn check_logits(logits: &[f32]) -> Result<(), NnError> {
    if logits.is_empty() {
        return Err(NnError::InvalidDistInputs("no logits".into()));
    }
    if logits.iter().any(|x| x.is_nan()) || logits.iter().all(|&x| x == f32::NEG_INFINITY) {
        return Err(NnError::InvalidDistInputs(
            "logits are NaN or all −∞".into(),
        ));
    }
    Ok(())
}

fn check_gaussian(inputs: &[f32]) -> Result<usize, NnError> {
    if inputs.is_empty() || (inputs.len() & 1) == 1 {
        return Err(NnError::InvalidDistInputs(format!(
            "a diagonal Gaussian needs 2·d inputs [mean, log_std], got {}",
            inputs.len()
        )));
    }
    Ok(inputs.len() / 2)
}

fn discrete_index(a: f32, n: usize) -> Result<usize, NnError> {
    if a >= 0.0 && a.fract() == 0.0 && (a as usize) < n {
        Ok(a as usize)
    } else {
        Err(NnError::InvalidAction(format!(
            "{a} is not an index below {n}"
        )))
    }
}

// ----- plain-array kernels on slices (no allocation) -----

fn cat_sample(logits: &[f32], rng: &mut Rng) -> usize {
    let lse = log_sum_exp(logits);
    let u: f32 = rng.gen();
    let mut cum = 0.0;
    let mut last = 0;
    for (k, &z) in logits.iter().enumerate() {
        let p = exp(z - lse);
        if p > 0.0 {
            last = k;
        }
        cum += p;
        if u < cum {
            return k;
        }
    }
    last
}

fn argmax(x: &[f32]) -> usize {
    let mut best = 0;
    for (k, &z) in x.iter().enumerate() {
        if z > x[best] {
            best = k;
        }
    }
    best
}

fn cat_entropy(logits: &[f32]) -> f32 {
    let lse = log_sum_exp(logits);
    -logits
        .iter()
        .map(|&z| {
            let lp = z - lse;
            let p = exp(lp);
            if p == 0.0 {
                0.0
            } else {
                p * lp
            }
        })
        .sum::<f32>()
}

fn cat_kl(p: &[f32], q: &[f32]) -> f32 {
    if p.len() != q.len() {
        return f32::NAN;
    }
    let (lp, lq) = (log_sum_exp(p), log_sum_exp(q));
    p.iter()
        .zip(q)
        .map(|(&a, &b)| {
            let la = a - lp;
            let pa = exp(la);
            if pa == 0.0 {
                0.0
            } else {
                pa * (la - (b - lq))
            }
        })
        .sum()
}

fn gauss_logp(inputs: &[f32], a: &[f32]) -> f32 {
    let d = inputs.len() / 2;
    if a.len() != d {
        return f32::NAN;
    }
    let (mean, log_std) = inputs.split_at(d);
    (0..d)
        .map(|j| {
            let z = (a[j] - mean[j]) / exp(log_std[j]);
            -0.5 * z * z - log_std[j] - HALF_LN_2PI
        })
        .sum()
}

fn gauss_entropy(inputs: &[f32]) -> f32 {
    let d = inputs.len() / 2;
    inputs[d..].iter().map(|&ls| 0.5 + HALF_LN_2PI + ls).sum()
}

fn gauss_kl(p: &[f32], q: &[f32]) -> f32 {
    if p.len() != q.len() {
        return f32::NAN;
    }
    let d = p.len() / 2;
    (0..d)
        .map(|j| {
            let (mp, lp, mq, lq) = (p[j], p[d + j], q[j], q[d + j]);
            let var_ratio = exp(2.0 * (lp - lq));
            let z = (mp - mq) / exp(lq);
            let t1 = z * z;
            0.5 * (var_ratio + t1 - 1.0) - (lp - lq)
        })
        .sum()
}

/// A categorical distribution over `0..n` from unnormalized logits (torch's
/// `Categorical(logits=…)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Categorical {
    logits: Vec<f32>,
    lse: f32,
}

impl Categorical {
    /// From logits (at least one, no NaN, not all −∞).
    pub fn new(logits: ArrayView1<'_, f32>) -> Result<Self, NnError> {
        let logits = to_vec(logits);
        check_logits(&logits)?;
        let lse = log_sum_exp(&logits);
        Ok(Categorical { logits, lse })
    }

    /// Number of categories.
    pub fn num_categories(&self) -> usize {
        self.logits.len()
    }

    /// Probabilities.
    pub fn probs(&self) -> Vec<f32> {
        self.logits.iter().map(|&z| exp(z - self.lse)).collect()
    }

    /// Draws a category.
    pub fn sample(&self, rng: &mut Rng) -> usize {
        cat_sample(&self.logits, rng)
    }

    /// `ln p(a)`; −∞ for an index out of range.
    pub fn log_prob(&self, a: usize) -> f32 {
        self.logits
            .get(a)
            .map_or(f32::NEG_INFINITY, |&z| z - self.lse)
    }

    /// The most likely category (argmax; the first on ties).
    pub fn deterministic(&self) -> usize {
        argmax(&self.logits)
    }

    /// Entropy in nats.
    pub fn entropy(&self) -> f32 {
        cat_entropy(&self.logits)
    }

    /// `KL(self ‖ other)`; NaN if the numbers of categories differ.
    pub fn kl(&self, other: &Categorical) -> f32 {
        cat_kl(&self.logits, &other.logits)
    }
}

/// A diagonal Gaussian from inputs `[mean (d), log_std (d)]`, as RLlib's
/// `TorchDiagGaussian`.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagGaussian {
    inputs: Vec<f32>,
}

impl DiagGaussian {
    /// From `2·d` inputs: the first half the mean, the second half `ln σ`.
    pub fn from_inputs(inputs: ArrayView1<'_, f32>) -> Result<Self, NnError> {
        let inputs = to_vec(inputs);
        check_gaussian(&inputs)?;
        Ok(DiagGaussian { inputs })
    }

    /// Action dimension `d`.
    pub fn dim(&self) -> usize {
        self.inputs.len() / 2
    }

    /// The mean.
    pub fn mean(&self) -> &[f32] {
        &self.inputs[..self.dim()]
    }

    /// `ln σ`.
    pub fn log_std(&self) -> &[f32] {
        &self.inputs[self.dim()..]
    }

    /// Draws `mean + σ·ε`, `ε ~ N(0, I)`.
    pub fn sample(&self, rng: &mut Rng) -> Vec<f32> {
        let mut out = vec![0.0; self.dim()];
        self.sample_into(rng, &mut out);
        out
    }

    /// Draws into `out` (its first `d` entries).
    pub fn sample_into(&self, rng: &mut Rng, out: &mut [f32]) {
        let d = self.dim();
        for (j, o) in out.iter_mut().take(d).enumerate() {
            let e: f32 = rng.sample(StandardNormal);
            *o = self.inputs[j] + exp(self.inputs[d + j]) * e;
        }
    }

    /// `ln p(a)` summed over dimensions; NaN if `a` has the wrong length.
    pub fn log_prob(&self, a: &[f32]) -> f32 {
        gauss_logp(&self.inputs, a)
    }

    /// The mean.
    pub fn deterministic(&self) -> Vec<f32> {
        self.mean().to_vec()
    }

    /// Entropy summed over dimensions.
    pub fn entropy(&self) -> f32 {
        gauss_entropy(&self.inputs)
    }

    /// `KL(self ‖ other)` summed over dimensions; NaN if the dimensions differ.
    pub fn kl(&self, other: &DiagGaussian) -> f32 {
        gauss_kl(&self.inputs, &other.inputs)
    }
}

/// Which distribution a module's `action_dist_inputs` parameterize, for code generic over
/// the action space (RLlib picks `Categorical` for `Discrete(n)`, `DiagGaussian` for
/// `Box(d)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActionDistKind {
    /// Inputs are `n` logits; an action is one `f32` holding the index.
    Categorical,
    /// Inputs are `[mean, log_std]` (`2·d`); an action is `d` floats.
    DiagGaussian,
}

impl ActionDistKind {
    /// Number of distribution inputs: `n` categories, or `2·d` for a `d`-dimensional Box.
    pub fn input_dim(self, n_or_d: usize) -> usize {
        match self {
            ActionDistKind::Categorical => n_or_d,
            ActionDistKind::DiagGaussian => 2 * n_or_d,
        }
    }

    /// Width of an action row for inputs of width `input_dim`: 1, or `input_dim / 2`.
    pub fn action_width(self, input_dim: usize) -> usize {
        match self {
            ActionDistKind::Categorical => 1,
            ActionDistKind::DiagGaussian => input_dim / 2,
        }
    }

    fn check(self, inputs: &[f32]) -> Result<(), NnError> {
        match self {
            ActionDistKind::Categorical => check_logits(inputs),
            ActionDistKind::DiagGaussian => check_gaussian(inputs).map(|_| ()),
        }
    }

    fn check_action(self, inputs: &[f32], action: &[f32]) -> Result<(), NnError> {
        let w = self.action_width(inputs.len());
        if action.len() != w {
            return Err(NnError::InvalidAction(format!(
                "{} values, {w} expected",
                action.len()
            )));
        }
        if self == ActionDistKind::Categorical {
            discrete_index(action[0], inputs.len())?;
        }
        Ok(())
    }

    /// Samples an action into `action` (width [`ActionDistKind::action_width`]) and returns
    /// its log-probability. No allocation.
    pub fn sample_into(
        self,
        inputs: ArrayView1<'_, f32>,
        rng: &mut Rng,
        action: &mut [f32],
    ) -> Result<f32, NnError> {
        let x = self.checked_inputs(inputs, action)?;
        match self {
            ActionDistKind::Categorical => {
                let k = cat_sample(&x, rng);
                action[0] = k as f32;
                Ok(x[k] - log_sum_exp(&x))
            }
            ActionDistKind::DiagGaussian => {
                let d = x.len() / 2;
                for j in 0..d {
                    let e: f32 = rng.sample(StandardNormal);
                    action[j] = x[j] + exp(x[d + j]) * e;
                }
                Ok(gauss_logp(&x, action))
            }
        }
    }

    /// The inputs as a slice (copied only when not contiguous), checked, with an action
    /// buffer of the right width.
    fn checked_inputs<'a>(
        self,
        inputs: ArrayView1<'a, f32>,
        action: &[f32],
    ) -> Result<std::borrow::Cow<'a, [f32]>, NnError> {
        let x = inputs
            .to_slice()
            .map(std::borrow::Cow::Borrowed)
            .unwrap_or_else(|| to_vec(inputs).into());
        self.check(&x)?;
        self.check_action_width(&x, action)?;
        Ok(x)
    }

    fn check_action_width(self, x: &[f32], action: &[f32]) -> Result<(), NnError> {
        let w = self.action_width(x.len());
        if action.len() != w {
            return Err(NnError::InvalidAction(format!(
                "action buffer has {} values, {w} expected",
                action.len()
            )));
        }
        Ok(())
    }

    /// Writes the deterministic action (argmax / mean) into `action` and returns its
    /// log-probability.
    pub fn deterministic_into(
        self,
        inputs: ArrayView1<'_, f32>,
        action: &mut [f32],
    ) -> Result<f32, NnError> {
        let x = self.checked_inputs(inputs, action)?;
        match self {
            ActionDistKind::Categorical => {
                let k = argmax(&x);
                action[0] = k as f32;
                Ok(x[k] - log_sum_exp(&x))
            }
            ActionDistKind::DiagGaussian => {
                let d = x.len() / 2;
                action[..d].copy_from_slice(&x[..d]);
                Ok(gauss_logp(&x, action))
            }
        }
    }

    /// `ln p(action)`.
    pub fn log_prob(self, inputs: ArrayView1<'_, f32>, action: &[f32]) -> Result<f32, NnError> {
        let x = to_vec(inputs);
        self.check(&x)?;
        self.check_action(&x, action)?;
        Ok(match self {
            ActionDistKind::Categorical => x[action[0] as usize] - log_sum_exp(&x),
            ActionDistKind::DiagGaussian => gauss_logp(&x, action),
        })
    }

    /// Entropy.
    pub fn entropy(self, inputs: ArrayView1<'_, f32>) -> Result<f32, NnError> {
        let x = to_vec(inputs);
        self.check(&x)?;
        Ok(match self {
            ActionDistKind::Categorical => cat_entropy(&x),
            ActionDistKind::DiagGaussian => gauss_entropy(&x),
        })
    }

    /// `KL(p ‖ q)` between the distributions with inputs `p` and `q`.
    pub fn kl(self, p: ArrayView1<'_, f32>, q: ArrayView1<'_, f32>) -> Result<f32, NnError> {
        let (p, q) = (to_vec(p), to_vec(q));
        self.check(&p)?;
        self.check(&q)?;
        if p.len() != q.len() {
            return Err(NnError::InvalidDistInputs(format!(
                "{} and {} inputs",
                p.len(),
                q.len()
            )));
        }
        Ok(match self {
            ActionDistKind::Categorical => cat_kl(&p, &q),
            ActionDistKind::DiagGaussian => gauss_kl(&p, &q),
        })
    }

    // ----- in-graph, batched -----

    /// Log-probabilities of `actions` (`B × action_width`) under the distributions with
    /// inputs `inputs` (`B × input_dim`, on the tape): `B × 1`.
    pub fn logp_var(
        self,
        tape: &mut Tape,
        inputs: Var,
        actions: ArrayView2<'_, f32>,
    ) -> Result<Var, NnError> {
        match self {
            ActionDistKind::Categorical => categorical_logp(tape, inputs, actions),
            ActionDistKind::DiagGaussian => diag_gaussian_logp(tape, inputs, actions),
        }
    }

    /// Entropies of the distributions with inputs `inputs`: `B × 1`.
    pub fn entropy_var(self, tape: &mut Tape, inputs: Var) -> Result<Var, NnError> {
        match self {
            ActionDistKind::Categorical => Ok(categorical_entropy(tape, inputs)),
            ActionDistKind::DiagGaussian => diag_gaussian_entropy(tape, inputs),
        }
    }

    /// `KL(prev ‖ curr)` per row, `prev` given as constant inputs (e.g. the sampling
    /// policy's `action_dist_inputs`), `curr` on the tape: `B × 1`.
    pub fn kl_var(
        self,
        tape: &mut Tape,
        prev_inputs: ArrayView2<'_, f32>,
        curr_inputs: Var,
    ) -> Result<Var, NnError> {
        match self {
            ActionDistKind::Categorical => categorical_kl(tape, prev_inputs, curr_inputs),
            ActionDistKind::DiagGaussian => diag_gaussian_kl(tape, prev_inputs, curr_inputs),
        }
    }
}

/// An action distribution as env runners act with it: from one row of
/// action-distribution inputs to an action and its log-probability. Open to new kinds: a
/// module that brings its own distribution (a squashed Gaussian, say) implements this, and
/// the module→env connectors (`GetActions`) use it unchanged. [`ActionDistKind`] is the
/// built-in implementation (RLlib's `TorchCategorical` and `TorchDiagGaussian`).
pub trait ActionDistribution: Send + Sync + std::fmt::Debug {
    /// Width of an action row for inputs of width `input_dim`.
    fn action_width(&self, input_dim: usize) -> usize;
    /// Samples an action into `action` (width [`action_width`](Self::action_width)) and
    /// returns its log-probability.
    fn sample_into(
        &self,
        inputs: ArrayView1<'_, f32>,
        rng: &mut Rng,
        action: &mut [f32],
    ) -> Result<f32, NnError>;
    /// Writes the greedy action (argmax, mean, …) into `action` and returns its
    /// log-probability.
    fn deterministic_into(
        &self,
        inputs: ArrayView1<'_, f32>,
        action: &mut [f32],
    ) -> Result<f32, NnError>;
}

impl ActionDistribution for ActionDistKind {
    fn action_width(&self, input_dim: usize) -> usize {
        ActionDistKind::action_width(*self, input_dim)
    }

    fn sample_into(
        &self,
        inputs: ArrayView1<'_, f32>,
        rng: &mut Rng,
        action: &mut [f32],
    ) -> Result<f32, NnError> {
        ActionDistKind::sample_into(*self, inputs, rng, action)
    }

    fn deterministic_into(
        &self,
        inputs: ArrayView1<'_, f32>,
        action: &mut [f32],
    ) -> Result<f32, NnError> {
        ActionDistKind::deterministic_into(*self, inputs, action)
    }
}

fn check_rows(what: &str, got: (usize, usize), rows: usize, cols: usize) -> Result<(), NnError> {
    if got != (rows, cols) {
        return Err(NnError::InvalidDistInputs(format!(
            "{what}: shape {got:?}, expected ({rows}, {cols})"
        )));
    }
    Ok(())
}

/// `ln softmax(logits)[a]` per row (`B × 1`); `actions` is `B × 1` holding indices.
pub fn categorical_logp(
    tape: &mut Tape,
    logits: Var,
    actions: ArrayView2<'_, f32>,
) -> Result<Var, NnError> {
    let (b, n) = tape.shape(logits);
    check_rows("actions", actions.dim(), b, 1)?;
    for &a in actions.iter() {
        discrete_index(a, n)?;
    }
    let lsm = tape.log_softmax(logits);
    Ok(tape.gather_iter(lsm, actions.iter().map(|&a| a as usize)))
}

/// Entropy `−Σ p·ln p` per row (`B × 1`), as torch's `Categorical.entropy` (log-probs
/// clamped at the smallest finite float so `p = 0` contributes 0).
pub fn categorical_entropy(tape: &mut Tape, logits: Var) -> Var {
    let lsm = tape.log_softmax(logits);
    let lsm = tape.clamp(lsm, f32::MIN, f32::MAX);
    let p = tape.exp(lsm);
    let plp = tape.mul(p, lsm);
    let s = tape.sum_axis(plp, 1);
    tape.neg(s)
}

/// `KL(prev ‖ curr) = Σ p_prev (ln p_prev − ln p_curr)` per row (`B × 1`), `prev` constant.
pub fn categorical_kl(
    tape: &mut Tape,
    prev_logits: ArrayView2<'_, f32>,
    curr_logits: Var,
) -> Result<Var, NnError> {
    let (b, n) = tape.shape(curr_logits);
    check_rows("prev logits", prev_logits.dim(), b, n)?;
    let prev_lsm = tape.constant_with(b, n, |o| {
        for (mut orow, prow) in o.rows_mut().into_iter().zip(prev_logits.rows()) {
            let m = prow.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x));
            let lse = m + ln(prow.iter().map(|&z| exp(z - m)).sum::<f32>());
            for (d, &z) in orow.iter_mut().zip(prow.iter()) {
                *d = (z - lse).max(f32::MIN);
            }
        }
    });
    let prev_p = tape.exp(prev_lsm);
    let curr_lsm = tape.log_softmax(curr_logits);
    let diff = tape.sub(prev_lsm, curr_lsm);
    let t = tape.mul(prev_p, diff);
    Ok(tape.sum_axis(t, 1))
}

fn gauss_split(tape: &mut Tape, inputs: Var) -> Result<(Var, Var, usize), NnError> {
    let (_, w) = tape.shape(inputs);
    if w == 0 || (w & 1) == 1 {
        return Err(NnError::InvalidDistInputs(format!("{w} columns, need 2·d")));
    }
    let d = w / 2;
    let mean = tape.slice_cols(inputs, 0, d);
    let log_std = tape.slice_cols(inputs, d, d);
    Ok((mean, log_std, d))
}

/// `Σⱼ ln N(aⱼ; μⱼ, σⱼ)` per row (`B × 1`); `inputs` are `[mean, log_std]` (`B × 2d`),
/// `actions` `B × d`.
pub fn diag_gaussian_logp(
    tape: &mut Tape,
    inputs: Var,
    actions: ArrayView2<'_, f32>,
) -> Result<Var, NnError> {
    let b = tape.shape(inputs).0;
    let (mean, log_std, d) = gauss_split(tape, inputs)?;
    check_rows("actions", actions.dim(), b, d)?;
    let a = tape.constant(actions);
    let diff = tape.sub(a, mean);
    let std = tape.exp(log_std);
    let z = tape.div(diff, std);
    let z2 = tape.square(z);
    let t = tape.affine(z2, -0.5, -HALF_LN_2PI);
    let t = tape.sub(t, log_std);
    Ok(tape.sum_axis(t, 1))
}

/// `Σⱼ (½ + ½ln 2π + ln σⱼ)` per row (`B × 1`).
pub fn diag_gaussian_entropy(tape: &mut Tape, inputs: Var) -> Result<Var, NnError> {
    let (_, log_std, d) = gauss_split(tape, inputs)?;
    let s = tape.sum_axis(log_std, 1);
    Ok(tape.affine(s, 1.0, d as f32 * (0.5 + HALF_LN_2PI)))
}

/// `KL(prev ‖ curr)` summed over dimensions per row (`B × 1`), `prev` constant inputs:
/// `½(σₚ²/σ_q² + ((μₚ − μ_q)/σ_q)² − 1) − (ln σₚ − ln σ_q)`.
pub fn diag_gaussian_kl(
    tape: &mut Tape,
    prev_inputs: ArrayView2<'_, f32>,
    curr_inputs: Var,
) -> Result<Var, NnError> {
    let (b, w) = tape.shape(curr_inputs);
    check_rows("prev inputs", prev_inputs.dim(), b, w)?;
    let (mq, lq, d) = gauss_split(tape, curr_inputs)?;
    let mp = tape.constant_with(b, d, |o| o.assign(&prev_inputs.slice(ndarray::s![.., ..d])));
    let lp = tape.constant_with(b, d, |o| o.assign(&prev_inputs.slice(ndarray::s![.., d..])));
    let dl = tape.sub(lp, lq);
    let dl2 = tape.scale(dl, 2.0);
    let var_ratio = tape.exp(dl2);
    let sq = tape.exp(lq);
    let dm = tape.sub(mp, mq);
    let z = tape.div(dm, sq);
    let t1 = tape.square(z);
    let s = tape.add(var_ratio, t1);
    let s = tape.affine(s, 0.5, -0.5);
    let k = tape.sub(s, dl);
    Ok(tape.sum_axis(k, 1))
}
