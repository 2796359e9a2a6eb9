//! Matrix products in the *chain* order: every output `C[i, j]` starts from its initial
//! value (0, or what the destination holds when accumulating) and takes one fused
//! multiply-add per `k`, for `k = 0, 1, …, K − 1` in turn, never split into partial sums
//! that are added later.
//!
//! The order is fixed by the shapes alone. Vectorizing over `j` (any width), tiling `M` and
//! `N`, computing `Cᵀ = Bᵀ·Aᵀ` instead (`fma(a, b, c) = fma(b, a, c)`), blocking `K` (the
//! accumulators are stored and reloaded between blocks, exactly) and spreading tiles over
//! threads all leave every `C[i, j]`'s sequence of roundings unchanged, so every path and
//! every thread count gives the same bits.
//!
//! Layout: `B` is read in panels of `NR` columns, `K` rows each; a panel comes straight
//! from `B` when its rows are contiguous, or is packed (copied, zero-padded to `NR`) into a
//! per-thread buffer. `A` is read in place, one broadcast value per row and `k`. Tiles of
//! `MR × NR` outputs accumulate in registers.

use std::cell::RefCell;
use std::ops::Range;

use super::simd::Portable;
use super::simd::Simd;
#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::KernelPath;

/// Rows of `B` per block (a panel of `KC × NR` values stays in L1/L2).
const KC: usize = 256;
/// Capacity of the on-stack tile used for edge tiles and strided destinations.
const TILE_MAX: usize = 512;

/// A strided read-only operand: element `(i, j)` at `ptr + i·rs + j·cs`.
#[derive(Clone, Copy)]
pub(crate) struct View {
    pub ptr: *const f32,
    pub rs: usize,
    pub cs: usize,
}

impl View {
    /// The transpose.
    fn t(self) -> View {
        View {
            ptr: self.ptr,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

/// `C (m × n, element (i, j) at c + i·c_rs + j·c_cs) = [C +] A (m × k) · B (k × n)`.
#[derive(Clone, Copy)]
pub(crate) struct Product {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: View,
    pub b: View,
    pub c: *mut f32,
    pub c_rs: usize,
    pub c_cs: usize,
    pub accumulate: bool,
}

impl Product {
    /// The same product as `Cᵀ = Bᵀ · Aᵀ`.
    fn transposed(self) -> Product {
        Product {
            m: self.n,
            n: self.m,
            a: self.b.t(),
            b: self.a.t(),
            c_rs: self.c_cs,
            c_cs: self.c_rs,
            ..self
        }
    }
}

/// One `K` block of a product, shared read-only by the threads that run its tiles.
struct Job {
    p: Product,
    /// First row of `B` (and column of `A`) of the block, and the block's length.
    kb: usize,
    kc: usize,
    mr: usize,
    nr: usize,
    /// Panels `packed_from..` are packed at `pack + (q − packed_from)·kc·nr`.
    pack: *const f32,
    packed_from: usize,
}

// SAFETY: a job's pointers are read by all threads and written only through `p.c`, where
// every thread writes its own tiles (disjoint elements); the caller keeps the buffers alive
// and unaliased until all threads are done.
unsafe impl Sync for Job {}

/// Runs tiles `range` of a job (tile `t` is panel `t / row_blocks`, row block
/// `t % row_blocks`).
type TilesFn = unsafe fn(&Job, Range<usize>);

/// A path's tile shape, tile loop and packing routine.
#[derive(Clone, Copy)]
struct Kernel {
    mr: usize,
    nr: usize,
    tiles: TilesFn,
    pack_t: PackFn,
}

/// Packs a panel of a `B` stored transposed (`b.rs == 1`); see [`pack_panel`].
type PackFn = unsafe fn(&Panel, &mut [f32]);

/// Rows `kb..kb + kc`, columns `j0..j0 + width` of `b`, to be packed `kc × nr` (row-major,
/// columns `width..nr` zero).
struct Panel {
    b: View,
    kb: usize,
    kc: usize,
    j0: usize,
    width: usize,
    nr: usize,
}

/// A `MR × (NV · S::LANES)` tile running `tiles`.
fn kernel<S: Simd, const MR: usize, const NV: usize>(tiles: TilesFn, pack_t: PackFn) -> Kernel {
    Kernel {
        mr: MR,
        nr: NV * S::LANES,
        tiles,
        pack_t,
    }
}

/// A path's kernels: the regular tile, and a wide one for products with at most its `mr`
/// rows (a head's `dW = Gᵀ·H` has 1–2), where the regular tile would have too few
/// independent accumulators to hide the FMA latency.
fn kernels(path: KernelPath) -> (Kernel, Kernel) {
    match path {
        #[cfg(target_arch = "x86_64")]
        KernelPath::Avx512 => (
            kernel::<Avx512, 12, 2>(tiles_avx512::<12, 2>, pack_t_avx2),
            kernel::<Avx512, 2, 8>(tiles_avx512::<2, 8>, pack_t_avx2),
        ),
        #[cfg(target_arch = "x86_64")]
        KernelPath::Avx2 => (
            kernel::<Avx2, 6, 2>(tiles_avx2::<6, 2>, pack_t_avx2),
            kernel::<Avx2, 2, 4>(tiles_avx2::<2, 4>, pack_t_avx2),
        ),
        _ => (
            kernel::<Portable, 4, 2>(tiles_portable::<4, 2>, pack_t_portable),
            kernel::<Portable, 2, 4>(tiles_portable::<2, 4>, pack_t_portable),
        ),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn tiles_avx512<const MR: usize, const NV: usize>(job: &Job, range: Range<usize>) {
    // SAFETY: the caller checked the CPU (the path is available) and the job's bounds.
    unsafe { tiles::<Avx512, MR, NV>(job, range) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn tiles_avx2<const MR: usize, const NV: usize>(job: &Job, range: Range<usize>) {
    // SAFETY: as above.
    unsafe { tiles::<Avx2, MR, NV>(job, range) }
}

unsafe fn tiles_portable<const MR: usize, const NV: usize>(job: &Job, range: Range<usize>) {
    // SAFETY: as above.
    unsafe { tiles::<Portable, MR, NV>(job, range) }
}

thread_local! {
    /// Per-thread packing buffer (grows once, then reused: warmed-up products allocate
    /// nothing).
    static PACK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Computes `p` on `path`, its tiles spread over up to `threads` threads.
///
/// # Safety
/// `path` must be available on this CPU; every element of `A`, `B` and `C` the shapes and
/// strides address must be valid (`C` writable and not overlapping `A` or `B`).
pub(crate) unsafe fn matmul(path: KernelPath, p: Product, threads: usize) {
    let (regular, wide) = kernels(path);
    // Vectorize over whichever side wastes fewer padded lanes; the bits are the same.
    let padded = |m: usize, n: usize| {
        m.div_ceil(regular.mr) * regular.mr * (n.div_ceil(regular.nr) * regular.nr)
    };
    let p = if padded(p.n, p.m) < padded(p.m, p.n) {
        p.transposed()
    } else {
        p
    };
    let kern = if p.m <= wide.mr { wide } else { regular };
    let (mr, nr) = (kern.mr, kern.nr);
    let panels = p.n.div_ceil(nr);
    let row_blocks = p.m.div_ceil(mr);
    let tiles = panels * row_blocks;
    // Panels read in place need contiguous rows of B and all NR columns.
    let packed_from = match (p.b.cs == 1, p.n % nr == 0) {
        (true, true) => panels,
        (true, false) => panels - 1,
        (false, _) => 0,
    };
    // Taken out of the thread-local (and put back) so that a product nested in another on
    // the same thread (rayon work stealing) finds it empty instead of borrowed.
    let mut pack = PACK.with(|b| std::mem::take(&mut *b.borrow_mut()));
    let mut kb = 0;
    while kb < p.k {
        let kc = KC.min(p.k - kb);
        let len = (panels - packed_from) * kc * nr;
        if pack.len() < len {
            pack.resize(len, 0.0);
        }
        for q in packed_from..panels {
            // SAFETY: B's block rows kb..kb + kc and the panel's columns are in bounds.
            let panel = Panel {
                b: p.b,
                kb,
                kc,
                j0: q * nr,
                width: nr.min(p.n - q * nr),
                nr,
            };
            let out = &mut pack[(q - packed_from) * kc * nr..][..kc * nr];
            unsafe { pack_panel(kern.pack_t, &panel, out) };
        }
        let job = Job {
            p,
            kb,
            kc,
            mr,
            nr,
            pack: pack.as_ptr(),
            packed_from,
        };
        // SAFETY: the tiles of one job write disjoint parts of C.
        unsafe { run_split(&job, kern.tiles, 0..tiles, threads.min(tiles)) };
        kb += kc;
    }
    PACK.with(|b| {
        let mut b = b.borrow_mut();
        if b.capacity() < pack.capacity() {
            *b = pack;
        }
    });
}

/// Runs `range` of the job's tiles on `parts` threads (rayon), in contiguous sub-ranges.
unsafe fn run_split(job: &Job, f: TilesFn, range: Range<usize>, parts: usize) {
    if parts <= 1 {
        // SAFETY: forwarded from the caller.
        unsafe { f(job, range) };
        return;
    }
    let half = parts / 2;
    let mid = range.start + (range.end - range.start) * half / parts;
    rayon::join(
        // SAFETY: the two halves' tiles are disjoint.
        || unsafe { run_split(job, f, range.start..mid, half) },
        || unsafe { run_split(job, f, mid..range.end, parts - half) },
    );
}

/// Copies `panel` into `out` (`kc × nr`). A `B` stored transposed (`b.rs == 1`, as `Wᵀ` in a
/// layer's forward) goes through the path's `pack_t`.
unsafe fn pack_panel(pack_t: PackFn, panel: &Panel, out: &mut [f32]) {
    let &Panel {
        b,
        kb,
        j0,
        width,
        nr,
        ..
    } = panel;
    if width < nr {
        out.fill(0.0);
    }
    // SAFETY (pointer reads): rows kb..kb + kc, columns j0..j0 + width are in bounds (caller).
    if b.cs == 1 {
        for (p, row) in out.chunks_exact_mut(nr).enumerate() {
            let src = unsafe { std::slice::from_raw_parts(b.ptr.add((kb + p) * b.rs + j0), width) };
            row[..width].copy_from_slice(src);
        }
    } else if b.rs == 1 {
        unsafe { pack_t(panel, out) };
    } else {
        for (p, row) in out.chunks_exact_mut(nr).enumerate() {
            for (j, x) in row[..width].iter_mut().enumerate() {
                *x = unsafe { *b.ptr.add((kb + p) * b.rs + (j0 + j) * b.cs) };
            }
        }
    }
}

/// [`pack_panel`] of a transposed `B` (`b.rs == 1`): column `j` of the panel is contiguous.
unsafe fn pack_t_portable(panel: &Panel, out: &mut [f32]) {
    let &Panel {
        b,
        kb,
        kc,
        j0,
        width,
        nr,
    } = panel;
    for j in 0..width {
        // SAFETY: column j0 + j, rows kb..kb + kc are in bounds (caller).
        let col = unsafe { std::slice::from_raw_parts(b.ptr.add(kb + (j0 + j) * b.cs), kc) };
        for (p, &x) in col.iter().enumerate() {
            out[p * nr + j] = x;
        }
    }
}

/// [`pack_t_portable`] with 8 × 8 in-register transposes (AVX).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn pack_t_avx2(panel: &Panel, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let &Panel {
        b,
        kb,
        kc,
        j0,
        width,
        nr,
    } = panel;
    let (w8, k8) = (width / 8 * 8, kc / 8 * 8);
    assert!(out.len() >= kc * nr);
    let o = out.as_mut_ptr();
    // SAFETY: reads stay in columns j0..j0 + width, rows kb..kb + kc (caller); writes stay
    // in out's kc × nr values (asserted).
    unsafe {
        for j in (0..w8).step_by(8) {
            let col = |t: usize| b.ptr.add(kb + (j0 + j + t) * b.cs);
            for p in (0..k8).step_by(8) {
                let r: [__m256; 8] = std::array::from_fn(|t| _mm256_loadu_ps(col(t).add(p)));
                let t0 = _mm256_unpacklo_ps(r[0], r[1]);
                let t1 = _mm256_unpackhi_ps(r[0], r[1]);
                let t2 = _mm256_unpacklo_ps(r[2], r[3]);
                let t3 = _mm256_unpackhi_ps(r[2], r[3]);
                let t4 = _mm256_unpacklo_ps(r[4], r[5]);
                let t5 = _mm256_unpackhi_ps(r[4], r[5]);
                let t6 = _mm256_unpacklo_ps(r[6], r[7]);
                let t7 = _mm256_unpackhi_ps(r[6], r[7]);
                let u0 = _mm256_shuffle_ps(t0, t2, 0x44);
                let u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
                let u2 = _mm256_shuffle_ps(t1, t3, 0x44);
                let u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
                let u4 = _mm256_shuffle_ps(t4, t6, 0x44);
                let u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
                let u6 = _mm256_shuffle_ps(t5, t7, 0x44);
                let u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
                let rows = [
                    _mm256_permute2f128_ps(u0, u4, 0x20),
                    _mm256_permute2f128_ps(u1, u5, 0x20),
                    _mm256_permute2f128_ps(u2, u6, 0x20),
                    _mm256_permute2f128_ps(u3, u7, 0x20),
                    _mm256_permute2f128_ps(u0, u4, 0x31),
                    _mm256_permute2f128_ps(u1, u5, 0x31),
                    _mm256_permute2f128_ps(u2, u6, 0x31),
                    _mm256_permute2f128_ps(u3, u7, 0x31),
                ];
                for (t, &v) in rows.iter().enumerate() {
                    _mm256_storeu_ps(o.add((p + t) * nr + j), v);
                }
            }
            for p in k8..kc {
                for t in 0..8 {
                    *o.add(p * nr + j + t) = *col(t).add(p);
                }
            }
        }
        for j in w8..width {
            let col = b.ptr.add(kb + (j0 + j) * b.cs);
            for p in 0..kc {
                *o.add(p * nr + j) = *col.add(p);
            }
        }
    }
}

/// The tile loop of one path: panels outer (each panel's `B` values stay in cache while
/// every row block uses them), row blocks inner.
#[inline(always)]
unsafe fn tiles<S: Simd, const MR: usize, const NV: usize>(job: &Job, range: Range<usize>) {
    let nr = NV * S::LANES;
    debug_assert!(job.mr == MR && job.nr == nr && MR * nr <= TILE_MAX);
    let p = &job.p;
    let row_blocks = p.m.div_ceil(MR);
    let load_c = p.accumulate || job.kb > 0;
    for t in range {
        let (q, rb) = (t / row_blocks, t % row_blocks);
        let (i0, j0) = (rb * MR, q * nr);
        let h = MR.min(p.m - i0);
        let width = nr.min(p.n - j0);
        // SAFETY (pointer arithmetic and kernel calls): every address stays inside the
        // operands the caller vouched for; the tile stays inside C.
        unsafe {
            let (b, b_rs) = if q >= job.packed_from {
                (job.pack.add((q - job.packed_from) * job.kc * nr), nr)
            } else {
                (p.b.ptr.add(job.kb * p.b.rs + j0), p.b.rs)
            };
            let a = View {
                ptr: p.a.ptr.add(i0 * p.a.rs + job.kb * p.a.cs),
                ..p.a
            };
            let c = p.c.add(i0 * p.c_rs + j0 * p.c_cs);
            if p.c_cs == 1 && width == nr {
                rows::<S, NV>(h, job.kc, a, b, b_rs, c, p.c_rs, load_c);
            } else {
                let mut tile = [0.0f32; TILE_MAX];
                if load_c {
                    for i in 0..h {
                        for j in 0..width {
                            tile[i * nr + j] = *c.add(i * p.c_rs + j * p.c_cs);
                        }
                    }
                }
                rows::<S, NV>(h, job.kc, a, b, b_rs, tile.as_mut_ptr(), nr, load_c);
                for i in 0..h {
                    for j in 0..width {
                        *c.add(i * p.c_rs + j * p.c_cs) = tile[i * nr + j];
                    }
                }
            }
        }
    }
}

/// [`micro`] for `h` rows (1 to 12, known only at run time).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn rows<S: Simd, const NV: usize>(
    h: usize,
    kc: usize,
    a: View,
    b: *const f32,
    b_rs: usize,
    c: *mut f32,
    c_rs: usize,
    load_c: bool,
) {
    macro_rules! by_rows {
        ($($h:literal)*) => {
            match h {
                // SAFETY: forwarded from the caller.
                $($h => unsafe { micro::<S, $h, NV>(kc, a, b, b_rs, c, c_rs, load_c) },)*
                // invariant: callers split rows into the tile heights listed here.
                _ => unreachable!("tile of {h} rows"),
            }
        };
    }
    by_rows!(1 2 3 4 5 6 7 8 9 10 11 12)
}

/// The microkernel: `H × (NV · LANES)` outputs at `c` (row stride `c_rs`), each taking one
/// fused multiply-add per `k < kc`, in order: `C[i, j] = fma(A[i, k], B[k, j], C[i, j])`.
/// Starts from the values at `c` if `load_c`, else from 0.
#[inline(always)]
unsafe fn micro<S: Simd, const H: usize, const NV: usize>(
    kc: usize,
    a: View,
    b: *const f32,
    b_rs: usize,
    c: *mut f32,
    c_rs: usize,
    load_c: bool,
) {
    // SAFETY (whole body): the caller guarantees H rows of A with kc columns, kc rows of
    // NV·LANES values at b (stride b_rs), and H rows of NV·LANES values at c.
    unsafe {
        let mut acc = [[S::zero(); NV]; H];
        if load_c {
            for (i, row) in acc.iter_mut().enumerate() {
                for (v, x) in row.iter_mut().enumerate() {
                    *x = S::load(c.add(i * c_rs + v * S::LANES));
                }
            }
        }
        let (mut ap, mut bp) = (a.ptr, b);
        for _ in 0..kc {
            let bv: [S::V; NV] = std::array::from_fn(|v| S::load(bp.add(v * S::LANES)));
            for (i, row) in acc.iter_mut().enumerate() {
                let x = S::splat(*ap.add(i * a.rs));
                for (v, y) in row.iter_mut().enumerate() {
                    *y = S::fma(x, bv[v], *y);
                }
            }
            ap = ap.add(a.cs);
            bp = bp.add(b_rs);
        }
        for (i, row) in acc.iter().enumerate() {
            for (v, &x) in row.iter().enumerate() {
                S::store(c.add(i * c_rs + v * S::LANES), x);
            }
        }
    }
}
