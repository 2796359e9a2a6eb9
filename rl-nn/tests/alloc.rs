//! A warmed-up training step (reset, forward, loss, backward, Adam) and a warmed-up no-grad
//! forward allocate nothing (the products' packing buffers are reused too): checked with a
//! counting global allocator. This file holds a single test so no other test thread
//! allocates concurrently.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::Array2;
use rand::SeedableRng;
use rl_nn::{Adam, Grads, ParamStore, Rng, Tape, Workspace};

mod common;

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
    let (actor, critic) = common::actor_critic(&mut store, &[64, 64], &mut rng);
    let mut grads = Grads::new(&store);
    let mut adam = Adam::new(1e-3);
    let mut tape = Tape::new();

    for rows in [1usize, 8, 128, 512] {
        let batch = common::LossBatch::random(rows, &mut rng);
        let obs = &batch.obs;
        let mut step = || {
            tape.reset();
            grads.zero();
            let (_, loss) = common::ppo_shaped_loss(&mut tape, &store, (&actor, &critic), &batch);
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
