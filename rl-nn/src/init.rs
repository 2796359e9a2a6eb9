//! Parameter initializers, all drawing from an explicit [`Rng`].

use ndarray::Array2;
use ndarray_rand::rand_distr::{StandardNormal, Uniform};
use ndarray_rand::RandomExt;
use serde::{Deserialize, Serialize};

use crate::Rng;

/// How to initialize a Linear layer's weight `[out, in]` and bias `1 × out`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
pub enum Init {
    /// PyTorch's default for `nn.Linear`: weight and bias uniform in `±1/√fan_in`.
    #[default]
    TorchDefault,
    /// Orthogonal weight times `gain` (as `torch.nn.init.orthogonal_`), zero bias — the
    /// CleanRL / SB3 convention.
    Orthogonal {
        /// Multiplier of the orthogonal matrix (e.g. √2 for tanh hidden layers).
        gain: f32,
    },
    /// Xavier/Glorot uniform weight (`±gain·√(6/(fan_in + fan_out))`), zero bias.
    XavierUniform {
        /// Multiplier of the bound.
        gain: f32,
    },
}

impl Init {
    /// Draws `(weight [out, in], bias [1, out])`.
    pub fn linear(
        &self,
        out_features: usize,
        in_features: usize,
        rng: &mut Rng,
    ) -> (Array2<f32>, Array2<f32>) {
        match *self {
            Init::TorchDefault => torch_default_linear(out_features, in_features, rng),
            Init::Orthogonal { gain } => (
                orthogonal(out_features, in_features, gain, rng),
                Array2::zeros((1, out_features)),
            ),
            Init::XavierUniform { gain } => (
                xavier_uniform(out_features, in_features, gain, rng),
                Array2::zeros((1, out_features)),
            ),
        }
    }
}

/// Uniform in `[-bound, bound)` (all zeros when `bound` is 0 or not finite).
pub fn uniform(rows: usize, cols: usize, bound: f32, rng: &mut Rng) -> Array2<f32> {
    if !(bound.is_finite() && bound > 0.0) {
        return Array2::zeros((rows, cols));
    }
    Array2::random_using((rows, cols), Uniform::new(-bound, bound), rng)
}

/// PyTorch's `nn.Linear` default: `kaiming_uniform_(a=√5)` for the weight, which is
/// uniform in `±1/√fan_in`, and the bias uniform in `±1/√fan_in`. Weight drawn first.
pub fn torch_default_linear(
    out_features: usize,
    in_features: usize,
    rng: &mut Rng,
) -> (Array2<f32>, Array2<f32>) {
    let bound = 1.0 / (in_features as f32).sqrt();
    let w = uniform(out_features, in_features, bound, rng);
    let b = uniform(1, out_features, bound, rng);
    (w, b)
}

/// Xavier/Glorot uniform: `U(±gain·√(6/(fan_in + fan_out)))` for a `[rows=fan_out,
/// cols=fan_in]` weight.
pub fn xavier_uniform(rows: usize, cols: usize, gain: f32, rng: &mut Rng) -> Array2<f32> {
    let bound = gain * (6.0 / (rows + cols) as f32).sqrt();
    uniform(rows, cols, bound, rng)
}

/// A `rows × cols` matrix with orthonormal rows (if `rows ≤ cols`) or columns (otherwise),
/// times `gain`, as `torch.nn.init.orthogonal_`: QR of a standard-normal matrix with the
/// signs fixed so R's diagonal is positive (Gram–Schmidt in f64).
pub fn orthogonal(rows: usize, cols: usize, gain: f32, rng: &mut Rng) -> Array2<f32> {
    if rows == 0 || cols == 0 {
        return Array2::zeros((rows, cols));
    }
    // Work on a tall matrix (n × k, n ≥ k) and orthonormalize its k columns.
    let (n, k) = if rows >= cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let a: Array2<f64> = Array2::random_using((n, k), StandardNormal, rng);
    let mut q = a.clone();
    for j in 0..k {
        // Modified Gram–Schmidt, twice for stability.
        for _ in 0..2 {
            for p in 0..j {
                let dot: f64 = (0..n).map(|i| q[[i, p]] * q[[i, j]]).sum();
                for i in 0..n {
                    q[[i, j]] -= dot * q[[i, p]];
                }
            }
        }
        let norm = (0..n).map(|i| q[[i, j]] * q[[i, j]]).sum::<f64>().sqrt();
        if norm > 0.0 {
            for i in 0..n {
                q[[i, j]] /= norm;
            }
        }
    }
    let mut out = Array2::zeros((rows, cols));
    for i in 0..rows {
        for j in 0..cols {
            let v = if rows >= cols { q[[i, j]] } else { q[[j, i]] };
            out[[i, j]] = (v * gain as f64) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn orthogonal_is_orthonormal() {
        let mut rng = Rng::seed_from_u64(0);
        for &(r, c) in &[(8, 3), (3, 8), (5, 5)] {
            let q = orthogonal(r, c, 2.0, &mut rng).mapv(|x| x as f64 / 2.0);
            let g = if r >= c { q.t().dot(&q) } else { q.dot(&q.t()) };
            for i in 0..g.nrows() {
                for j in 0..g.ncols() {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((g[[i, j]] - want).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn torch_default_bounds() {
        let mut rng = Rng::seed_from_u64(1);
        let (w, b) = torch_default_linear(64, 16, &mut rng);
        assert!(w.iter().chain(b.iter()).all(|&x| x.abs() <= 0.25));
        assert!(w.iter().any(|&x| x.abs() > 0.2));
        assert_eq!(b.dim(), (1, 64));
    }
}
