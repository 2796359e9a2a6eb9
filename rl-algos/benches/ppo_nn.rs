//! criterion benches of the PPO model RLlib's seed run trains (actor 4→256→256→2, critic
//! 4→256→256→1, tanh): no-grad forward of both nets at batch 1 and 8 (acting), and one
//! full minibatch update (forward, PPO loss, backward, Adam) at minibatch 128 and 512.
//! `cargo bench -p rl-algos --bench ppo_nn`; `examples/bench_nn.rs` prints the same
//! figures as one JSON object.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use ndarray::{Array1, Array2};
use rand::{Rng as _, SeedableRng};
use rl_algos::ppo::loss::{ppo_loss, LossHyperparameters};
use rl_algos::ppo::module::{PPOModule, PPOModuleConfig};
use rl_core::learner::TrainBatch;
use rl_nn::{ActionDistKind, Adam, Grads, Rng, Tape};

fn module() -> PPOModule {
    let mut rng = Rng::seed_from_u64(0);
    PPOModule::new(
        &PPOModuleConfig::new(4, ActionDistKind::Categorical, 2),
        &mut rng,
    )
    .unwrap()
}

fn batch(rows: usize, rng: &mut Rng) -> TrainBatch {
    TrainBatch {
        obs: rl_nn::init::uniform(rows, 4, 2.0, rng),
        actions: Array2::from_shape_fn((rows, 1), |_| rng.gen_range(0..2) as f32),
        action_logp: Array1::from_shape_fn(rows, |_| -rng.gen_range(0.1f32..1.5)),
        action_dist_inputs: rl_nn::init::uniform(rows, 2, 0.5, rng),
        advantages: Array1::from_shape_fn(rows, |_| rng.gen_range(-2.0f32..2.0)),
        value_targets: Array1::from_shape_fn(rows, |_| rng.gen_range(-5.0f32..20.0)),
        loss_mask: Array1::from_elem(rows, true),
        ..Default::default()
    }
}

fn forward(c: &mut Criterion) {
    let mut g = c.benchmark_group("ppo_forward_both_nets");
    let mut m = module();
    let mut rng = Rng::seed_from_u64(1);
    for rows in [1usize, 8] {
        let obs = rl_nn::init::uniform(rows, 4, 2.0, &mut rng);
        let (mut d, mut v) = (Array2::zeros((0, 0)), Array2::zeros((0, 0)));
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("b{rows}")),
            &rows,
            |b, _| {
                b.iter(|| {
                    m.forward_dist_inputs_into(obs.view(), &mut d);
                    m.forward_values_into(obs.view(), &mut v);
                })
            },
        );
    }
    g.finish();
}

fn update(c: &mut Criterion) {
    let mut g = c.benchmark_group("ppo_minibatch_update");
    g.sample_size(30);
    let mut rng = Rng::seed_from_u64(2);
    let hp = LossHyperparameters {
        entropy_coeff: 0.01,
        ..Default::default()
    };
    for rows in [128usize, 512] {
        let data = batch(rows, &mut rng);
        let mut m = module();
        let mut tape = Tape::new();
        let mut grads = Grads::new(m.params());
        let mut adam = Adam::new(3e-4);
        g.throughput(Throughput::Elements(rows as u64));
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("mb{rows}")),
            &rows,
            |b, _| {
                b.iter_batched(
                    || (),
                    |_| {
                        tape.reset();
                        grads.zero();
                        let out = ppo_loss(&mut tape, &m, &data, &hp).unwrap();
                        tape.backward(out.total_loss, &mut grads);
                        adam.step(m.params_mut(), &grads).unwrap();
                    },
                    BatchSize::SmallInput,
                )
            },
        );
    }
    g.finish();
}

criterion_group!(benches, forward, update);
criterion_main!(benches);
