//! Learning: DQN with RLlib's tuned CartPole example (`presets::cartpole_tuned`: 1 env
//! runner, lr 5e-4, prioritized replay 50k / α 0.6 / β 0.4, n_step (2, 5), double +
//! dueling Q, ε 1.0 → 0.02 over 10k steps, [256] tanh encoder and heads) reaches a greedy
//! 10-episode evaluation return of 475 within 100k env steps, on the anchor's seeds 1, 2
//! and 3 — the whole protocol of `../shared/anchors/bench_rllib_dqn.py` and
//! `examples/cartpole_dqn.rs`, one test per seed. Run in release mode; measured (first
//! evaluation ≥ 475): iterations 55, 4 and 45 (RLlib 2.60's own runs: 37, 55, 73), about
//! 12, 1 and 10 s of CPU each.

use rl_algos::dqn::presets;
use rl_algos::Algorithm;
use rl_core::metrics::get_path;

/// The env steps sampled when the first evaluation reached 475, or `None` within 100k.
fn first_solved(seed: u64) -> (Option<u64>, Vec<f64>) {
    let mut algo = presets::cartpole_tuned(seed).build().expect("valid preset");
    let mut evals = Vec::new();
    loop {
        let r = algo.train().expect("training runs");
        let steps = get_path(&r, "num_env_steps_sampled_lifetime")
            .and_then(|v| v.as_u64())
            .expect("env steps");
        let eval = get_path(&r, "evaluation/env_runners/episode_return_mean")
            .and_then(|v| v.as_f64())
            .expect("an evaluation every iteration");
        evals.push(eval);
        if eval >= 475.0 {
            return (Some(steps), evals);
        }
        if steps >= 100_000 {
            return (None, evals);
        }
    }
}

fn solves(seed: u64) {
    let (steps, evals) = first_solved(seed);
    assert!(
        steps.is_some(),
        "seed {seed}: no greedy evaluation reached 475 within 100k env steps: {evals:?}"
    );
    assert!(
        evals[0] < 100.0,
        "seed {seed}: the first evaluation (1000 steps, mostly random) should be poor: {evals:?}"
    );
}

#[test]
fn dqn_tuned_example_solves_cartpole_seed_1() {
    solves(1);
}

#[test]
fn dqn_tuned_example_solves_cartpole_seed_2() {
    solves(2);
}

#[test]
fn dqn_tuned_example_solves_cartpole_seed_3() {
    solves(3);
}
