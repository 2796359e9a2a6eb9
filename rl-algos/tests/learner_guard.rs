//! The learner guard: a NaN or infinite loss or gradient stops the update before the
//! optimizer step with a typed error naming the iteration, the minibatch and the tensor,
//! and leaves the weights, the optimizer and the RNG as they were before the update.

use ndarray::{Array1, Array2};
use rand::{Rng as _, SeedableRng};
use rl_algos::ppo::module::{PPOModule, PPOModuleConfig};
use rl_algos::ppo::PPOLearner;
use rl_algos::PPOConfig;
use rl_core::learner::{check_finite_update, LearnerError, TrainBatch};
use rl_core::Rng;
use rl_nn::{ActionDistKind, Grads, ParamStore};

fn batch(rows: usize, seed: u64) -> TrainBatch {
    let mut rng = Rng::seed_from_u64(seed);
    let mut u = |lo: f32, hi: f32| rng.gen_range(lo..hi);
    TrainBatch {
        obs: Array2::from_shape_fn((rows, 4), |_| u(-1.0, 1.0)),
        actions: Array2::from_shape_fn((rows, 1), |_| if u(0.0, 1.0) < 0.5 { 0.0 } else { 1.0 }),
        rewards: Array1::from_elem(rows, 1.0),
        terminateds: Array1::from_elem(rows, false),
        truncateds: Array1::from_elem(rows, false),
        action_logp: Array1::from_shape_fn(rows, |_| u(-1.5, -0.2)),
        action_dist_inputs: Array2::from_shape_fn((rows, 2), |_| u(-1.0, 1.0)),
        loss_mask: Array1::from_elem(rows, true),
        vf_preds: Array1::zeros(rows),
        advantages: Array1::from_shape_fn(rows, |_| u(-2.0, 2.0)),
        value_targets: Array1::from_shape_fn(rows, |_| u(-3.0, 3.0)),
        ..Default::default()
    }
}

fn learner() -> PPOLearner {
    let mut mcfg = PPOModuleConfig::new(4, ActionDistKind::Categorical, 2);
    mcfg.hiddens = vec![16];
    let module = PPOModule::new(&mcfg, &mut Rng::seed_from_u64(1)).unwrap();
    let config = PPOConfig::new().training(|t| {
        t.minibatch_size(32)
            .num_epochs(1)
            .shuffle_batch_per_epoch(false)
            .lr(1e-3)
    });
    PPOLearner::new(module, &config, 0).expect("the learner builds")
}

#[test]
fn a_nan_loss_in_a_later_minibatch_changes_nothing() {
    let mut l = learner();
    // One good update first, so that Adam has moments to keep.
    l.update_from_batch(&batch(64, 2), 0).unwrap();
    let weights = l.get_weights();
    let state = l.state();
    let kl = l.curr_kl_coeff();
    let mut bad = batch(64, 3);
    bad.advantages[40] = f32::NAN; // in the second minibatch (rows 32..64)
    let err = l.update_from_batch(&bad, 0).unwrap_err();
    match &err {
        LearnerError::NonFinite {
            minibatch, tensor, ..
        } => {
            assert_eq!(minibatch, &1, "{err}");
            assert!(tensor.contains("total_loss"), "{err}");
        }
        other => panic!("expected NonFinite, got {other}"),
    }
    assert!(err.to_string().contains("minibatch 1"), "{err}");
    // The first minibatch's step was rolled back: everything is as before the update.
    assert_eq!(l.get_weights(), weights);
    let after = l.state();
    assert_eq!(after.optimizer.step, state.optimizer.step);
    assert_eq!(after.optimizer.m, state.optimizer.m);
    assert_eq!(after.optimizer.v, state.optimizer.v);
    assert_eq!(after.rng, state.rng);
    assert_eq!(l.curr_kl_coeff(), kl);
    // The learner is still usable and gives what it would have given without the bad batch.
    let mut fresh = learner();
    fresh.update_from_batch(&batch(64, 2), 0).unwrap();
    fresh.update_from_batch(&batch(64, 4), 0).unwrap();
    l.update_from_batch(&batch(64, 4), 0).unwrap();
    assert_eq!(l.get_weights(), fresh.get_weights());
    // The driver adds the iteration.
    let err = err.in_iteration(7).to_string();
    assert!(err.contains("training iteration 7, minibatch 1"), "{err}");
}

#[test]
fn the_first_non_finite_gradient_is_named() {
    let mut store = ParamStore::new();
    store.add("pi.0.weight", Array2::zeros((2, 3))).unwrap();
    store.add("vf.0.bias", Array2::zeros((1, 4))).unwrap();
    let mut grads = Grads::new(&store);
    assert!(grads.first_non_finite().is_none());
    assert!(check_finite_update(0.5, &grads, &store, 3).is_ok());
    grads.values_mut()[1][[0, 2]] = f32::INFINITY;
    let nf = grads.first_non_finite().unwrap();
    assert_eq!(
        (nf.param.index(), nf.index, nf.value),
        (1, 2, f32::INFINITY)
    );
    let err = check_finite_update(0.5, &grads, &store, 3)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("gradient of vf.0.bias[2]") && err.contains("minibatch 3"),
        "{err}"
    );
    let err = check_finite_update(f32::NAN, &grads, &store, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("loss total_loss"), "{err}");
}
