//! The kernels against plain reference loops of the documented orders, bit for bit, on
//! every path this CPU can run.

use super::*;

/// Deterministic pseudo-random values in [-1, 1) (a small LCG, so the tests need no RNG).
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn bits(xs: &[f32]) -> Vec<u32> {
    xs.iter().map(|x| x.to_bits()).collect()
}

/// The chain order, written out: `c = init; c = fma(a[i, p], b[p, j], c)` for p in order.
fn chain_ref(m: usize, n: usize, k: usize, a: Mat<'_>, b: Mat<'_>, init: &[f32]) -> Vec<f32> {
    let mut c = init.to_vec();
    for i in 0..m {
        for j in 0..n {
            let mut s = c[i * n + j];
            for p in 0..k {
                s = a.data[i * a.rs + p * a.cs].mul_add(b.data[p * b.rs + j * b.cs], s);
            }
            c[i * n + j] = s;
        }
    }
    c
}

/// The dot order, written out: 16 accumulators strided over `k`, the last group
/// zero-padded, the fixed tree.
fn dot_ref(x: &[f32], w: &[f32]) -> f32 {
    let mut acc = [0.0f32; 16];
    for (p, (&a, &b)) in x.iter().zip(w).enumerate() {
        acc[p % 16] = a.mul_add(b, acc[p % 16]);
    }
    let rem = x.len() % 16;
    if rem > 0 {
        for a in &mut acc[rem..] {
            *a = 0.0f32.mul_add(0.0, *a);
        }
    }
    let t: Vec<f32> = (0..8).map(|l| acc[l] + acc[l + 8]).collect();
    let u: Vec<f32> = (0..4).map(|l| t[l] + t[l + 4]).collect();
    (u[0] + u[2]) + (u[1] + u[3])
}

const SHAPES: &[(usize, usize, usize)] = &[
    // The seed model's layers (forward, dX, dW) at acting and minibatch sizes.
    (1, 256, 4),
    (128, 256, 4),
    (128, 256, 256),
    (256, 256, 128),
    (256, 4, 128),
    (128, 2, 256),
    (2, 256, 128),
    (128, 256, 2),
    // Odd sizes: edge tiles, partial panels, K blocks (K > 256), both orientations.
    (1, 1, 1),
    (3, 5, 7),
    (13, 33, 17),
    (37, 3, 300),
    (5, 50, 513),
    (70, 70, 9),
];

#[test]
fn products_follow_the_chain_order_on_every_path() {
    for &(m, n, k) in SHAPES {
        let a = values(m * k, 1);
        let b = values(k * n, 2);
        let init = values(m * n, 3);
        // Plain, lhs transposed, rhs transposed (the layouts the tape uses).
        let layouts = [
            (Mat::rows(&a, k), Mat::rows(&b, n)),
            (Mat::transposed(&a, m), Mat::rows(&b, n)),
            (Mat::rows(&a, k), Mat::transposed(&b, k)),
        ];
        for (lhs, rhs) in layouts {
            for accumulate in [false, true] {
                let start = if accumulate {
                    init.clone()
                } else {
                    vec![0.0; m * n]
                };
                let want = bits(&chain_ref(m, n, k, lhs, rhs, &start));
                for path in available_paths() {
                    for threads in [1, 2, 3] {
                        let mut c = if accumulate {
                            init.clone()
                        } else {
                            vec![f32::NAN; m * n]
                        };
                        matmul_on(path, threads, m, n, k, &mut c, accumulate, lhs, rhs);
                        assert_eq!(
                            bits(&c),
                            want,
                            "{path}, {threads} threads, {m}x{k}·{k}x{n}, accumulate {accumulate}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn linear_layers_follow_their_documented_order_on_every_path() {
    for (n_in, n_out) in [
        (4, 256),
        (256, 256),
        (256, 2),
        (256, 1),
        (33, 7),
        (17, 5),
        (8, 3),
    ] {
        let w = values(n_in * n_out, 4);
        let b = values(n_out, 5);
        for rows in [1, 2, 3, 5, 8, 9, 16, 17, 40] {
            let x = values(rows * n_in, 6);
            let dot = n_in >= DOT_MIN_IN && (rows <= SMALL_BATCH || n_out <= NARROW_OUT);
            let want: Vec<f32> = if dot {
                (0..rows * n_out)
                    .map(|e| {
                        let (r, o) = (e / n_out, e % n_out);
                        dot_ref(&x[r * n_in..][..n_in], &w[o * n_in..][..n_in]) + b[o]
                    })
                    .collect()
            } else {
                let init: Vec<f32> = (0..rows * n_out).map(|e| b[e % n_out]).collect();
                chain_ref(
                    rows,
                    n_out,
                    n_in,
                    Mat::rows(&x, n_in),
                    Mat::transposed(&w, n_in),
                    &init,
                )
            };
            for path in available_paths() {
                let mut y = vec![f32::NAN; rows * n_out];
                linear_forward_on(path, &x, &w, Some(&b), &mut y, rows, n_in, n_out);
                assert_eq!(bits(&y), bits(&want), "{path}: {rows} rows, {n_in}→{n_out}");
            }
        }
    }
}

#[test]
fn dot_padding_is_the_same_on_every_path() {
    // Products that underflow to −0 make "pad with zeros" and "skip" differ; every path pads.
    let n_in = 21;
    let x: Vec<f32> = (0..n_in)
        .map(|i| if i % 2 == 0 { 1e-30 } else { -1e-30 })
        .collect();
    let w = vec![1e-30f32; n_in];
    let want = dot_ref(&x, &w);
    for path in available_paths() {
        let mut y = [f32::NAN; 1];
        linear_forward_on(path, &x, &w, None, &mut y, 1, n_in, 1);
        assert_eq!(y[0].to_bits(), want.to_bits(), "{path}");
    }
}

#[test]
fn tanh_is_accurate_and_vectorizes_exactly() {
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
    let v: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.013).collect();
    let want: Vec<f32> = v.iter().map(|&x| tanh_f32(x)).collect();
    // Each path's vectorized loop against the scalar function (the paths are compared
    // with each other in tests/kernel_paths.rs).
    let mut out = vec![0.0; v.len()];
    tanh_into(&v, &mut out);
    assert_eq!(bits(&out), bits(&want));
    let mut w = v.clone();
    tanh_inplace(&mut w);
    assert_eq!(bits(&w), bits(&want));
}

#[test]
fn exp_and_ln_are_accurate() {
    for i in -2000..2000 {
        let x = i as f32 * 0.043;
        let e = exp(x) as f64;
        let r = (x as f64).exp();
        assert!((e - r).abs() <= 2e-7 * r, "exp({x}) = {e}, want {r}");
        let y = (i as f32 * 0.37).abs() + 1e-3;
        let l = ln(y) as f64;
        let r = (y as f64).ln();
        assert!(
            (l - r).abs() <= 2e-7 * r.abs().max(1.0),
            "ln({y}) = {l}, want {r}"
        );
    }
}

#[test]
fn unknown_or_unavailable_paths_are_errors() {
    assert!("neon".parse::<KernelPath>().is_err());
    assert_eq!("AVX2".parse::<KernelPath>().unwrap(), KernelPath::Avx2);
    assert_eq!(available_paths()[0], KernelPath::Portable);
    // Forcing changes only the speed, so doing it while other tests run is harmless.
    for p in KernelPath::ALL {
        assert_eq!(force_path(Some(p)).is_ok(), p.is_available());
    }
    force_path(None).unwrap();
}

#[test]
fn emulated_fma_is_the_fused_multiply_add() {
    use super::simd::fma_emulated;
    let same =
        |got: f32, want: f32| got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan());
    let check = |a: f32, b: f32, c: f32| {
        let (got, want) = (fma_emulated(a, b, c), a.mul_add(b, c));
        assert!(
            same(got, want),
            "fma({a:e}, {b:e}, {c:e}) = {got:e}, want {want:e}"
        );
    };
    // Where rounding the f64 sum to f32 would round twice: a·b + c = 1 + 3·2⁻²⁴ − 2⁻⁷⁰.
    let (a, b, c) = (
        2f32.powi(-24) * (1.0 + 2f32.powi(-23)),
        1.0 - 2f32.powi(-23),
        1.0 + 2f32.powi(-23),
    );
    assert_ne!((a as f64 * b as f64 + c as f64) as f32, a.mul_add(b, c));
    for s in [1.0f32, -1.0, 2f32.powi(-100), 2f32.powi(60)] {
        check(a * s, b, c * s);
        check(-a * s, b, -c * s);
    }
    let special = [
        0.0f32,
        -0.0,
        1.0,
        -1.0,
        f32::MIN_POSITIVE,
        -f32::MIN_POSITIVE,
        1e-45,
        -1e-45,
        f32::MAX,
        f32::MIN,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        1e-30,
        3.0e38,
    ];
    for &a in &special {
        for &b in &special {
            for &c in &special {
                check(a, b, c);
            }
        }
    }
    // Random bit patterns, and values with few mantissa bits (near ties) and cancellation.
    let mut s = 0x9E37_79B9u32;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        s
    };
    for _ in 0..2_000_000 {
        let (x, y, z) = (next(), next(), next());
        check(f32::from_bits(x), f32::from_bits(y), f32::from_bits(z));
        let sparse = |v: u32| f32::from_bits(v & 0xC7F0_00FF | 0x3F00_0000);
        let (a, b) = (sparse(x), sparse(y));
        check(
            a,
            b,
            -(a * b) * (1.0 + f32::from_bits(z & 0x807F_FFFF | 0x3300_0000)),
        );
        check(a, b, sparse(z));
    }
}
