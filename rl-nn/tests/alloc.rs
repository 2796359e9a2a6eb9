//! A warmed-up training step (reset, forward, loss, backward, Adam) and a warmed-up no-grad
//! forward allocate nothing (the products' packing buffers are reused too): checked with a
//! counting global allocator. This file holds a single test so no other test thread
//! allocates concurrently.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::Array2;
use rand::SeedableRng;
use rl_nn::distributions::ActionDistKind;
use rl_nn::{Activation, Adam, Grads, Init, Mlp, MlpConfig, ParamStore, Rng, Tape, Workspace};

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
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.load(Ordering::Relaxed)
}

#[test]
fn warmed_up_steps_do_not_allocate() {
    let mut rng = Rng::seed_from_u64(0);
    let mut store = ParamStore::new();
    let enc = MlpConfig {
        in_dim: 4,
        hidden: vec![64, 64],
        activation: Activation::Tanh,
        output_dim: Some(2),
        hidden_init: Init::TorchDefault,
        output_init: Init::TorchDefault,
    };
    let actor = Mlp::new(&mut store, "pi", &enc, &mut rng).unwrap();
    let critic = Mlp::new(
        &mut store,
        "vf",
        &MlpConfig {
            output_dim: Some(1),
            ..enc
        },
        &mut rng,
    )
    .unwrap();
    let mut grads = Grads::new(&store);
    let mut adam = Adam::new(1e-3);
    let mut tape = Tape::new();

    for rows in [1usize, 8, 128, 512] {
        let obs = rl_nn::init::uniform(rows, 4, 1.0, &mut rng);
        let actions = Array2::from_shape_fn((rows, 1), |(i, _)| (i % 2) as f32);
        let prev = rl_nn::init::uniform(rows, 2, 1.0, &mut rng);
        let targets = rl_nn::init::uniform(rows, 1, 1.0, &mut rng);
        let mask = Array2::from_shape_fn((rows, 1), |(i, _)| if i % 7 == 3 { 0.0 } else { 1.0 });
        let mut step = || {
            tape.reset();
            grads.zero();
            let x = tape.constant(obs.view());
            let logits = actor.forward(&mut tape, &store, x);
            let v = critic.forward(&mut tape, &store, x);
            let k = ActionDistKind::Categorical;
            let logp = k.logp_var(&mut tape, logits, actions.view()).unwrap();
            let kl = k.kl_var(&mut tape, prev.view(), logits).unwrap();
            let ent = k.entropy_var(&mut tape, logits).unwrap();
            let m = tape.constant(mask.view());
            let ratio = tape.exp(logp);
            let c = tape.clamp(ratio, 0.8, 1.2);
            let s = tape.minimum(ratio, c);
            let t = tape.constant(targets.view());
            let e = tape.sub(v, t);
            let e2 = tape.square(e);
            let a = tape.sub(e2, s);
            let a = tape.add(a, kl);
            let a = tape.sub(a, ent);
            let loss = tape.masked_mean(a, m);
            tape.backward(loss, &mut grads);
            adam.step(&mut store, &grads).unwrap();
        };
        step();
        step();
        let before = allocs();
        for _ in 0..5 {
            step();
        }
        let n = allocs() - before;
        assert_eq!(
            n, 0,
            "{n} allocations in 5 warmed-up training steps of {rows} rows"
        );

        let mut ws = Workspace::new();
        let mut out = Array2::zeros((0, 0));
        actor.forward_array(&store, obs.view(), &mut ws, &mut out);
        let before = allocs();
        for _ in 0..5 {
            actor.forward_array(&store, obs.view(), &mut ws, &mut out);
            critic.forward_array(&store, obs.view(), &mut ws, &mut out);
        }
        let n = allocs() - before;
        assert_eq!(
            n, 0,
            "{n} allocations in 10 warmed-up no-grad forwards of {rows} rows"
        );
    }
}
