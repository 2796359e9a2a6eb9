//! Criterion benches of the classic-control envs: CartPole-v1 with random actions (resets
//! included), single env through `make` (allocation-free `step_into` and allocating
//! `step`), and a `SyncVectorEnv` of 8; plus one step of each other env.
//!
//! `cargo bench -p rl-envs --bench envs`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::{Rng as _, SeedableRng};
use rl_core::env::{Env, Value, VectorEnv};
use rl_core::Rng;

fn cartpole(c: &mut Criterion) {
    let mut g = c.benchmark_group("CartPole-v1");
    g.throughput(Throughput::Elements(1));
    g.bench_function("step_into (random actions, resets included)", |b| {
        let mut env = rl_envs::make("CartPole-v1", &serde_json::Value::Null).unwrap();
        let mut obs = [0.0f32; 4];
        env.reset_into(Some(0), None, &mut obs).unwrap();
        let mut rng = Rng::seed_from_u64(0);
        b.iter(|| {
            let a = Value::Discrete(rng.gen_range(0..2));
            let out = env.step_into(&a, &mut obs).unwrap();
            if out.terminated || out.truncated {
                env.reset_into(None, None, &mut obs).unwrap();
            }
        })
    });
    g.bench_function("step (allocating, random actions, resets included)", |b| {
        let mut env = rl_envs::make("CartPole-v1", &serde_json::Value::Null).unwrap();
        env.reset(Some(0), None).unwrap();
        let mut rng = Rng::seed_from_u64(0);
        b.iter(|| {
            let r = env.step(&Value::Discrete(rng.gen_range(0..2))).unwrap();
            if r.terminated || r.truncated {
                env.reset(None, None).unwrap();
            }
            r
        })
    });
    g.throughput(Throughput::Elements(8));
    g.bench_function("SyncVectorEnv x8 step (env-steps)", |b| {
        let mut env = rl_envs::make_vec("CartPole-v1", &serde_json::Value::Null, 8).unwrap();
        env.reset(Some(0), None).unwrap();
        let mut rng = Rng::seed_from_u64(0);
        let mut actions = vec![Value::Discrete(0); 8];
        b.iter(|| {
            for a in actions.iter_mut() {
                *a = Value::Discrete(rng.gen_range(0..2));
            }
            env.step(&actions).unwrap().rewards[0]
        })
    });
    g.finish();
}

fn others(c: &mut Criterion) {
    let mut g = c.benchmark_group("classic control step_into");
    g.throughput(Throughput::Elements(1));
    for name in [
        "Acrobot-v1",
        "MountainCar-v0",
        "MountainCarContinuous-v0",
        "Pendulum-v1",
    ] {
        g.bench_function(name, |b| {
            let mut env = rl_envs::make(name, &serde_json::Value::Null).unwrap();
            let space = env.action_space().clone();
            let mut obs = vec![0.0f32; env.observation_space().flat_dim()];
            env.reset_into(Some(0), None, &mut obs).unwrap();
            let mut rng = Rng::seed_from_u64(0);
            let mut action = space.sample(&mut rng);
            b.iter_batched_ref(
                || (),
                |_| {
                    space.sample_into(&mut rng, &mut action);
                    let out = env.step_into(&action, &mut obs).unwrap();
                    if out.terminated || out.truncated {
                        env.reset_into(None, None, &mut obs).unwrap();
                    }
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, cartpole, others);
criterion_main!(benches);
