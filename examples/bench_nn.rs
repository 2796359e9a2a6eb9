//! Speed of rl-nn on the model RLlib's seed run trains (actor MLP 4→256→256→2, critic MLP
//! 4→256→256→1, tanh, 134,915 parameters). Prints one JSON object:
//!
//! - `forward_b1_per_s`, `forward_b8_per_s`: no-grad forwards of both nets (with heads) per
//!   second, for batches of 1 and 8 observations (acting);
//! - `update_mb128_samples_per_s`, `update_mb512_samples_per_s`: rows per second through
//!   one full PPO minibatch update (forward, RLlib's PPO loss, backward, Adam step) on
//!   CartPole-shaped random data, on one tape and one thread;
//! - `learner_update_mb128_samples_per_s`, `learner_update_mb512_samples_per_s`: the same
//!   update through `PPOLearner::update_from_batch` (one epoch of one minibatch), which
//!   records the actor and critic parts on two tapes in parallel: what a training
//!   iteration runs, on up to two cores.
//!
//! ```text
//! cargo run --release --example bench_nn [-- --threads N]
//! ```
//! `--threads N` (default 1) lets the matrix products use N threads. Extra keys: `threads`,
//! `kernel_path` (rl-nn's instruction-set path: `RL_NN_KERNEL_PATH=portable|avx2|avx512`
//! forces one; all give the same bits), and the heap allocations of one warmed-up update
//! (`update_mb*_allocs`, 0: rl-nn reuses its buffers). `BENCH_NN_MS` sets the
//! time per figure (default 1500 ms), `BENCH_NN_ONLY=b1|b8|mb128|mb512|learner128|learner512` runs one figure.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ndarray::{Array1, Array2};
use rand::{Rng as _, SeedableRng};
use rl::algos::ppo::loss::{ppo_loss, LossHyperparameters};
use rl::algos::ppo::module::{PPOModule, PPOModuleConfig};
use rl::algos::ppo::PPOLearner;
use rl::algos::PPOConfig;
use rl::core::learner::TrainBatch;
use rl::nn::{ActionDistKind, Adam, Grads, Rng, Tape};

/// Counts heap allocations, to report how many a warmed-up update makes.
struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` repeatedly for about `budget`, in 5 slices; returns the best slice's calls/s.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    // Warm up (buffers, caches, branch predictors).
    let t = Instant::now();
    let mut warm = 0u64;
    while t.elapsed() < budget / 10 || warm < 3 {
        f();
        warm += 1;
    }
    let per_call = t.elapsed().as_secs_f64() / warm as f64;
    let n = ((budget.as_secs_f64() / 5.0 / per_call) as u64).max(1);
    let mut best = 0.0f64;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        best = best.max(n as f64 / t.elapsed().as_secs_f64());
    }
    best
}

fn random_batch(rows: usize, rng: &mut Rng) -> TrainBatch {
    let u = |r: usize, c: usize, s: f32, rng: &mut Rng| rl::nn::init::uniform(r, c, s, rng);
    TrainBatch {
        obs: u(rows, 4, 2.0, rng),
        actions: Array2::from_shape_fn((rows, 1), |_| rng.gen_range(0..2) as f32),
        action_logp: Array1::from_shape_fn(rows, |_| -rng.gen_range(0.1f32..1.5)),
        action_dist_inputs: u(rows, 2, 0.5, rng),
        advantages: Array1::from_shape_fn(rows, |_| rng.gen_range(-2.0f32..2.0)),
        value_targets: Array1::from_shape_fn(rows, |_| rng.gen_range(-5.0f32..20.0)),
        loss_mask: Array1::from_elem(rows, true),
        rewards: Array1::zeros(rows),
        terminateds: Array1::from_elem(rows, false),
        truncateds: Array1::from_elem(rows, false),
        vf_preds: Array1::zeros(rows),
        ..Default::default()
    }
}

fn main() {
    let mut threads = 1usize;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n >= 1)
                    .unwrap_or_else(|| {
                        eprintln!("--threads needs a positive integer");
                        std::process::exit(2)
                    })
            }
            "-h" | "--help" => {
                eprintln!("usage: bench_nn [--threads N]");
                return;
            }
            other => {
                eprintln!("unknown argument {other}; usage: bench_nn [--threads N]");
                std::process::exit(2)
            }
        }
    }
    rl::nn::set_num_threads(threads);
    let budget = Duration::from_millis(
        std::env::var("BENCH_NN_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1500),
    );

    let mut rng = Rng::seed_from_u64(0);
    let mut module = PPOModule::new(
        &PPOModuleConfig::new(4, ActionDistKind::Categorical, 2),
        &mut rng,
    )
    .expect("module");
    assert_eq!(module.params().num_scalars(), 134_915);

    // BENCH_NN_ONLY=b1|b8|mb128|mb512|learner128|learner512 runs one figure (for profiling); the others print 0.
    let only = std::env::var("BENCH_NN_ONLY").ok();
    let on = |k: &str| only.as_deref().is_none_or(|o| o == k);

    let mut forward = |rows: usize, rng: &mut Rng| {
        let obs = rl::nn::init::uniform(rows, 4, 2.0, rng);
        let (mut d, mut v) = (Array2::zeros((0, 0)), Array2::zeros((0, 0)));
        rate(budget, || {
            module.forward_dist_inputs_into(obs.view(), &mut d);
            module.forward_values_into(obs.view(), &mut v);
            std::hint::black_box((&d, &v));
        })
    };
    let forward_b1 = if on("b1") { forward(1, &mut rng) } else { 0.0 };
    let forward_b8 = if on("b8") { forward(8, &mut rng) } else { 0.0 };

    let hp = LossHyperparameters {
        entropy_coeff: 0.01,
        ..Default::default()
    };
    let update = |rows: usize, rng: &mut Rng| {
        let batch = random_batch(rows, rng);
        let mut m = module.clone();
        let mut tape = Tape::new();
        let mut grads = Grads::new(m.params());
        let mut adam = Adam::new(3e-4);
        let mut step = || {
            tape.reset();
            grads.zero();
            let out = ppo_loss(&mut tape, &m, &batch, &hp).expect("loss");
            tape.backward(out.total_loss, &mut grads);
            adam.step(m.params_mut(), &grads).expect("adam");
        };
        let r = rate(budget, &mut step);
        let a0 = ALLOCS.load(Ordering::Relaxed);
        step();
        let allocs = ALLOCS.load(Ordering::Relaxed) - a0;
        (r * rows as f64, allocs)
    };
    let (mb128, allocs128) = if on("mb128") {
        update(128, &mut rng)
    } else {
        (0.0, 0)
    };
    let (mb512, allocs512) = if on("mb512") {
        update(512, &mut rng)
    } else {
        (0.0, 0)
    };

    let learner_update = |rows: usize, rng: &mut Rng| {
        let batch = random_batch(rows, rng);
        let config = PPOConfig::new().training(|t| {
            t.train_batch_size(rows)
                .minibatch_size(rows)
                .num_epochs(1)
                .entropy_coeff(0.01)
        });
        let mut learner = PPOLearner::new(module.clone(), &config, 0).expect("a valid config");
        rate(budget, || {
            learner.update_from_batch(&batch, 0).expect("update");
        }) * rows as f64
    };
    let learner128 = if on("learner128") {
        learner_update(128, &mut rng)
    } else {
        0.0
    };
    let learner512 = if on("learner512") {
        learner_update(512, &mut rng)
    } else {
        0.0
    };

    let out = serde_json::json!({
        "forward_b1_per_s": forward_b1.round(),
        "forward_b8_per_s": forward_b8.round(),
        "update_mb128_samples_per_s": mb128.round(),
        "update_mb512_samples_per_s": mb512.round(),
        "learner_update_mb128_samples_per_s": learner128.round(),
        "learner_update_mb512_samples_per_s": learner512.round(),
        "threads": threads,
        "kernel_path": rl::nn::kernels::active_path().name(),
        // Heap allocations in one warmed-up update (rl-nn reuses its buffers: 0).
        "update_mb128_allocs": allocs128,
        "update_mb512_allocs": allocs512,
    });
    println!("{out}");
}
