//! CartPole-v1 speed, to set beside Gymnasium's (`../shared/anchors/bench_gym_env.py`,
//! which prints the same keys).
//!
//! `cargo run --release --example bench_envs [-- --steps N]` prints one JSON object:
//! - `cartpole_steps_per_s`: one `make("CartPole-v1")` env (a `Box<dyn Env>` with its
//!   500-step time limit), uniformly random actions drawn in the loop, resets included,
//!   through the allocation-free `step_into` / `reset_into`;
//! - `cartpole_step_alloc_steps_per_s`: the same through `step` / `reset`, which allocate
//!   the observation `Vec<f32>` every call;
//! - `cartpole_vec8_steps_per_s`: a `SyncVectorEnv` of 8 (same-step autoreset), env-steps/s;
//! - `cpu_time`: the same rates over the thread's on-CPU time (Linux), which shared, loaded
//!   machines do not distort; `loadavg` says how loaded the machine was.
//!
//! Each figure is the median of 3 runs of N steps (default 20,000,000). `--only single`
//! (or `alloc`, `vec8`) runs one of them; the others print as null.

use std::time::Instant;

use rand::{Rng as _, SeedableRng};
use rl::core::env::{Env, Value, VectorEnv};
use rl::core::Rng;

/// Wall-clock and on-CPU time of this thread, in seconds. The CPU time (Linux's
/// `/proc/thread-self/schedstat`) is what the loop would take on an idle core; it is
/// `None` where unavailable.
#[derive(Clone, Copy)]
struct Clock {
    wall: Instant,
    cpu_ns: Option<u64>,
}

fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

impl Clock {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu_ns: thread_cpu_ns(),
        }
    }

    /// Steps per second over wall-clock and over CPU time.
    fn rates(self, steps: u64) -> (f64, f64) {
        let wall = self.wall.elapsed().as_secs_f64();
        let cpu = match (self.cpu_ns, thread_cpu_ns()) {
            (Some(a), Some(b)) if b > a => (b - a) as f64 * 1e-9,
            _ => f64::NAN,
        };
        (steps as f64 / wall, steps as f64 / cpu)
    }
}

fn single_step_into(steps: u64) -> (f64, f64) {
    let mut env = rl::envs::make("CartPole-v1", &serde_json::Value::Null).expect("CartPole-v1");
    let mut obs = [0.0f32; 4];
    env.reset_into(Some(0), None, &mut obs).unwrap();
    let mut rng = Rng::seed_from_u64(0);
    let mut action = Value::Discrete(0);
    let t0 = Clock::start();
    for _ in 0..steps {
        action = Value::Discrete(rng.gen_range(0..2));
        let out = env.step_into(&action, &mut obs).unwrap();
        if out.terminated || out.truncated {
            env.reset_into(None, None, &mut obs).unwrap();
        }
    }
    let r = t0.rates(steps);
    std::hint::black_box((&obs, &action));
    r
}

fn single_step_alloc(steps: u64) -> (f64, f64) {
    let mut env = rl::envs::make("CartPole-v1", &serde_json::Value::Null).expect("CartPole-v1");
    env.reset(Some(0), None).unwrap();
    let mut rng = Rng::seed_from_u64(0);
    let mut last = None;
    let t0 = Clock::start();
    for _ in 0..steps {
        let r = env.step(&Value::Discrete(rng.gen_range(0..2))).unwrap();
        if r.terminated || r.truncated {
            env.reset(None, None).unwrap();
        }
        last = Some(r);
    }
    let r = t0.rates(steps);
    std::hint::black_box(&last);
    r
}

fn vec8(steps: u64) -> (f64, f64) {
    let mut env =
        rl::envs::make_vec("CartPole-v1", &serde_json::Value::Null, 8).expect("CartPole-v1");
    env.reset(Some(0), None).unwrap();
    let mut rng = Rng::seed_from_u64(0);
    let mut actions = vec![Value::Discrete(0); 8];
    let n = steps / 8;
    let mut acc = 0.0;
    let t0 = Clock::start();
    for _ in 0..n {
        for a in actions.iter_mut() {
            *a = Value::Discrete(rng.gen_range(0..2));
        }
        let r = env.step(&actions).unwrap();
        acc += r.rewards[0];
    }
    let r = t0.rates(n * 8);
    std::hint::black_box(acc);
    r
}

/// Medians of 3 runs, of the wall-clock and of the CPU-time rates.
fn median3(f: &dyn Fn() -> (f64, f64)) -> (f64, f64) {
    let runs = [f(), f(), f()];
    let med = |mut v: [f64; 3]| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[1].round()
    };
    (med(runs.map(|r| r.0)), med(runs.map(|r| r.1)))
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
    // `--only single|alloc|vec8` runs one measurement (e.g. under `perf stat`).
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let want = |k: &str| only.as_deref().is_none_or(|o| o == k);
    let run = |k: &str, f: &dyn Fn() -> (f64, f64)| {
        if want(k) {
            median3(f)
        } else {
            (f64::NAN, f64::NAN)
        }
    };
    let single = run("single", &|| single_step_into(steps));
    let alloc = run("alloc", &|| single_step_alloc(steps / 4));
    let vec = run("vec8", &|| vec8(steps));
    println!(
        "{}",
        serde_json::json!({
            "rl": env!("CARGO_PKG_VERSION"),
            "steps": steps,
            "cartpole_steps_per_s": single.0,
            "cartpole_step_alloc_steps_per_s": alloc.0,
            "cartpole_vec8_steps_per_s": vec.0,
            "cpu_time": {
                "cartpole_steps_per_s": single.1,
                "cartpole_step_alloc_steps_per_s": alloc.1,
                "cartpole_vec8_steps_per_s": vec.1,
            },
            "loadavg": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_string()),
        })
    );
}
