//! The vector operations the kernels are written over, one implementation per instruction
//! set: plain Rust (any CPU), AVX2 + FMA, AVX-512F.
//!
//! Every implementation computes each lane with the same IEEE operation — a fused
//! multiply-add rounds once, whatever the vector width — and [`Simd::sum16`] adds 16 lanes in
//! one fixed tree. A kernel written once over [`Simd`] therefore gives the same bits on every
//! implementation: the width only decides how many lanes run at a time.
//!
//! All methods are `unsafe`: the caller must run on a CPU with the implementation's
//! instruction set (the kernels' entry points check it once), and pointers must be valid for
//! the lanes read or written.

#![allow(clippy::missing_safety_doc)]

/// Vector operations over `f32` lanes.
pub(crate) trait Simd: Copy {
    /// Lanes per vector.
    const LANES: usize;
    /// One vector.
    type V: Copy;
    /// Sixteen lanes (one or more vectors): the accumulators of one dot product.
    type V16: Copy;

    unsafe fn zero() -> Self::V;
    unsafe fn splat(x: f32) -> Self::V;
    /// `LANES` values from `p` (unaligned).
    unsafe fn load(p: *const f32) -> Self::V;
    /// Writes `LANES` values to `p` (unaligned).
    unsafe fn store(p: *mut f32, v: Self::V);
    /// `a · b + c` per lane, rounded once.
    unsafe fn fma(a: Self::V, b: Self::V, c: Self::V) -> Self::V;

    unsafe fn zero16() -> Self::V16;
    /// 16 values from `p` (unaligned).
    unsafe fn load16(p: *const f32) -> Self::V16;
    /// `n < 16` values from `p`, then zeros (reads only the `n` values).
    unsafe fn load16_partial(p: *const f32, n: usize) -> Self::V16;
    /// `a · b + c` per lane, rounded once.
    unsafe fn fma16(a: Self::V16, b: Self::V16, c: Self::V16) -> Self::V16;
    /// The sum of the 16 lanes `v[0..16]` in a fixed tree: `t[l] = v[l] + v[l + 8]`,
    /// `u[l] = t[l] + t[l + 4]`, `w[l] = u[l] + u[l + 2]`, result `w[0] + w[1]`.
    unsafe fn sum16(v: Self::V16) -> f32;
}

/// Plain Rust, a fused multiply-add per lane ([`fma`]). The compiler vectorizes it to NEON's
/// fused multiply-add on aarch64; on x86-64 without FMA it runs scalar, emulating the FMA
/// exactly ([`fma_emulated`]): about 150× slower than AVX-512 here, a fallback for CPUs
/// older than 2013 (Haswell, Piledriver) or low-end ones without AVX2.
#[derive(Clone, Copy)]
pub(crate) struct Portable;

impl Simd for Portable {
    const LANES: usize = 8;
    type V = [f32; 8];
    type V16 = [f32; 16];

    #[inline(always)]
    unsafe fn zero() -> [f32; 8] {
        [0.0; 8]
    }
    #[inline(always)]
    unsafe fn splat(x: f32) -> [f32; 8] {
        [x; 8]
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> [f32; 8] {
        // SAFETY: the caller guarantees 8 readable values at `p`.
        unsafe { p.cast::<[f32; 8]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn store(p: *mut f32, v: [f32; 8]) {
        // SAFETY: the caller guarantees 8 writable values at `p`.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(v) }
    }
    #[inline(always)]
    unsafe fn fma(a: [f32; 8], b: [f32; 8], c: [f32; 8]) -> [f32; 8] {
        std::array::from_fn(|l| fma(a[l], b[l], c[l]))
    }
    #[inline(always)]
    unsafe fn zero16() -> [f32; 16] {
        [0.0; 16]
    }
    #[inline(always)]
    unsafe fn load16(p: *const f32) -> [f32; 16] {
        // SAFETY: the caller guarantees 16 readable values at `p`.
        unsafe { p.cast::<[f32; 16]>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn load16_partial(p: *const f32, n: usize) -> [f32; 16] {
        // SAFETY: the caller guarantees n readable values at `p`.
        std::array::from_fn(|l| if l < n { unsafe { *p.add(l) } } else { 0.0 })
    }
    #[inline(always)]
    unsafe fn fma16(a: [f32; 16], b: [f32; 16], c: [f32; 16]) -> [f32; 16] {
        std::array::from_fn(|l| fma(a[l], b[l], c[l]))
    }
    #[inline(always)]
    unsafe fn sum16(v: [f32; 16]) -> f32 {
        let t: [f32; 8] = std::array::from_fn(|l| v[l] + v[l + 8]);
        let u: [f32; 4] = std::array::from_fn(|l| t[l] + t[l + 4]);
        let w = [u[0] + u[2], u[1] + u[3]];
        w[0] + w[1]
    }
}

/// `a · b + c` rounded once. Where the compilation target has no FMA instruction (x86-64's
/// baseline), [`fma_emulated`] instead of `f32::mul_add`, which would be a call into the C
/// library per value (6× slower).
#[inline(always)]
pub(crate) fn fma(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(all(target_arch = "x86_64", not(target_feature = "fma")))]
    {
        fma_emulated(a, b, c)
    }
    #[cfg(not(all(target_arch = "x86_64", not(target_feature = "fma"))))]
    {
        a.mul_add(b, c)
    }
}

/// `a · b + c` rounded once, with `f64` arithmetic only: the product is exact in `f64`; the
/// sum is rounded *to odd* at 53 bits (TwoSum gives its exact error; when inexact, the last
/// bit is forced to 1 by moving one ulp toward the error), and rounding that to `f32` is
/// then the correctly rounded result (Boldo & Melquiond, "Emulation of FMA and correctly
/// rounded sums: proved algorithms using rounding to odd", IEEE TC 2008). Branch-free, so
/// loops over it vectorize.
#[inline(always)]
pub(crate) fn fma_emulated(a: f32, b: f32, c: f32) -> f32 {
    let p = f64::from(a) * f64::from(b);
    let c = f64::from(c);
    let s = p + c;
    let bp = s - p;
    let e = (p - (s - bp)) + (c - bp);
    // In integer arithmetic, so that no data-dependent branch is taken: when inexact
    // (e ≠ 0), finite and with an even last bit, move one ulp toward e (up in magnitude
    // when e has s's sign).
    let (sb, eb) = (s.to_bits(), e.to_bits());
    let inexact = u64::from(eb << 1 != 0);
    let finite = u64::from((sb >> 52) & 0x7FF != 0x7FF);
    let even = !sb & 1;
    let toward = ((((sb ^ eb) >> 63) ^ 1) << 1).wrapping_sub(1); // +1, or −1 as u64
    let nudge = (inexact & finite & even).wrapping_neg() & toward;
    f64::from_bits(sb.wrapping_add(nudge)) as f32
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Simd;

    /// The last steps of [`Simd::sum16`] on 8 lanes `t`: `u = lo + hi` (4 lanes), `w[l] =
    /// u[l] + u[l + 2]`, result `w[0] + w[1]`.
    #[inline(always)]
    unsafe fn sum8(t: __m256) -> f32 {
        // SAFETY (all intrinsics here): AVX is implied by the callers' AVX2 / AVX-512F.
        unsafe {
            let u = _mm_add_ps(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1));
            let w = _mm_add_ps(u, _mm_movehl_ps(u, u));
            _mm_cvtss_f32(_mm_add_ss(w, _mm_shuffle_ps(w, w, 0x55)))
        }
    }

    /// AVX2 with FMA: 8 lanes per vector, 16 lanes in two.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx2;

    // SAFETY (every method): the caller runs on a CPU with AVX2 and FMA and passes valid
    // pointers (the trait's contract).
    impl Simd for Avx2 {
        const LANES: usize = 8;
        type V = __m256;
        type V16 = [__m256; 2];

        #[inline(always)]
        unsafe fn zero() -> __m256 {
            unsafe { _mm256_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m256 {
            unsafe { _mm256_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m256 {
            unsafe { _mm256_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m256) {
            unsafe { _mm256_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m256, b: __m256, c: __m256) -> __m256 {
            unsafe { _mm256_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn zero16() -> [__m256; 2] {
            unsafe { [_mm256_setzero_ps(); 2] }
        }
        #[inline(always)]
        unsafe fn load16(p: *const f32) -> [__m256; 2] {
            unsafe { [_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))] }
        }
        #[inline(always)]
        unsafe fn load16_partial(p: *const f32, n: usize) -> [__m256; 2] {
            unsafe {
                let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
                let n = n as i32;
                let lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
                let hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(n - 8), lane);
                [_mm256_maskload_ps(p, lo), _mm256_maskload_ps(p.add(8), hi)]
            }
        }
        #[inline(always)]
        unsafe fn fma16(a: [__m256; 2], b: [__m256; 2], c: [__m256; 2]) -> [__m256; 2] {
            unsafe {
                [
                    _mm256_fmadd_ps(a[0], b[0], c[0]),
                    _mm256_fmadd_ps(a[1], b[1], c[1]),
                ]
            }
        }
        #[inline(always)]
        unsafe fn sum16(v: [__m256; 2]) -> f32 {
            unsafe { sum8(_mm256_add_ps(v[0], v[1])) }
        }
    }

    /// AVX-512F: 16 lanes per vector.
    #[derive(Clone, Copy)]
    pub(crate) struct Avx512;

    // SAFETY (every method): the caller runs on a CPU with AVX-512F and passes valid
    // pointers (the trait's contract).
    impl Simd for Avx512 {
        const LANES: usize = 16;
        type V = __m512;
        type V16 = __m512;

        #[inline(always)]
        unsafe fn zero() -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn splat(x: f32) -> __m512 {
            unsafe { _mm512_set1_ps(x) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn store(p: *mut f32, v: __m512) {
            unsafe { _mm512_storeu_ps(p, v) }
        }
        #[inline(always)]
        unsafe fn fma(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn zero16() -> __m512 {
            unsafe { _mm512_setzero_ps() }
        }
        #[inline(always)]
        unsafe fn load16(p: *const f32) -> __m512 {
            unsafe { _mm512_loadu_ps(p) }
        }
        #[inline(always)]
        unsafe fn load16_partial(p: *const f32, n: usize) -> __m512 {
            unsafe { _mm512_maskz_loadu_ps(((1u32 << n) - 1) as u16, p) }
        }
        #[inline(always)]
        unsafe fn fma16(a: __m512, b: __m512, c: __m512) -> __m512 {
            unsafe { _mm512_fmadd_ps(a, b, c) }
        }
        #[inline(always)]
        unsafe fn sum16(v: __m512) -> f32 {
            // All in 512-bit registers (AVX-512F alone encodes 256-bit operations only on
            // registers 0-15, which would crowd the kernels' accumulators). Lane l of each
            // step holds the tree's value l; the upper lanes hold mirror copies.
            unsafe {
                let t = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E)); // l + (l + 8)
                let u = _mm512_add_ps(t, _mm512_shuffle_f32x4(t, t, 0xB1)); // l + (l + 4)
                let w = _mm512_add_ps(u, _mm512_permute_ps(u, 0x4E)); // l + (l + 2)
                let x = _mm512_add_ps(w, _mm512_permute_ps(w, 0xB1)); // 0 + 1
                _mm512_cvtss_f32(x)
            }
        }
    }
}
