//! Learning tests: PPO learns CartPole-v1 and Pendulum-v1 with the fast presets.
//! Run in release mode (`cargo test --release`); each takes a few seconds there.
//! The measured figures below come from `cargo run --release --example learning_thresholds
//! -- --seeds 10`.

use rl_algos::ppo::presets;
use rl_algos::{Algorithm, PPOConfig};
use rl_core::metrics::get_path;

/// Trains until an evaluation reaches `target` or `max_iterations` pass; returns the
/// evaluation returns seen.
fn evaluations(config: PPOConfig, max_iterations: usize, target: f64) -> Vec<f64> {
    let mut algo = config.build().expect("valid preset");
    let mut evals = Vec::new();
    for _ in 0..max_iterations {
        let r = algo.train().expect("training runs");
        if let Some(e) =
            get_path(&r, "evaluation/env_runners/episode_return_mean").and_then(|v| v.as_f64())
        {
            evals.push(e);
            if e >= target {
                break;
            }
        }
    }
    evals
}

#[test]
fn ppo_solves_cartpole_with_fast_preset() {
    // Greedy evaluation over 10 episodes reaches 475 (Gymnasium's "solved" threshold)
    // within 150 iterations of 256 steps (38k env steps); measured: iteration 60 (seed 0;
    // seeds 0–9: 20–100, median 55).
    let evals = evaluations(presets::cartpole_fast(0), 150, 475.0);
    assert!(
        evals.last().copied().unwrap_or(f64::NAN) >= 475.0,
        "evaluation returns never reached 475: {evals:?}"
    );
}

#[test]
fn ppo_learns_pendulum_continuous_actions() {
    // A random policy scores about −1200; a learned swing-up scores above −250 (good
    // policies −150). Measured (seeds 0, 1, 2): first ≥ −250 at iterations 130, 100, 130;
    // best −143, −89, −124 within 150 iterations (about 3 s each); seeds 0–9: 60–130,
    // median 90.
    let evals = evaluations(presets::pendulum_fast(0), 150, -250.0);
    let best = evals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        best >= -250.0,
        "Pendulum did not learn: evaluation returns {evals:?}"
    );
    assert!(
        evals[0] < -600.0,
        "the first evaluation should be poor: {evals:?}"
    );
}

#[test]
fn ppo_solves_cartpole_with_shared_encoder() {
    // `vf_share_layers = true`: one encoder feeds `pi` and `vf`, trained on one tape.
    // Measured: first evaluation ≥ 475 at iteration 120 (seed 0). The shared encoder learns
    // less reliably with this preset's hyperparameters: seeds 0–9 reach 475 within 150
    // iterations in 7 of 10 (90–150).
    let config = presets::cartpole_fast(0).rl_module(|m| m.vf_share_layers(true));
    let mut algo = config.clone().build().expect("valid config");
    assert_eq!(
        get_path(
            &algo.train().expect("training runs"),
            "learners/default_policy/num_trainable_parameters"
        )
        .and_then(|v| v.as_u64()),
        // 4·64+64 + 64·64+64 + 64·2+2 + 64+1: one encoder instead of two.
        Some(4_675)
    );
    let evals = evaluations(config, 150, 475.0);
    assert!(
        evals.last().copied().unwrap_or(f64::NAN) >= 475.0,
        "evaluation returns never reached 475 with a shared encoder: {evals:?}"
    );
}
