//! CartPole-v1 speed, to set beside Gymnasium's (`../shared/anchors/bench_gym_env.py`,
//! which prints the same keys).
//!
//! `cargo run --release --example bench_envs [-- --steps N]` prints one JSON object:
//! - `cartpole_steps_per_s`: one `make("CartPole-v1")` env (a `Box<dyn Env>` with its
//!   500-step time limit), uniformly random actions drawn in the loop, resets included,
//!   through the allocation-free `step_into` / `reset_into`;
//! - `cartpole_step_alloc_steps_per_s`: the same through `step` / `reset`, which allocate
//!   the observation `Vec<f32>` every call;
//! - `cartpole_vec8_steps_per_s`: a `SyncVectorEnv` of 8 (same-step autoreset), env-steps/s.
//!
//! Each figure is the median of 3 runs of N steps (default 20,000,000).

use std::time::Instant;

use rand::{Rng as _, SeedableRng};
use rl::core::env::{Env, Value, VectorEnv};
use rl::core::Rng;

fn single_step_into(steps: u64) -> f64 {
    let mut env = rl::envs::make("CartPole-v1", &serde_json::Value::Null).expect("CartPole-v1");
    let mut obs = [0.0f32; 4];
    env.reset_into(Some(0), None, &mut obs).unwrap();
    let mut rng = Rng::seed_from_u64(0);
    let mut action = Value::Discrete(0);
    let t0 = Instant::now();
    for _ in 0..steps {
        action = Value::Discrete(rng.gen_range(0..2));
        let out = env.step_into(&action, &mut obs).unwrap();
        if out.terminated || out.truncated {
            env.reset_into(None, None, &mut obs).unwrap();
        }
    }
    let dt = t0.elapsed().as_secs_f64();
    std::hint::black_box((&obs, &action));
    steps as f64 / dt
}

fn single_step_alloc(steps: u64) -> f64 {
    let mut env = rl::envs::make("CartPole-v1", &serde_json::Value::Null).expect("CartPole-v1");
    env.reset(Some(0), None).unwrap();
    let mut rng = Rng::seed_from_u64(0);
    let mut last = None;
    let t0 = Instant::now();
    for _ in 0..steps {
        let r = env.step(&Value::Discrete(rng.gen_range(0..2))).unwrap();
        if r.terminated || r.truncated {
            env.reset(None, None).unwrap();
        }
        last = Some(r);
    }
    let dt = t0.elapsed().as_secs_f64();
    std::hint::black_box(&last);
    steps as f64 / dt
}

fn vec8(steps: u64) -> f64 {
    let mut env =
        rl::envs::make_vec("CartPole-v1", &serde_json::Value::Null, 8).expect("CartPole-v1");
    env.reset(Some(0), None).unwrap();
    let mut rng = Rng::seed_from_u64(0);
    let mut actions = vec![Value::Discrete(0); 8];
    let n = steps / 8;
    let mut acc = 0.0;
    let t0 = Instant::now();
    for _ in 0..n {
        for a in actions.iter_mut() {
            *a = Value::Discrete(rng.gen_range(0..2));
        }
        let r = env.step(&actions).unwrap();
        acc += r.rewards[0];
    }
    let dt = t0.elapsed().as_secs_f64();
    std::hint::black_box(acc);
    (n * 8) as f64 / dt
}

fn median3(f: impl Fn() -> f64) -> f64 {
    let mut v = [f(), f(), f()];
    v.sort_by(|a, b| a.total_cmp(b));
    v[1]
}

fn main() {
    let mut steps: u64 = 20_000_000;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--steps") {
        steps = args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("--steps needs a positive integer"));
    }
    let single = median3(|| single_step_into(steps));
    let alloc = median3(|| single_step_alloc(steps / 4));
    let vec = median3(|| vec8(steps));
    println!(
        "{}",
        serde_json::json!({
            "rl": env!("CARGO_PKG_VERSION"),
            "steps": steps,
            "cartpole_steps_per_s": single.round(),
            "cartpole_step_alloc_steps_per_s": alloc.round(),
            "cartpole_vec8_steps_per_s": vec.round(),
        })
    );
}
