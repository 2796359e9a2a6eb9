//! Low-level numeric kernels: matrix products (via the `gemm` crate, or a hand-written
//! mat-vec for a few rows), a vectorizable `tanh`, and runtime CPU-feature dispatch.
//!
//! All slices are row-major and contiguous. The functions check that every index they
//! touch is in bounds (cheap `assert!`s on sizes), so the `unsafe` calls inside are sound.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Batches with at most this many rows go through the hand-written kernels instead of `gemm`.
pub(crate) const SMALL_BATCH: usize = 16;
/// Up to this many outputs, a linear layer of any batch size runs as per-row dot products.
pub(crate) const NARROW_OUT: usize = 4;

/// Maximum number of threads the matrix products may use (1 = single-threaded).
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// Number of calls into the `gemm` crate so far (all threads).
static GEMM_CALLS: AtomicUsize = AtomicUsize::new(0);

/// How many matrix products went to the `gemm` crate since the program started. The
/// `gemm` crate allocates its packing buffers inside some calls; rl-nn's allocation test
/// uses this to tell those apart from rl-nn's own (there are none once warmed up).
#[doc(hidden)]
pub fn gemm_calls() -> usize {
    GEMM_CALLS.load(Ordering::Relaxed)
}

/// Sets how many threads rl-nn's matrix products may use (default 1). Values below 1
/// count as 1. Products with fewer than ~2·10⁶ multiply-adds always run on one thread,
/// where splitting costs more than it saves.
pub fn set_num_threads(n: usize) {
    THREADS.store(n.max(1), Ordering::Relaxed);
}

/// How many threads rl-nn's matrix products may use (see [`set_num_threads`]).
pub fn num_threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

fn parallelism(m: usize, n: usize, k: usize) -> gemm::Parallelism {
    let t = num_threads();
    if t > 1 && m.saturating_mul(n).saturating_mul(k) >= 2_000_000 {
        gemm::Parallelism::Rayon(t)
    } else {
        gemm::Parallelism::None
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
}

/// `dst (m×n, row-major contiguous) = [dst +] lhs (m×k) · rhs (k×n)`.
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
    GEMM_CALLS.fetch_add(1, Ordering::Relaxed);
    // SAFETY: every index gemm touches was checked above; dst does not alias lhs or rhs
    // (it is a unique borrow).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism(m, n, k),
        );
    }
}

/// Fused linear layer: `y (b×out) = x (b×in) · Wᵀ + bias`, with `W` stored `[out, in]`.
pub(crate) fn linear_forward(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    rows: usize,
    n_in: usize,
    n_out: usize,
) {
    assert!(x.len() >= rows * n_in && w.len() >= n_out * n_in && y.len() >= rows * n_out);
    if let Some(b) = bias {
        assert!(b.len() >= n_out);
    }
    if rows <= SMALL_BATCH && n_in < 16 {
        linear_narrow(x, w, bias, y, rows, n_in, n_out);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        if rows > 1 && rows <= SMALL_BATCH && has_avx512f() {
            // SAFETY: AVX-512F is available; sizes checked above.
            unsafe { x86_rows512::linear_rows_avx512(w, x, bias, y, rows, n_in, n_out) };
            return;
        }
        if rows > 1 && rows <= SMALL_BATCH && has_avx2_fma() {
            // SAFETY: AVX2 and FMA are available; sizes checked above.
            unsafe { x86_rows::linear_rows_avx2(w, x, bias, y, rows, n_in, n_out) };
            return;
        }
    }
    // Few rows, or few outputs (a policy or value head): one dot product per output and
    // row beats gemm, which runs such thin products at a fraction of its speed.
    if rows <= SMALL_BATCH || (n_out <= NARROW_OUT && n_in >= 16) {
        for r in 0..rows {
            matvec(
                w,
                &x[r * n_in..(r + 1) * n_in],
                bias,
                &mut y[r * n_out..(r + 1) * n_out],
            );
        }
        return;
    }
    let y = &mut y[..rows * n_out];
    match bias {
        Some(b) => {
            for row in y.chunks_exact_mut(n_out) {
                row.copy_from_slice(&b[..n_out]);
            }
        }
        None => y.fill(0.0),
    }
    matmul(
        rows,
        n_out,
        n_in,
        y,
        true,
        Mat::rows(x, n_in),
        Mat::transposed(w, n_in),
    );
}

thread_local! {
    /// Per-thread scratch for [`linear_narrow`]'s transposed weight.
    static WT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Linear layer for narrow inputs (`n_in < 16`, e.g. a 4-value observation) and few rows:
/// transposes `W` into a per-thread buffer (allocated once) and accumulates
/// `y_row += x[r, i] · Wᵀ[i, :]`, which vectorizes over the outputs.
fn linear_narrow(
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    rows: usize,
    n_in: usize,
    n_out: usize,
) {
    WT.with(|cell| {
        let mut wt = cell.borrow_mut();
        wt.clear();
        wt.resize(n_in * n_out, 0.0);
        for o in 0..n_out {
            for i in 0..n_in {
                wt[i * n_out + o] = w[o * n_in + i];
            }
        }
        #[cfg(target_arch = "x86_64")]
        {
            if has_avx2_fma() {
                // SAFETY: AVX2 and FMA are available (checked at runtime).
                unsafe { axpy_rows_avx2(x, &wt, bias, y, rows, n_in, n_out) };
                return;
            }
        }
        axpy_rows(x, &wt, bias, y, rows, n_in, n_out);
    });
}

#[inline(always)]
fn axpy_rows(
    x: &[f32],
    wt: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    rows: usize,
    n_in: usize,
    n_out: usize,
) {
    for r in 0..rows {
        let yr = &mut y[r * n_out..(r + 1) * n_out];
        match bias {
            Some(b) => yr.copy_from_slice(&b[..n_out]),
            None => yr.fill(0.0),
        }
        for i in 0..n_in {
            let xi = x[r * n_in + i];
            let wr = &wt[i * n_out..(i + 1) * n_out];
            for (d, &v) in yr.iter_mut().zip(wr) {
                *d += xi * v;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn axpy_rows_avx2(
    x: &[f32],
    wt: &[f32],
    bias: Option<&[f32]>,
    y: &mut [f32],
    rows: usize,
    n_in: usize,
    n_out: usize,
) {
    axpy_rows(x, wt, bias, y, rows, n_in, n_out)
}

/// `y[o] = bias[o] + Σᵢ w[o, i] · x[i]` with `w` row-major `[y.len(), x.len()]`.
pub(crate) fn matvec(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let (n_in, n_out) = (x.len(), y.len());
    assert!(w.len() >= n_in * n_out);
    if let Some(b) = bias {
        assert!(b.len() >= n_out);
    }
    #[cfg(target_arch = "x86_64")]
    {
        if n_in >= 16 && has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked at runtime); sizes checked above.
            unsafe { x86::matvec_avx2(w, x, bias, y) };
            return;
        }
    }
    matvec_scalar(w, x, bias, y);
}

fn matvec_scalar(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
    let n_in = x.len();
    for (o, yo) in y.iter_mut().enumerate() {
        let row = &w[o * n_in..(o + 1) * n_in];
        let mut acc = [0.0f32; 8];
        let chunks = n_in / 8;
        for c in 0..chunks {
            for l in 0..8 {
                acc[l] += row[c * 8 + l] * x[c * 8 + l];
            }
        }
        let mut s = acc.iter().sum::<f32>();
        for i in chunks * 8..n_in {
            s += row[i] * x[i];
        }
        *yo = s + bias.map_or(0.0, |b| b[o]);
    }
}

/// Whether the CPU has AVX2 and FMA (cached by the standard library).
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the CPU has AVX-512F (cached by the standard library).
#[inline]
pub(crate) fn has_avx512f() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    #[inline(always)]
    pub(super) unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
        _mm_cvtss_f32(s)
    }

    /// AVX2/FMA mat-vec: four rows of `w` at a time, two 8-lane accumulators per row.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; `w.len() >= x.len() * y.len()`, and `bias`, if
    /// given, must hold at least `y.len()` values.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn matvec_avx2(w: &[f32], x: &[f32], bias: Option<&[f32]>, y: &mut [f32]) {
        let (n_in, n_out) = (x.len(), y.len());
        let xp = x.as_ptr();
        let wp = w.as_ptr();
        let n16 = n_in / 16 * 16;
        let n8 = n_in / 8 * 8;
        let mut o = 0;
        while o + 4 <= n_out {
            let r0 = wp.add(o * n_in);
            let r1 = wp.add((o + 1) * n_in);
            let r2 = wp.add((o + 2) * n_in);
            let r3 = wp.add((o + 3) * n_in);
            let (mut a0, mut a1, mut a2, mut a3) = (
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
            );
            let (mut b0, mut b1, mut b2, mut b3) = (
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
                _mm256_setzero_ps(),
            );
            let mut i = 0;
            while i < n16 {
                let xa = _mm256_loadu_ps(xp.add(i));
                let xb = _mm256_loadu_ps(xp.add(i + 8));
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0.add(i)), xa, a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1.add(i)), xa, a1);
                a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2.add(i)), xa, a2);
                a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3.add(i)), xa, a3);
                b0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0.add(i + 8)), xb, b0);
                b1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1.add(i + 8)), xb, b1);
                b2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2.add(i + 8)), xb, b2);
                b3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3.add(i + 8)), xb, b3);
                i += 16;
            }
            if i < n8 {
                let xa = _mm256_loadu_ps(xp.add(i));
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0.add(i)), xa, a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1.add(i)), xa, a1);
                a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2.add(i)), xa, a2);
                a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3.add(i)), xa, a3);
                i += 8;
            }
            let mut s = [
                hsum(_mm256_add_ps(a0, b0)),
                hsum(_mm256_add_ps(a1, b1)),
                hsum(_mm256_add_ps(a2, b2)),
                hsum(_mm256_add_ps(a3, b3)),
            ];
            while i < n_in {
                let xi = *xp.add(i);
                s[0] += *r0.add(i) * xi;
                s[1] += *r1.add(i) * xi;
                s[2] += *r2.add(i) * xi;
                s[3] += *r3.add(i) * xi;
                i += 1;
            }
            for (k, sk) in s.iter().enumerate() {
                y[o + k] = sk + bias.map_or(0.0, |b| b[o + k]);
            }
            o += 4;
        }
        while o < n_out {
            let r = wp.add(o * n_in);
            let mut a = _mm256_setzero_ps();
            let mut i = 0;
            while i < n8 {
                a = _mm256_fmadd_ps(_mm256_loadu_ps(r.add(i)), _mm256_loadu_ps(xp.add(i)), a);
                i += 8;
            }
            let mut s = hsum(a);
            while i < n_in {
                s += *r.add(i) * *xp.add(i);
                i += 1;
            }
            y[o] = s + bias.map_or(0.0, |b| b[o]);
            o += 1;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86_rows {
    use std::arch::x86_64::*;

    use super::x86::hsum;

    /// `y (rows × n_out) = x (rows × n_in) · wᵀ + bias` for a few rows: four rows of `w`
    /// against two rows of `x` at a time (eight 8-lane accumulators), so each loaded
    /// weight serves two observations.
    ///
    /// # Safety
    /// AVX2 and FMA must be available; `x.len() >= rows·n_in`, `w.len() >= n_out·n_in`,
    /// `y.len() >= rows·n_out`, `bias` (if any) `>= n_out`.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn linear_rows_avx2(
        w: &[f32],
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        rows: usize,
        n_in: usize,
        n_out: usize,
    ) {
        let wp = w.as_ptr();
        let xp = x.as_ptr();
        let n8 = n_in / 8 * 8;
        let b = |o: usize| bias.map_or(0.0, |b| b[o]);
        let mut r = 0;
        while r + 2 <= rows {
            let x0 = xp.add(r * n_in);
            let x1 = xp.add((r + 1) * n_in);
            let mut o = 0;
            while o + 4 <= n_out {
                let w0 = wp.add(o * n_in);
                let w1 = wp.add((o + 1) * n_in);
                let w2 = wp.add((o + 2) * n_in);
                let w3 = wp.add((o + 3) * n_in);
                let z = _mm256_setzero_ps();
                let (mut a00, mut a01, mut a02, mut a03) = (z, z, z, z);
                let (mut a10, mut a11, mut a12, mut a13) = (z, z, z, z);
                let mut i = 0;
                while i < n8 {
                    let xa = _mm256_loadu_ps(x0.add(i));
                    let xb = _mm256_loadu_ps(x1.add(i));
                    let v0 = _mm256_loadu_ps(w0.add(i));
                    let v1 = _mm256_loadu_ps(w1.add(i));
                    let v2 = _mm256_loadu_ps(w2.add(i));
                    let v3 = _mm256_loadu_ps(w3.add(i));
                    a00 = _mm256_fmadd_ps(v0, xa, a00);
                    a01 = _mm256_fmadd_ps(v1, xa, a01);
                    a02 = _mm256_fmadd_ps(v2, xa, a02);
                    a03 = _mm256_fmadd_ps(v3, xa, a03);
                    a10 = _mm256_fmadd_ps(v0, xb, a10);
                    a11 = _mm256_fmadd_ps(v1, xb, a11);
                    a12 = _mm256_fmadd_ps(v2, xb, a12);
                    a13 = _mm256_fmadd_ps(v3, xb, a13);
                    i += 8;
                }
                let mut s = [
                    [hsum(a00), hsum(a01), hsum(a02), hsum(a03)],
                    [hsum(a10), hsum(a11), hsum(a12), hsum(a13)],
                ];
                while i < n_in {
                    for (k, wk) in [w0, w1, w2, w3].iter().enumerate() {
                        s[0][k] += *wk.add(i) * *x0.add(i);
                        s[1][k] += *wk.add(i) * *x1.add(i);
                    }
                    i += 1;
                }
                for k in 0..4 {
                    y[r * n_out + o + k] = s[0][k] + b(o + k);
                    y[(r + 1) * n_out + o + k] = s[1][k] + b(o + k);
                }
                o += 4;
            }
            while o < n_out {
                let wo = wp.add(o * n_in);
                let (mut a0, mut a1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
                let mut i = 0;
                while i < n8 {
                    let v = _mm256_loadu_ps(wo.add(i));
                    a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x0.add(i)), a0);
                    a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(x1.add(i)), a1);
                    i += 8;
                }
                let (mut s0, mut s1) = (hsum(a0), hsum(a1));
                while i < n_in {
                    s0 += *wo.add(i) * *x0.add(i);
                    s1 += *wo.add(i) * *x1.add(i);
                    i += 1;
                }
                y[r * n_out + o] = s0 + b(o);
                y[(r + 1) * n_out + o] = s1 + b(o);
                o += 1;
            }
            r += 2;
        }
        if r < rows {
            super::x86::matvec_avx2(
                w,
                &x[r * n_in..(r + 1) * n_in],
                bias,
                &mut y[r * n_out..(r + 1) * n_out],
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86_rows512 {
    use std::arch::x86_64::*;

    /// `y (rows × n_out) = x (rows × n_in) · wᵀ + bias` for a few rows with AVX-512: up to
    /// eight rows of `x` against two rows of `w` at a time (sixteen 16-lane accumulators),
    /// so the weights stream from cache once per eight observations. Small batches are
    /// bound by that stream, not by arithmetic.
    ///
    /// # Safety
    /// AVX-512F must be available; `x.len() >= rows·n_in`, `w.len() >= n_out·n_in`,
    /// `y.len() >= rows·n_out`, `bias` (if any) `>= n_out`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn linear_rows_avx512(
        w: &[f32],
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        rows: usize,
        n_in: usize,
        n_out: usize,
    ) {
        let mut r = 0;
        while r < rows {
            let k = (rows - r).min(8);
            match k {
                8 => block::<8>(w, x, bias, y, r, n_in, n_out),
                7 => block::<7>(w, x, bias, y, r, n_in, n_out),
                6 => block::<6>(w, x, bias, y, r, n_in, n_out),
                5 => block::<5>(w, x, bias, y, r, n_in, n_out),
                4 => block::<4>(w, x, bias, y, r, n_in, n_out),
                3 => block::<3>(w, x, bias, y, r, n_in, n_out),
                2 => block::<2>(w, x, bias, y, r, n_in, n_out),
                _ => block::<1>(w, x, bias, y, r, n_in, n_out),
            }
            r += k;
        }
    }

    /// Rows `r0 .. r0 + R` of the output, two outputs at a time.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn block<const R: usize>(
        w: &[f32],
        x: &[f32],
        bias: Option<&[f32]>,
        y: &mut [f32],
        r0: usize,
        n_in: usize,
        n_out: usize,
    ) {
        let wp = w.as_ptr();
        let xs: [*const f32; R] = std::array::from_fn(|j| x.as_ptr().add((r0 + j) * n_in));
        let n16 = n_in / 16 * 16;
        let b = |o: usize| bias.map_or(0.0, |b| b[o]);
        let mut o = 0;
        while o < n_out {
            // An odd last output runs paired with itself; the copy is discarded.
            let o1 = if o + 1 < n_out { o + 1 } else { o };
            let (w0, w1) = (wp.add(o * n_in), wp.add(o1 * n_in));
            let mut a0 = [_mm512_setzero_ps(); R];
            let mut a1 = [_mm512_setzero_ps(); R];
            let mut i = 0;
            while i < n16 {
                let v0 = _mm512_loadu_ps(w0.add(i));
                let v1 = _mm512_loadu_ps(w1.add(i));
                for j in 0..R {
                    let xv = _mm512_loadu_ps(xs[j].add(i));
                    a0[j] = _mm512_fmadd_ps(v0, xv, a0[j]);
                    a1[j] = _mm512_fmadd_ps(v1, xv, a1[j]);
                }
                i += 16;
            }
            for j in 0..R {
                let (mut s0, mut s1) = (_mm512_reduce_add_ps(a0[j]), _mm512_reduce_add_ps(a1[j]));
                for t in i..n_in {
                    let xv = *xs[j].add(t);
                    s0 += *w0.add(t) * xv;
                    s1 += *w1.add(t) * xv;
                }
                let row = (r0 + j) * n_out;
                y[row + o] = s0 + b(o);
                y[row + o1] = s1 + b(o1);
            }
            o += 2;
        }
    }
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

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tanh_slice_avx2(xs: &mut [f32]) {
    tanh_slice_generic(xs)
}

/// Applies [`tanh_f32`] to every element, vectorized (AVX2 when available).
pub fn tanh_inplace(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: AVX2 and FMA are available (checked at runtime).
            unsafe { tanh_slice_avx2(xs) };
            return;
        }
    }
    tanh_slice_generic(xs)
}

#[inline(always)]
fn tanh_into_generic(src: &[f32], dst: &mut [f32]) {
    for (d, &x) in dst.iter_mut().zip(src) {
        *d = tanh_f32(x);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tanh_into_avx2(src: &[f32], dst: &mut [f32]) {
    tanh_into_generic(src, dst)
}

/// Writes [`tanh_f32`] of every element of `src` into `dst` (same length), vectorized: one
/// pass instead of a copy and an in-place pass.
pub fn tanh_into(src: &[f32], dst: &mut [f32]) {
    assert_eq!(src.len(), dst.len(), "tanh_into: lengths differ");
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            // SAFETY: AVX2 and FMA are available (checked at runtime).
            unsafe { tanh_into_avx2(src, dst) };
            return;
        }
    }
    tanh_into_generic(src, dst)
}

/// Applies an activation in place.
pub(crate) fn relu_inplace(xs: &mut [f32]) {
    for v in xs.iter_mut() {
        *v = if *v <= 0.0 { 0.0 } else { *v };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tanh_is_accurate() {
        let mut worst = 0.0f64;
        let mut x = -12.0f64;
        while x < 12.0 {
            let t = tanh_f32(x as f32) as f64;
            let r = (x as f32 as f64).tanh();
            let err = (t - r).abs() / r.abs().max(1e-30);
            worst = worst.max(err);
            x += 1.37e-4;
        }
        assert!(worst < 1e-6, "worst relative error {worst}");
        let mut v: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.013).collect();
        let want: Vec<f32> = v.iter().map(|&x| tanh_f32(x)).collect();
        let mut out = vec![0.0; v.len()];
        tanh_into(&v, &mut out);
        assert_eq!(out, want);
        tanh_inplace(&mut v);
        assert_eq!(v, want);
    }

    #[test]
    fn matvec_matches_scalar() {
        for &(n_in, n_out) in &[(4, 256), (256, 256), (256, 2), (33, 7), (17, 1)] {
            let w: Vec<f32> = (0..n_in * n_out)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
                .collect();
            let x: Vec<f32> = (0..n_in)
                .map(|i| ((i * 13 % 29) as f32 - 14.0) / 14.0)
                .collect();
            let b: Vec<f32> = (0..n_out).map(|i| i as f32 * 0.1).collect();
            let mut y1 = vec![0.0; n_out];
            let mut y2 = vec![0.0; n_out];
            matvec(&w, &x, Some(&b), &mut y1);
            matvec_scalar(&w, &x, Some(&b), &mut y2);
            for (a, b) in y1.iter().zip(&y2) {
                assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn linear_small_and_large_agree() {
        for (n_in, n_out) in [(37, 19), (4, 9), (64, 3), (16, 8)] {
            let w: Vec<f32> = (0..n_in * n_out)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
                .collect();
            let b: Vec<f32> = (0..n_out).map(|i| i as f32 * 0.1).collect();
            for rows in [1, 2, 3, 4, 5, 9, 16, 17, 40] {
                let x: Vec<f32> = (0..rows * n_in)
                    .map(|i| ((i * 13 % 29) as f32 - 14.0) / 14.0)
                    .collect();
                let mut y = vec![0.0; rows * n_out];
                linear_forward(&x, &w, Some(&b), &mut y, rows, n_in, n_out);
                for r in 0..rows {
                    for o in 0..n_out {
                        let want: f32 = b[o]
                            + (0..n_in)
                                .map(|i| x[r * n_in + i] * w[o * n_in + i])
                                .sum::<f32>();
                        let got = y[r * n_out + o];
                        assert!(
                            (got - want).abs() < 1e-4 * (1.0 + want.abs()),
                            "{got} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
