//! DQN's learner guard: a NaN or infinite loss or gradient stops the update before the
//! optimizer step with a typed error, and leaves the weights, the target networks, the
//! optimizer and the target-update bookkeeping as they were.

use ndarray::{Array1, Array2};
use rand::{Rng as _, SeedableRng};
use rl_algos::dqn::learner::DQNLearner;
use rl_algos::dqn::module::{DQNModule, DQNModuleConfig};
use rl_algos::DQNConfig;
use rl_core::batch::Column;
use rl_core::learner::{columns, LearnerError, TrainBatch};
use rl_core::Rng;

fn batch(rows: usize, seed: u64) -> TrainBatch {
    let mut rng = Rng::seed_from_u64(seed);
    let mut u = |lo: f32, hi: f32| rng.gen_range(lo..hi);
    let mut b = TrainBatch {
        obs: Array2::from_shape_fn((rows, 4), |_| u(-1.0, 1.0)),
        actions: Array2::from_shape_fn((rows, 1), |_| if u(0.0, 1.0) < 0.5 { 0.0 } else { 1.0 }),
        rewards: Array1::from_shape_fn(rows, |_| u(0.0, 3.0)),
        terminateds: Array1::from_shape_fn(rows, |i| i % 7 == 0),
        truncateds: Array1::from_elem(rows, false),
        ..Default::default()
    };
    let next = Array2::from_shape_fn((rows, 4), |_| u(-1.0, 1.0));
    b.set_column(columns::NEXT_OBS, Column::Matrix(next));
    b.set_column(
        columns::WEIGHTS,
        Column::F32(Array1::from_shape_fn(rows, |_| u(0.2, 1.0))),
    );
    b.set_column(columns::N_STEP, Column::F32(Array1::from_elem(rows, 2.0)));
    b
}

fn learner() -> DQNLearner {
    let mcfg = DQNModuleConfig {
        hiddens: vec![16],
        head_hiddens: vec![8],
        ..DQNModuleConfig::new(4, 2)
    };
    let module = DQNModule::new(&mcfg, &mut Rng::seed_from_u64(1)).unwrap();
    // Target updates every 10 env steps with τ < 1, so a wrongly applied one would show.
    let config = DQNConfig::new().training(|t| t.target_network_update_freq(10).tau(0.5));
    DQNLearner::new(module, &config)
}

fn target_weights(l: &DQNLearner) -> Vec<f32> {
    let t = l.module().target_params().expect("target networks");
    t.iter().flat_map(|(_, _, v)| v.iter().copied()).collect()
}

#[test]
fn a_nan_reward_changes_nothing_and_the_learner_goes_on() {
    let mut l = learner();
    // One good update first, so that Adam has moments and the target was updated once.
    l.update(&batch(32, 2), 100).unwrap();
    let (weights, target) = (l.get_weights(), target_weights(&l));
    let (optimizer, bookkeeping) = (l.optimizer().clone(), l.target_state().clone());
    assert_eq!(bookkeeping.num_target_updates, 1);

    let mut bad = batch(32, 3);
    bad.rewards[5] = f32::NAN;
    let err = l.update(&bad, 200).unwrap_err();
    match &err {
        LearnerError::NonFinite { tensor, .. } => assert!(tensor.contains("total_loss"), "{err}"),
        other => panic!("expected NonFinite, got {other}"),
    }
    assert_eq!(l.get_weights(), weights);
    assert_eq!(
        target_weights(&l),
        target,
        "no target update after a refused step"
    );
    assert_eq!(l.optimizer().step, optimizer.step);
    assert_eq!(l.optimizer().m, optimizer.m);
    assert_eq!(l.optimizer().v, optimizer.v);
    assert_eq!(l.target_state(), &bookkeeping);

    // Still usable, and it gives what it would have given without the bad batch.
    let mut fresh = learner();
    fresh.update(&batch(32, 2), 100).unwrap();
    fresh.update(&batch(32, 4), 200).unwrap();
    l.update(&batch(32, 4), 200).unwrap();
    assert_eq!(l.get_weights(), fresh.get_weights());
    assert_eq!(target_weights(&l), target_weights(&fresh));
}

#[test]
fn an_infinite_observation_is_refused_the_same_way() {
    let mut l = learner();
    let weights = l.get_weights();
    let mut bad = batch(32, 5);
    bad.obs[[3, 1]] = f32::INFINITY;
    let err = l.update(&bad, 100).unwrap_err();
    assert!(matches!(err, LearnerError::NonFinite { .. }), "{err}");
    assert_eq!(l.get_weights(), weights);
    assert_eq!(l.target_state().num_target_updates, 0);
}
