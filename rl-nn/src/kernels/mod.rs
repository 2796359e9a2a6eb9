//! Low-level numeric kernels: matrix products, linear layers, a vectorizable `tanh`,
//! portable `exp`/`ln`, and the choice of instruction set.
//!
//! # Same bits on every CPU
//! Every value is computed in an order fixed by the shapes, never by the instruction set or
//! the thread count, so the same inputs give the same bits on any x86-64 CPU (with or
//! without AVX2 or AVX-512) and on aarch64:
//! - matrix products ([`Tape::matmul`](crate::Tape::matmul), the backward of linear
//!   layers, linear layers with more than 16 rows and more than 4 outputs, and every linear
//!   layer with fewer than 16 inputs) use the *chain* order: each output starts from its
//!   initial value (0, the bias, or the gradient it accumulates into) and takes one fused
//!   multiply-add per term, in index order;
//! - linear layers with at least 16 inputs and at most 16 rows (acting) or at most 4
//!   outputs (heads) use the *dot* order: 16 accumulators strided over the inputs, fused
//!   multiply-adds, a fixed summation tree, then the bias.
//!
//! Each is written once over a small vector abstraction implemented for plain Rust
//! ([`KernelPath::Portable`], also what aarch64 runs, vectorized to NEON by the compiler),
//! AVX2 + FMA and AVX-512F; each lane performs the same IEEE operations, so the width does
//! not change the result. Tiles spread over threads ([`set_num_threads`]) split the outputs,
//! never a sum. Elementwise kernels (`tanh`, Adam) use only `+ − × ÷ √` in a fixed order
//! (Rust does not fuse or reorder them), and [`exp`] / [`ln`] come from the pure-Rust `libm`
//! crate rather than the platform's C library, whose results differ between libraries and
//! even between the FMA and non-FMA builds glibc picks at run time.
//!
//! [`active_path`] tells which path runs; [`force_path`] (tests, benchmarks) or the
//! [`KERNEL_PATH_ENV`] environment variable choose one.
//!
//! All slices are row-major and contiguous. The functions check that every index they
//! touch is in bounds (cheap `assert!`s on sizes), so the `unsafe` calls inside are sound.

use std::sync::atomic::{AtomicUsize, Ordering};

mod chain;
mod dot;
mod path;
mod simd;

pub use path::{
    active_path, available_paths, detected_path, force_path, KernelPath, KERNEL_PATH_ENV,
};

/// Up to this many rows, a linear layer with at least [`DOT_MIN_IN`] inputs runs as dot
/// products (acting batches).
pub(crate) const SMALL_BATCH: usize = 16;
/// Up to this many outputs, a linear layer with at least [`DOT_MIN_IN`] inputs runs as dot
/// products at any batch size (policy and value heads).
pub(crate) const NARROW_OUT: usize = 4;
/// Fewest inputs for the dot order (below, a dot product would be mostly padding).
pub(crate) const DOT_MIN_IN: usize = 16;

/// Maximum number of threads the matrix products may use (1 = single-threaded).
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Sets how many threads rl-nn's matrix products may use (default 1). Values below 1
/// count as 1. Products with fewer than ~2·10⁶ multiply-adds always run on one thread,
/// where splitting costs more than it saves. The results do not depend on it.
pub fn set_num_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// How many threads rl-nn's matrix products may use (see [`set_num_threads`]).
pub fn num_threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Threads for a product of `m·n·k` multiply-adds.
fn threads_for(m: usize, n: usize, k: usize) -> usize {
    let t = num_threads();
    if t > 1 && m.saturating_mul(n).saturating_mul(k) >= 2_000_000 {
        t
    } else {
        1
    }
}

/// Highest index touched by a strided `rows × cols` matrix (or `None` if empty).
fn max_index(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        None
    } else {
        Some((rows - 1) * rs + (cols - 1) * cs)
    }
}

/// A strided read-only matrix operand: `data[i * rs + j * cs]` is element `(i, j)`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A contiguous row-major `rows × cols` matrix.
    pub fn rows(data: &'a [f32], cols: usize) -> Self {
        Mat {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose of a contiguous row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Mat {
            data,
            rs: 1,
            cs: cols,
        }
    }

    fn view(self) -> chain::View {
        chain::View {
            ptr: self.data.as_ptr(),
            rs: self.rs,
            cs: self.cs,
        }
    }
}

/// `dst (m×n, row-major contiguous) = [dst +] lhs (m×k) · rhs (k×n)`, in the chain order
/// (see the module docs), on the active path.
///
/// `accumulate` adds to `dst` instead of overwriting it.
pub(crate) fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    lhs: Mat<'_>,
    rhs: Mat<'_>,
) {
    matmul_on(
        active_path(),
        threads_for(m, n, k),
        m,
        n,
        k,
        dst,
        accumulate,
        lhs,
        rhs,
    )
}

/// [`matmul`] on a given path (which must be available) and up to `threads` threads.
#[allow(clippy::too_many_arguments)]
fn matmul_on(
    path: KernelPath,
    threads: usize,
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    lhs: Mat<'_>,
    rhs: Mat<'_>,
) {
    assert!(path.is_available(), "kernel path {path} unavailable");
    assert!(dst.len() >= m * n, "matmul: dst too small");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(0.0);
        }
        return;
    }
    if let Some(i) = max_index(m, k, lhs.rs, lhs.cs) {
        assert!(i < lhs.data.len(), "matmul: lhs out of bounds");
    }
    if let Some(i) = max_index(k, n, rhs.rs, rhs.cs) {
        assert!(i < rhs.data.len(), "matmul: rhs out of bounds");
    }
    let p = chain::Product {
        m,
        n,
        k,
        a: lhs.view(),
        b: rhs.view(),
        c: dst.as_mut_ptr(),
        c_rs: n,
        c_cs: 1,
        accumulate,
    };
    // SAFETY: the path is available; every index the product touches was checked above;
    // dst does not alias lhs or rhs (it is a unique borrow).
    unsafe { chain::matmul(path, p, threads) }
}

/// `c (m×n, row-major) = a · b` for strided operands (element `(i, j)` of `a` at
/// `a[i·a_rs + j·a_cs]`, of `b` likewise), on the active path: for rl-nn's developer
/// benchmark (`examples/products.rs`). Panics if an operand is too short.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn matmul_strided(
    m: usize,
    n: usize,
    k: usize,
    c: &mut [f32],
    a: &[f32],
    (a_rs, a_cs): (usize, usize),
    b: &[f32],
    (b_rs, b_cs): (usize, usize),
) {
    let lhs = Mat {
        data: a,
        rs: a_rs,
        cs: a_cs,
    };
    let rhs = Mat {
        data: b,
        rs: b_rs,
        cs: b_cs,
    };
    matmul(m, n, k, c, false, lhs, rhs)
}

/// Fused linear layer: `y (b×out) = x (b×in) · Wᵀ + bias`, with `W` stored `[out, in]`,
/// on the active path.
pub(crate) fn linear_forward(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    rows: usize,
    n_in: usize,
    n_out: usize,
) {
    linear_forward_on(active_path(), x, w, bias, y, rows, n_in, n_out)
}

/// [`linear_forward`] on a given path (which must be available).
#[allow(clippy::too_many_arguments)]
fn linear_forward_on(
    path: KernelPath,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    rows: usize,
    n_in: usize,
    n_out: usize,
) {
    assert!(path.is_available(), "kernel path {path} unavailable");
    assert!(x.len() >= rows * n_in && w.len() >= n_out * n_in && y.len() >= rows * n_out);
    if let Some(b) = bias {
        assert!(b.len() >= n_out);
    }
    if n_in >= DOT_MIN_IN && (rows <= SMALL_BATCH || n_out <= NARROW_OUT) {
        let layer = dot::Layer {
            x: x.as_ptr(),
            w: w.as_ptr(),
            bias,
            y: y.as_mut_ptr(),
            n_in,
            n_out,
        };
        // SAFETY: the path is available; sizes checked above; y is a unique borrow.
        unsafe { dot::linear(path, &layer, rows) };
        return;
    }
    // Chain order starting from the bias.
    let y = &mut y[..rows * n_out];
    match bias {
        Some(b) => {
            for row in y.chunks_exact_mut(n_out.max(1)) {
                row.copy_from_slice(&b[..n_out]);
            }
        }
        None => y.fill(0.0),
    }
    matmul_on(
        path,
        threads_for(rows, n_out, n_in),
        rows,
        n_out,
        n_in,
        y,
        true,
        Mat::rows(x, n_in),
        Mat::transposed(w, n_in),
    );
}

/// `eˣ` with the same bits on every CPU and C library (the pure-Rust `libm` crate, within
/// 1 ulp).
#[inline]
pub fn exp(x: f32) -> f32 {
    libm::expf(x)
}

/// Natural logarithm with the same bits on every CPU and C library (the pure-Rust `libm`
/// crate, within 1 ulp).
#[inline]
pub fn ln(x: f32) -> f32 {
    libm::logf(x)
}

/// `tanh` accurate to a few ulp (Eigen's rational approximation, clamped at ±7.905),
/// branch-free so loops over it vectorize.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    const C: f32 = 7.905_311;
    const A1: f32 = 4.893_524_6e-3;
    const A3: f32 = 6.372_619_3e-4;
    const A5: f32 = 1.485_722_4e-5;
    const A7: f32 = 5.122_297e-8;
    const A9: f32 = -8.604_672e-11;
    const A11: f32 = 2.000_188e-13;
    const A13: f32 = -2.760_768_5e-16;
    const B0: f32 = 4.893_525e-3;
    const B2: f32 = 2.268_434_6e-3;
    const B4: f32 = 1.185_347_1e-4;
    const B6: f32 = 1.198_258_4e-6;
    let c = x.clamp(-C, C);
    let x2 = c * c;
    let mut p = A13;
    p = p * x2 + A11;
    p = p * x2 + A9;
    p = p * x2 + A7;
    p = p * x2 + A5;
    p = p * x2 + A3;
    p = p * x2 + A1;
    p *= c;
    let mut q = B6;
    q = q * x2 + B4;
    q = q * x2 + B2;
    q = q * x2 + B0;
    // No special case near 0 (Eigen returns x below 4e-4): there p/q = x·(α₁/β₀) is
    // within 1.3e-7 relative of x, and an always-taken store vectorizes better than a
    // masked one (AMD's masked stores are microcoded).
    p / q
}

#[inline(always)]
fn tanh_slice_generic(xs: &mut [f32]) {
    for v in xs.iter_mut() {
        *v = tanh_f32(*v);
    }
}

#[inline(always)]
fn tanh_into_generic(src: &[f32], dst: &mut [f32]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = tanh_f32(x);
    }
}

/// Defines `$name(args)` calling `$generic(args)` compiled for the active path's
/// instruction set: auto-vectorized elementwise loops whose operations, hence bits, are the
/// same on every path.
macro_rules! per_path {
    ($(#[$doc:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),*) => $generic:path) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn avx512($($arg: $ty),*) {
                    $generic($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2($($arg: $ty),*) {
                    $generic($($arg),*)
                }
                match $crate::kernels::active_path() {
                    // SAFETY: the active path is available on this CPU.
                    $crate::kernels::KernelPath::Avx512 => return unsafe { avx512($($arg),*) },
                    $crate::kernels::KernelPath::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::kernels::KernelPath::Portable => {}
                }
            }
            $generic($($arg),*)
        }
    };
}
pub(crate) use per_path;

per_path! {
    /// Applies [`tanh_f32`] to every element, vectorized on the active path.
    pub fn tanh_inplace(xs: &mut [f32]) => tanh_slice_generic
}

/// Writes [`tanh_f32`] of every element of `src` into `dst` (same length), vectorized: one
/// pass instead of a copy and an in-place pass.
pub fn tanh_into(src: &[f32], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "tanh_into: lengths differ");
    tanh_into_path(src, dst)
}

per_path! {
    fn tanh_into_path(src: &[f32], dst: &mut [f32]) => tanh_into_generic
}

/// Applies an activation in place.
pub(crate) fn relu_inplace(xs: &mut [f32]) {
    for v in xs.iter_mut() {
        *v = if *v <= 0.0 { 0.0 } else { *v };
    }
}

#[cfg(test)]
mod tests;
