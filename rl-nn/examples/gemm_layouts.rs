//! Developer micro-benchmark: the `gemm` crate on the matrix-product layouts the tape uses
//! (plain, rhs transposed for `x·Wᵀ`, lhs transposed for `dW = Gᵀ·X`), and `tanh`.
//! `cargo run --release -p rl-nn --example gemm_layouts`.
use std::time::Instant;

fn bench(name: &str, m: usize, n: usize, k: usize, lhs_t: bool, rhs_t: bool) {
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0.0f32; m * n];
    let (lcs, lrs) = if lhs_t {
        (m as isize, 1)
    } else {
        (1, k as isize)
    };
    let (rcs, rrs) = if rhs_t {
        (k as isize, 1)
    } else {
        (1, n as isize)
    };
    let mut run = || unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            lcs,
            lrs,
            b.as_ptr(),
            rcs,
            rrs,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    };
    for _ in 0..20 {
        run();
    }
    let reps = (2e9 / (2.0 * (m * n * k) as f64)).max(20.0) as usize;
    let t = Instant::now();
    for _ in 0..reps {
        run();
    }
    let dt = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "{name:>28} {m}x{k}x{n}: {:8.1} us  {:6.1} GFLOP/s",
        dt * 1e6,
        2.0 * (m * n * k) as f64 / dt / 1e9
    );
}

fn main() {
    tanh_bench();
    for &(m, k, n) in &[
        (8, 256, 256),
        (128, 256, 256),
        (512, 256, 256),
        (512, 4, 256),
        (512, 256, 2),
    ] {
        bench("x·W (plain)", m, n, k, false, false);
        bench("x·Wᵀ (fwd, rhs transposed)", m, n, k, false, true);
    }
    // Acting batches computed as yᵀ = W·xᵀ (W row-major as stored, xᵀ a strided view).
    for rows in [2usize, 4, 8, 16] {
        bench("W·xᵀ (act, rhs transposed)", 256, rows, 256, false, true);
    }
    // The heads' backward: dX = G·W with k = 2 outputs, dW = Gᵀ·H with m = 2 outputs.
    bench("G·W (head dX, plain)", 512, 256, 2, false, false);
    bench("Gᵀ·H (head dW, lhs transposed)", 2, 256, 512, true, false);
    for &(m, k, n) in &[(256, 128, 256), (256, 512, 256), (256, 512, 4)] {
        bench("Gᵀ·X (dW, lhs transposed)", m, n, k, true, false);
        bench("plain", m, n, k, false, false);
    }
}

fn tanh_bench() {
    let mut v: Vec<f32> = (0..4096).map(|i| (i as f32 - 2048.0) / 500.0).collect();
    for _ in 0..100 {
        rl_nn::kernels::tanh_inplace(&mut v);
    }
    let reps = 20000;
    let t = Instant::now();
    for _ in 0..reps {
        rl_nn::kernels::tanh_inplace(std::hint::black_box(&mut v));
    }
    let dt = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "tanh 4096: {:.2} us, {:.3} ns/elem",
        dt * 1e6,
        dt * 1e9 / 4096.0
    );
}
