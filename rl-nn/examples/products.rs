//! Developer micro-benchmark: rl-nn's matrix products on the layouts the tape uses (plain,
//! rhs transposed for `x·Wᵀ`, lhs transposed for `dW = Gᵀ·X`), linear layers at acting
//! sizes, and `tanh`, on every kernel path this CPU runs (all give the same bits).
//! `cargo run --release -p rl-nn --example products [-- PATH]` (PATH: portable, avx2,
//! avx512; default: every available path).
use std::time::Instant;

use ndarray::Array2;
use rand::SeedableRng;
use rl_nn::kernels::{self, KernelPath};
use rl_nn::{Init, Linear, ParamStore, Rng};

/// Seconds per call of `f`: the best of 200 slices of about 1 ms (on a shared machine the
/// best slice is the one no other process interrupted).
fn time(mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let t = Instant::now();
    let mut n = 0u64;
    while t.elapsed().as_secs_f64() < 0.01 {
        f();
        n += 1;
    }
    let reps = ((1e-3 / t.elapsed().as_secs_f64()) * n as f64).max(1.0) as u64;
    (0..200)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn product(name: &str, m: usize, n: usize, k: usize, lhs_t: bool, rhs_t: bool) {
    let a = vec![0.5f32; m * k];
    let b = vec![0.25f32; k * n];
    let mut c = vec![0.0f32; m * n];
    let la = if lhs_t { (1, m) } else { (k, 1) };
    let lb = if rhs_t { (1, k) } else { (n, 1) };
    let dt = time(|| kernels::matmul_strided(m, n, k, &mut c, &a, la, &b, lb));
    println!(
        "{name:>30} {m}x{k}x{n}: {:8.1} us  {:6.1} GFLOP/s",
        dt * 1e6,
        2.0 * (m * n * k) as f64 / dt / 1e9
    );
}

fn linear(rows: usize, n_in: usize, n_out: usize) {
    let mut rng = Rng::seed_from_u64(0);
    let mut store = ParamStore::new();
    let l = Linear::new(
        &mut store,
        "l",
        n_in,
        n_out,
        true,
        Init::TorchDefault,
        &mut rng,
    )
    .expect("layer");
    let x = rl_nn::init::uniform(rows, n_in, 1.0, &mut rng);
    let mut y = Array2::zeros((0, 0));
    let dt = time(|| l.forward_array(&store, x.view(), &mut y));
    println!(
        "{:>30} {rows}x{n_in}->{n_out}: {:8.2} us  {:6.1} GFLOP/s",
        "linear forward_array",
        dt * 1e6,
        2.0 * (rows * n_in * n_out) as f64 / dt / 1e9
    );
}

fn tanh() {
    let mut v: Vec<f32> = (0..4096).map(|i| (i as f32 - 2048.0) / 500.0).collect();
    let dt = time(|| kernels::tanh_inplace(std::hint::black_box(&mut v)));
    println!(
        "{:>30} 4096: {:.2} us, {:.3} ns/elem",
        "tanh",
        dt * 1e6,
        dt * 1e9 / 4096.0
    );
}

fn main() {
    let paths: Vec<KernelPath> = match std::env::args().nth(1) {
        Some(p) => vec![p.parse().expect("a path name: portable, avx2, avx512")],
        None => kernels::available_paths(),
    };
    for path in paths {
        kernels::force_path(Some(path)).expect("path available on this CPU");
        println!("== {path}");
        tanh();
        for &(m, k, n) in &[(128, 256, 256), (512, 256, 256), (512, 4, 256)] {
            product("x·W (plain)", m, n, k, false, false);
            product("x·Wᵀ (fwd, rhs transposed)", m, n, k, false, true);
        }
        // The heads' backward: dX = G·W with k = 2 outputs, dW = Gᵀ·H with m = 2 outputs.
        product("G·W (head dX, plain)", 512, 256, 2, false, false);
        product("Gᵀ·H (head dW, lhs transposed)", 2, 256, 512, true, false);
        for &(m, k, n) in &[(256, 128, 256), (256, 512, 256), (256, 512, 4)] {
            product("Gᵀ·X (dW, lhs transposed)", m, n, k, true, false);
        }
        for rows in [1, 2, 8, 16, 17, 128] {
            linear(rows, 256, 256);
        }
        linear(1, 4, 256);
        linear(512, 256, 2);
    }
}
