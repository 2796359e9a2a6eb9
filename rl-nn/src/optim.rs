//! Optimizers ([`Adam`], [`Sgd`]) and global-norm gradient clipping.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::{Grads, NnError, ParamStore};

fn check(store: &ParamStore, grads: &Grads) -> Result<(), NnError> {
    if grads.matches(store) {
        Ok(())
    } else {
        Err(NnError::StateMismatch(
            "gradients are not shaped like the parameters".into(),
        ))
    }
}

/// Adam with PyTorch's semantics (`torch.optim.Adam`, `amsgrad=False`, `maximize=False`):
///
/// ```text
/// t += 1;  g += weight_decay·p
/// m = β₁ m + (1 − β₁) g;   v = β₂ v + (1 − β₂) g²
/// p −= lr / (1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + eps)
/// ```
///
/// Its state (step and moments) serializes with serde for checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Learning rate.
    pub lr: f32,
    /// `(β₁, β₂)`, default `(0.9, 0.999)`.
    pub betas: (f32, f32),
    /// Added to the denominator, default `1e-8`.
    pub eps: f32,
    /// L2 penalty added to the gradient (torch's `weight_decay`), default 0.
    pub weight_decay: f32,
    /// Number of steps taken.
    pub step: u64,
    /// First moments, one per parameter (empty until the first step).
    pub m: Vec<Array2<f32>>,
    /// Second moments, one per parameter (empty until the first step).
    pub v: Vec<Array2<f32>>,
}

impl Adam {
    /// Adam with torch's defaults and the given learning rate.
    pub fn new(lr: f32) -> Self {
        Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            step: 0,
            m: Vec::new(),
            v: Vec::new(),
        }
    }

    /// Sets `eps` (builder style).
    pub fn with_eps(mut self, eps: f32) -> Self {
        self.eps = eps;
        self
    }

    /// Sets the betas (builder style).
    pub fn with_betas(mut self, b1: f32, b2: f32) -> Self {
        self.betas = (b1, b2);
        self
    }

    /// Forgets the moments and the step count.
    pub fn reset(&mut self) {
        self.step = 0;
        self.m.clear();
        self.v.clear();
    }

    /// One update of every parameter of `store` from `grads`. Errors (changing nothing)
    /// if the gradients or the restored state do not match the parameters' shapes.
    pub fn step(&mut self, store: &mut ParamStore, grads: &Grads) -> Result<(), NnError> {
        check(store, grads)?;
        if self.m.is_empty() && self.v.is_empty() {
            self.m = grads
                .values()
                .iter()
                .map(|g| Array2::zeros(g.dim()))
                .collect();
            self.v = self.m.clone();
        }
        let shapes_ok = self.m.len() == grads.len()
            && self.v.len() == grads.len()
            && grads
                .values()
                .iter()
                .zip(self.m.iter().zip(&self.v))
                .all(|(g, (m, v))| g.dim() == m.dim() && g.dim() == v.dim());
        if !shapes_ok {
            return Err(NnError::StateMismatch(
                "Adam moments are not shaped like the parameters".into(),
            ));
        }
        self.step += 1;
        let (b1, b2) = self.betas;
        let bc1 = 1.0 - powi(b1 as f64, self.step);
        let bc2 = 1.0 - powi(b2 as f64, self.step);
        let step_size = (self.lr as f64 / bc1) as f32;
        let bc2_sqrt = bc2.sqrt() as f32;
        let k = AdamStep {
            b1,
            b2,
            step_size,
            bc2_sqrt,
            eps: self.eps,
            wd: self.weight_decay,
        };
        for ((p, g), (m, v)) in store
            .values_mut()
            .iter_mut()
            .zip(grads.values())
            .zip(self.m.iter_mut().zip(self.v.iter_mut()))
        {
            // Invariant: parameters, gradients and moments are built in standard layout
            // (`ParamStore::add`, `Grads::new`, `zeros`) and keep it.
            let p = p.as_slice_mut().expect("contiguous");
            let g = g.as_slice().expect("contiguous");
            let m = m.as_slice_mut().expect("contiguous");
            let v = v.as_slice_mut().expect("contiguous");
            adam_kernel(p, g, m, v, k);
        }
        Ok(())
    }
}

/// One Adam step's constants: betas, the bias-corrected step size and `√(1 − β₂ᵗ)`, ε and
/// the weight decay.
#[derive(Clone, Copy)]
struct AdamStep {
    b1: f32,
    b2: f32,
    step_size: f32,
    bc2_sqrt: f32,
    eps: f32,
    wd: f32,
}

#[inline(always)]
fn adam_generic(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: AdamStep) {
    let AdamStep {
        b1,
        b2,
        step_size,
        bc2_sqrt,
        eps,
        wd,
    } = k;
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        let gi = g[i] + wd * p[i];
        m[i] = b1 * m[i] + (1.0 - b1) * gi;
        v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
        let denom = v[i].sqrt() / bc2_sqrt + eps;
        p[i] -= step_size * m[i] / denom;
    }
}

crate::kernels::per_path! {
    fn adam_kernel(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: AdamStep) => adam_generic
}

/// `base^exp` by repeated squaring in a fixed order (`f64::powi` leaves the order of its
/// multiplications to the compiler).
fn powi(mut base: f64, mut exp: u64) -> f64 {
    let mut acc = 1.0;
    while exp > 0 {
        if exp & 1 == 1 {
            acc *= base;
        }
        base *= base;
        exp >>= 1;
    }
    acc
}

/// Stochastic gradient descent with optional momentum, as `torch.optim.SGD`
/// (`buf = momentum·buf + g; p −= lr·buf`; without momentum `p −= lr·g`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sgd {
    /// Learning rate.
    pub lr: f32,
    /// Momentum factor (0 disables it).
    pub momentum: f32,
    /// Momentum buffers (empty until the first step with momentum).
    pub buf: Vec<Array2<f32>>,
}

impl Sgd {
    /// Plain SGD.
    pub fn new(lr: f32) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            buf: Vec::new(),
        }
    }

    /// One update of every parameter from `grads`.
    pub fn step(&mut self, store: &mut ParamStore, grads: &Grads) -> Result<(), NnError> {
        check(store, grads)?;
        if self.momentum != 0.0 && self.buf.is_empty() {
            self.buf = grads.values().to_vec();
            for (p, b) in store.values_mut().iter_mut().zip(&self.buf) {
                p.scaled_add(-self.lr, b);
            }
            return Ok(());
        }
        for (i, (p, g)) in store
            .values_mut()
            .iter_mut()
            .zip(grads.values())
            .enumerate()
        {
            if self.momentum != 0.0 {
                let b = &mut self.buf[i];
                b.zip_mut_with(g, |b, &g| *b = self.momentum * *b + g);
                p.scaled_add(-self.lr, b);
            } else {
                p.scaled_add(-self.lr, g);
            }
        }
        Ok(())
    }
}

/// Scales all gradients so their global L2 norm is at most `max_norm`, as
/// `torch.nn.utils.clip_grad_norm_`: the factor is `min(1, max_norm / (norm + 1e-6))`.
/// Returns the norm before clipping.
pub fn clip_grad_norm(grads: &mut Grads, max_norm: f32) -> f32 {
    let norm = grads.global_norm();
    let coef = max_norm / (norm + 1e-6);
    if coef < 1.0 {
        grads.scale(coef);
    }
    norm
}
