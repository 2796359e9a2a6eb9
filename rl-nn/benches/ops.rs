//! criterion benches of rl-nn's building blocks at RL sizes: the fused linear layer
//! (no-grad, batch 1 / 8 / 512 through 256×256), `tanh` over 4096 values, and a recorded
//! forward + backward of a 4→256→256→2 tanh MLP at batch 128.
//! `cargo bench -p rl-nn --bench ops`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;
use rand::SeedableRng;
use rl_nn::{Activation, Grads, Init, Linear, Mlp, MlpConfig, ParamStore, Rng, Tape};

fn linear(c: &mut Criterion) {
    let mut rng = Rng::seed_from_u64(0);
    let mut store = ParamStore::new();
    let l = Linear::new(
        &mut store,
        "l",
        256,
        256,
        true,
        Init::TorchDefault,
        &mut rng,
    )
    .unwrap();
    let mut g = c.benchmark_group("linear_256x256_forward_array");
    for rows in [1usize, 8, 512] {
        let x = rl_nn::init::uniform(rows, 256, 1.0, &mut rng);
        let mut out = Array2::zeros((0, 0));
        g.throughput(Throughput::Elements((rows * 256 * 256) as u64));
        g.bench_with_input(BenchmarkId::from_parameter(rows), &rows, |b, _| {
            b.iter(|| l.forward_array(&store, x.view(), &mut out))
        });
    }
    g.finish();
}

fn tanh(c: &mut Criterion) {
    let mut v: Vec<f32> = (0..4096).map(|i| (i as f32 - 2048.0) / 500.0).collect();
    c.bench_function("tanh_4096", |b| {
        b.iter(|| rl_nn::kernels::tanh_inplace(std::hint::black_box(&mut v)))
    });
}

fn mlp_train(c: &mut Criterion) {
    let mut rng = Rng::seed_from_u64(1);
    let mut store = ParamStore::new();
    let cfg = MlpConfig {
        in_dim: 4,
        hidden: vec![256, 256],
        activation: Activation::Tanh,
        output_dim: Some(2),
        hidden_init: Init::TorchDefault,
        output_init: Init::TorchDefault,
    };
    let mlp = Mlp::new(&mut store, "m", &cfg, &mut rng).unwrap();
    let x = rl_nn::init::uniform(128, 4, 1.0, &mut rng);
    let mut grads = Grads::new(&store);
    let mut tape = Tape::new();
    c.bench_function("mlp_4_256_256_2_fwd_bwd_b128", |b| {
        b.iter(|| {
            tape.reset();
            let xv = tape.constant(x.view());
            let y = mlp.forward(&mut tape, &store, xv);
            let l = tape.mean(y);
            tape.backward(l, &mut grads);
        })
    });
}

criterion_group!(benches, linear, tanh, mlp_train);
criterion_main!(benches);
