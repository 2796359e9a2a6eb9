//! Linear layers `y = x · Wᵀ + b` as dot products over contiguous rows of `x` and `W`, for
//! few rows (acting) and narrow heads, where a tiled product would waste most of its lanes.
//!
//! The order is fixed by `n_in` alone: output `y[r, o]` has 16 accumulators; accumulator
//! `l` takes, by fused multiply-adds in order, `x[r, k] · W[o, k]` for every `k ≡ l (mod
//! 16)`, the last partial group of 16 padded with zeros; the 16 are then summed in the fixed
//! tree of [`Simd::sum16`] and the bias added. One AVX-512 register, two AVX2 registers or
//! sixteen plain-Rust lanes hold the same 16 accumulators, so every path gives the same
//! bits; the paths differ only in how many rows and outputs share a pass over the weights.

use super::simd::Portable;
use super::simd::Simd;
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::KernelPath;

/// A layer's operands (row-major, contiguous): `y (rows × n_out) = x (rows × n_in) · wᵀ +
/// bias`.
pub(crate) struct Layer<'a> {
    pub x: *const f32,
    pub w: *const f32,
    pub bias: Option<&'a [f32]>,
    pub y: *mut f32,
    pub n_in: usize,
    pub n_out: usize,
}

/// Computes `l` for `rows` rows on `path`.
///
/// # Safety
/// `path` must be available on this CPU; `x` must hold `rows·n_in` values, `w` `n_out·n_in`,
/// `y` `rows·n_out` (writable, not overlapping the others), `bias` (if any) `n_out`.
pub(crate) unsafe fn linear(path: KernelPath, l: &Layer<'_>, rows: usize) {
    // SAFETY: forwarded from the caller.
    unsafe {
        match path {
            #[cfg(target_arch = "x86_64")]
            KernelPath::Avx512 => linear_avx512(l, rows),
            #[cfg(target_arch = "x86_64")]
            KernelPath::Avx2 => linear_avx2(l, rows),
            _ => linear_portable(l, rows),
        }
    }
}

/// AVX-512: up to 8 rows × 2 outputs (16 registers of accumulators) per pass, so the
/// weights stream from cache once per 8 observations; a single row takes 8 outputs at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn linear_avx512(l: &Layer<'_>, rows: usize) {
    let mut r = 0;
    // SAFETY (block calls): rows r.. exist (loop bounds); the rest as the caller vouched.
    unsafe {
        while r < rows {
            r += match rows - r {
                8.. => outputs::<Avx512, 8, 2>(l, r),
                4.. => outputs::<Avx512, 4, 4>(l, r),
                2.. => outputs::<Avx512, 2, 4>(l, r),
                _ => outputs::<Avx512, 1, 8>(l, r),
            };
        }
    }
}

/// AVX2: 2 rows × 2 outputs or 1 row × 4 outputs (8 registers of accumulators) per pass.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn linear_avx2(l: &Layer<'_>, rows: usize) {
    let mut r = 0;
    // SAFETY: as above.
    unsafe {
        while r < rows {
            r += match rows - r {
                2.. => outputs::<Avx2, 2, 2>(l, r),
                _ => outputs::<Avx2, 1, 4>(l, r),
            };
        }
    }
}

unsafe fn linear_portable(l: &Layer<'_>, rows: usize) {
    let mut r = 0;
    // SAFETY: as above.
    unsafe {
        while r < rows {
            r += match rows - r {
                2.. => outputs::<Portable, 2, 2>(l, r),
                _ => outputs::<Portable, 1, 4>(l, r),
            };
        }
    }
}

/// Rows `r0..r0 + R` of `y`, `O` outputs at a time (the last few one at a time). Returns `R`.
#[inline(always)]
unsafe fn outputs<S: Simd, const R: usize, const O: usize>(l: &Layer<'_>, r0: usize) -> usize {
    let mut o = 0;
    // SAFETY: rows r0..r0 + R and outputs o..o + O (or + 1) are in bounds.
    unsafe {
        while o + O <= l.n_out {
            block::<S, R, O>(l, r0, o);
            o += O;
        }
        while o < l.n_out {
            block::<S, R, 1>(l, r0, o);
            o += 1;
        }
    }
    R
}

/// Outputs `o0..o0 + O` of rows `r0..r0 + R`.
#[inline(always)]
unsafe fn block<S: Simd, const R: usize, const O: usize>(l: &Layer<'_>, r0: usize, o0: usize) {
    let n = l.n_in;
    // SAFETY (whole body): rows r0..r0 + R of x and y, rows o0..o0 + O of w exist.
    unsafe {
        let xs: [*const f32; R] = std::array::from_fn(|r| l.x.add((r0 + r) * n));
        let ws: [*const f32; O] = std::array::from_fn(|o| l.w.add((o0 + o) * n));
        let mut acc = [[S::zero16(); O]; R];
        let full = n / 16 * 16;
        let mut i = 0;
        while i < full {
            let wv: [S::V16; O] = std::array::from_fn(|o| S::load16(ws[o].add(i)));
            for (r, row) in acc.iter_mut().enumerate() {
                let xv = S::load16(xs[r].add(i));
                for (o, a) in row.iter_mut().enumerate() {
                    *a = S::fma16(xv, wv[o], *a);
                }
            }
            i += 16;
        }
        if i < n {
            // The last partial group, zero-padded (every path pads the same way).
            let rem = n - i;
            let wv: [S::V16; O] = std::array::from_fn(|o| S::load16_partial(ws[o].add(i), rem));
            for (r, row) in acc.iter_mut().enumerate() {
                let xv = S::load16_partial(xs[r].add(i), rem);
                for (o, a) in row.iter_mut().enumerate() {
                    *a = S::fma16(xv, wv[o], *a);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (o, &a) in row.iter().enumerate() {
                let s = S::sum16(a);
                *l.y.add((r0 + r) * l.n_out + o0 + o) = match l.bias {
                    Some(b) => s + b[o0 + o],
                    None => s,
                };
            }
        }
    }
}
