//! Every kernel path this CPU can run (plain Rust, AVX2, AVX-512), and 1 or 2 threads, gives
//! bit-identical products, forwards, gradients and Adam steps on the seed run's model
//! (actor and critic MLPs 4→256→256→{2, 1}, tanh) at acting and minibatch sizes.
//!
//! One test in this file: the kernel path is process-wide, forced with
//! `rl_nn::kernels::force_path`.

use ndarray::Array2;
use rand::SeedableRng;
use rl_nn::kernels::{self, KernelPath};
use rl_nn::{Adam, Grads, ParamStore, Rng, Tape, Workspace};

mod common;

/// Appends the bits of `xs` to `out`.
fn push(out: &mut Vec<u32>, xs: impl IntoIterator<Item = f32>) {
    out.extend(xs.into_iter().map(f32::to_bits));
}

/// Everything the kernels compute on the seed model, as bits.
fn fingerprint() -> Vec<u32> {
    let mut out = Vec::new();
    let mut rng = Rng::seed_from_u64(7);
    let mut store = ParamStore::new();
    let (actor, critic) = common::actor_critic(&mut store, &[256, 256], &mut rng);

    // Acting: the no-grad forwards at the batch sizes env runners use, and just past the
    // small-batch kernels.
    let (mut ws, mut y) = (Workspace::new(), Array2::zeros((0, 0)));
    for rows in [1, 2, 5, 8, 16, 17, 33] {
        let obs = rl_nn::init::uniform(rows, 4, 2.0, &mut rng);
        actor.forward_array(&store, obs.view(), &mut ws, &mut y);
        push(&mut out, y.iter().copied());
        critic.forward_array(&store, obs.view(), &mut ws, &mut y);
        push(&mut out, y.iter().copied());
    }

    // Learning: a PPO-shaped loss, backward and Adam at minibatch sizes (their 256-wide
    // products are large enough to run on two threads).
    let mut grads = Grads::new(&store);
    let mut adam = Adam::new(3e-4);
    let mut tape = Tape::new();
    for rows in [128, 300] {
        let batch = common::LossBatch::random(rows, &mut rng);
        tape.reset();
        grads.zero();
        let (logits, loss) = common::ppo_shaped_loss(&mut tape, &store, (&actor, &critic), &batch);
        tape.backward(loss, &mut grads);
        push(&mut out, [tape.scalar(loss)]);
        push(&mut out, tape.value(logits).iter().copied());
        for g in grads.values() {
            push(&mut out, g.iter().copied());
        }
        push(&mut out, [rl_nn::clip_grad_norm(&mut grads, 0.5)]);
        adam.step(&mut store, &grads).unwrap();
    }
    for (_, _, p) in store.iter() {
        push(&mut out, p.iter().copied());
    }

    // A plain product with odd sizes (both orientations, several K blocks).
    let a = rl_nn::init::uniform(37, 300, 1.0, &mut rng);
    let b = rl_nn::init::uniform(300, 70, 1.0, &mut rng);
    tape.reset();
    let (av, bv) = (tape.constant(a.view()), tape.constant(b.view()));
    let c = tape.matmul(av, bv);
    push(&mut out, tape.value(c).iter().copied());
    out
}

#[test]
fn every_kernel_path_and_thread_count_gives_the_same_bits() {
    let paths = kernels::available_paths();
    let mut runs: Vec<(String, Vec<u32>)> = Vec::new();
    for &path in &paths {
        // The plain-Rust path is slow on x86-64 (scalar); its threads split the same way.
        let threads: &[usize] = if path == KernelPath::Portable {
            &[1]
        } else {
            &[1, 2]
        };
        for &threads in threads {
            kernels::force_path(Some(path)).unwrap();
            rl_nn::set_num_threads(threads);
            runs.push((format!("{path}, {threads} thread(s)"), fingerprint()));
        }
    }
    kernels::force_path(None).unwrap();
    rl_nn::set_num_threads(1);
    println!(
        "compared {} ({} values each)",
        runs.iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join("; "),
        runs[0].1.len()
    );
    let (first, want) = &runs[0];
    for (name, got) in &runs[1..] {
        let diff = got.iter().zip(want).position(|(a, b)| a != b);
        assert!(
            got.len() == want.len() && diff.is_none(),
            "{name} differs from {first} (first at value {diff:?} of {})",
            want.len()
        );
    }
    // On x86-64 with AVX2 this compared more than one implementation.
    if KernelPath::Avx2.is_available() {
        assert!(paths.len() >= 2);
    }
}
