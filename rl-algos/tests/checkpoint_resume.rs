//! Resume is bit-exact: train N iterations, save, restore into a fresh algorithm, train M
//! more — every result equals (timings aside) the one of N + M iterations in one go, and so
//! do the final weights, optimizer state and env runner states. With 0 and with 2 env
//! runners, evaluation on, observation filter and schedules included.

use std::path::PathBuf;

use rl_algos::{Algorithm, PPOConfig, PPO};
use rl_core::algorithm::checkpoint::{list_checkpoints, CheckpointReader};
use serde_json::Value;

mod common;
use common::state_files;

fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rl-ckpt-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn config(num_env_runners: usize) -> PPOConfig {
    let c = PPOConfig::new()
        .environment("CartPole-v1")
        .training(|t| {
            t.train_batch_size(200)
                .minibatch_size(64)
                .num_epochs(2)
                .lr(3e-4)
        })
        .rl_module(|m| m.fcnet_hiddens(vec![32, 32]))
        .evaluation(|e| e.evaluation_interval(Some(2)).evaluation_duration(2))
        .debugging(Some(11));
    if num_env_runners == 0 {
        c.env_runners(|r| r.num_env_runners(0).num_envs_per_env_runner(1))
    } else {
        // Threads, several envs per runner, the observation filter, schedules and
        // threaded evaluation runners: every piece of state that must survive.
        c.env_runners(|r| {
            r.num_env_runners(num_env_runners)
                .num_envs_per_env_runner(2)
                .observation_filter("MeanStdFilter")
        })
        .training(|t| {
            t.lr_schedule(Some(vec![(0, 5e-4), (2_000, 1e-4)]))
                .entropy_coeff_schedule(Some(vec![(0, 0.01), (2_000, 0.0)]))
        })
        .evaluation(|e| e.evaluation_num_env_runners(2))
    }
}

/// Drops the keys that measure time (and `iterations_since_restore`, which RLlib resets on
/// restore).
fn strip(v: &mut Value) {
    if let Value::Object(map) = v {
        map.retain(|k, _| {
            !(k == "timers"
                || k.starts_with("time_")
                || k == "timestamp"
                || k.ends_with("_throughput")
                || k == "iterations_since_restore")
        });
        map.values_mut().for_each(strip);
    }
}

fn train(algo: &mut PPO, n: usize) -> Vec<Value> {
    (0..n)
        .map(|_| {
            let mut r = Value::Object(algo.train().unwrap());
            strip(&mut r);
            r
        })
        .collect()
}

fn bits(w: &[f32]) -> Vec<u32> {
    w.iter().map(|x| x.to_bits()).collect()
}

fn resume_equals_one_go(num_env_runners: usize) {
    let (n, m) = (3, 3);
    let root = tmp_dir(&format!("r{num_env_runners}"));

    let mut one_go = config(num_env_runners).build().unwrap();
    let all = train(&mut one_go, n + m);
    assert!(
        all[1].get("evaluation").is_some(),
        "evaluation runs every 2 iterations"
    );

    let mut first = config(num_env_runners).build().unwrap();
    let before = train(&mut first, n);
    assert_eq!(
        before,
        all[..n],
        "same config and seed give the same results"
    );
    let ckpt = first.save_to_path(root.join("ckpt")).unwrap();
    drop(first);

    let mut resumed = PPO::from_checkpoint(&ckpt).unwrap();
    assert_eq!(resumed.iteration(), n);
    let after = train(&mut resumed, m);
    for (i, (a, b)) in after.iter().zip(&all[n..]).enumerate() {
        assert_eq!(a, b, "iteration {} differs after resuming", n + i + 1);
    }
    assert_eq!(
        bits(&resumed.learner().get_weights()),
        bits(&one_go.learner().get_weights())
    );
    // Every state (weights, Adam, RNGs, envs, running episodes, filters) is identical.
    let a = one_go.save_to_path(root.join("a")).unwrap();
    let b = resumed.save_to_path(root.join("b")).unwrap();
    let (fa, fb) = (state_files(&a), state_files(&b));
    assert_eq!(fa.len(), fb.len());
    for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs between one go and resumed");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn resume_is_bit_exact_with_0_env_runners() {
    resume_equals_one_go(0);
}

#[test]
fn resume_is_bit_exact_with_2_env_runners() {
    resume_equals_one_go(2);
}

/// `restore_from_path` into an algorithm that has trained on its own: its state is
/// replaced by the checkpoint's, and training continues as the saved one would.
#[test]
fn restore_from_path_replaces_the_state() {
    let root = tmp_dir("restore");
    let mut saved = config(0).build().unwrap();
    train(&mut saved, 2);
    let ckpt = saved.save_to_path(root.join("ckpt")).unwrap();
    let expected = train(&mut saved, 2);

    let mut other = config(0).debugging(Some(99)).build().unwrap();
    train(&mut other, 1);
    other.restore_from_path(&ckpt).unwrap();
    assert_eq!(other.iteration(), 2);
    assert_eq!(train(&mut other, 2), expected);
    let _ = std::fs::remove_dir_all(&root);
}

/// `checkpoint_frequency`, `num_checkpoints_to_keep` and `checkpoint_at_end` with a run
/// that logs to an output directory.
#[test]
fn periodic_and_final_checkpoints_keep_the_last_k() {
    let root = tmp_dir("trial");
    let mut algo = config(0)
        .evaluation(|e| e.evaluation_interval(None))
        .checkpointing(2, true, Some(2))
        .build()
        .unwrap();
    algo.log_to(&root).unwrap();
    train(&mut algo, 5);
    // Iterations 2 and 4 saved checkpoint_000000 and checkpoint_000001.
    let listed: Vec<usize> = list_checkpoints(&root)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    assert_eq!(listed, vec![0, 1]);
    let end = algo.stop().unwrap().expect("checkpoint_at_end");
    assert_eq!(end, root.join("checkpoint_000002"));
    let listed: Vec<usize> = list_checkpoints(&root)
        .into_iter()
        .map(|(i, _)| i)
        .collect();
    assert_eq!(listed, vec![1, 2], "only the last 2 are kept");
    let meta = CheckpointReader::open(&end).unwrap().metadata().clone();
    assert_eq!(meta.training_iteration, 5);
    // Stopping again does not save a duplicate.
    assert_eq!(algo.stop().unwrap(), Some(end.clone()));
    assert_eq!(list_checkpoints(&root).len(), 2);
    // The trial files are still there.
    assert!(root.join("result.json").is_file());
    let resumed = PPO::from_checkpoint(&end).unwrap();
    assert_eq!(resumed.iteration(), 5);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn checkpoint_at_end_without_output_dir_is_a_clear_error() {
    let mut algo = config(0)
        .evaluation(|e| e.evaluation_interval(None))
        .checkpointing(0, true, None)
        .build()
        .unwrap();
    let e = algo.stop().unwrap_err().to_string();
    assert!(e.contains("log_to"), "{e}");
}
