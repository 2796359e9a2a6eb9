//! DQN through the shared driver: RLlib's result keys, determinism, bit-exact resume with
//! the replay buffer in the checkpoint and the documented behaviour without it, building
//! by name, policy export, and RLlib's exploration timestep.

use std::path::PathBuf;

use rl_algos::dqn::replay::ReplayBuffer;
use rl_algos::dqn::{DQNConfig, Epsilon, DQN};
use rl_algos::Algorithm;
use rl_core::algorithm::checkpoint::CheckpointReader;
use rl_core::algorithm::InferencePolicy;
use rl_core::algorithm::{algorithm_from_checkpoint, build_algorithm, default_config};
use rl_core::metrics::get_path;
use rl_core::replay::NStep;
use serde_json::{json, Value};

fn tmp_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("dqn-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A small DQN that trains from the second iteration: 200 env steps per iteration, 40
/// updates of 16 rows, n_step (2, 4), target updates every 100 steps, evaluation every 2.
fn config(store_buffer: bool) -> DQNConfig {
    DQNConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(1).num_envs_per_env_runner(2))
        .training(|t| {
            t.train_batch_size(16)
                .n_step(NStep::Range(2, 4))
                .num_steps_sampled_before_learning_starts(200)
                .target_network_update_freq(100)
                .epsilon(Epsilon::Schedule(vec![(0, 1.0), (1000, 0.1)]))
                .replay_buffer_config(
                    rl_algos::dqn::ReplayBufferConfig::PrioritizedEpisodeReplayBuffer {
                        capacity: 600,
                        alpha: 0.6,
                        beta: 0.4,
                    },
                )
                .store_buffer_in_checkpoints(store_buffer)
        })
        .rl_module(|m| m.fcnet_hiddens(vec![32]).head_fcnet_hiddens(vec![16]))
        .reporting(|r| r.min_sample_timesteps_per_iteration(200))
        .evaluation(|e| e.evaluation_interval(Some(2)).evaluation_duration(2))
        .debugging(Some(3))
}

/// Drops the keys that measure time (and `iterations_since_restore`).
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

fn train(algo: &mut DQN, n: usize) -> Vec<Value> {
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

/// The checkpoint files that hold no time (all but `algorithm_state.json`).
fn state_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let r = CheckpointReader::open(dir).unwrap();
    r.metadata()
        .files
        .keys()
        .filter(|k| k.as_str() != "algorithm_state.json")
        .map(|k| (k.clone(), r.read(k).unwrap()))
        .collect()
}

fn num(r: &Value, path: &str) -> f64 {
    let map = r.as_object().unwrap();
    get_path(map, path)
        .and_then(|v| v.as_f64())
        .unwrap_or_else(|| panic!("no {path} in {r}"))
}

#[test]
fn results_carry_rllibs_dqn_keys_and_runs_repeat() {
    let mut a = config(false).build().unwrap();
    let results = train(&mut a, 3);
    let first = &results[0];
    // Iteration 1 samples 200 steps and learns from its last step on (lifetime ≥ 200).
    assert_eq!(num(first, "num_env_steps_sampled_lifetime"), 200.0);
    // rollout_fragment_length "auto" is n_step's upper end: 4 steps × 2 envs per round.
    assert_eq!(num(first, "num_training_step_calls_per_iteration"), 25.0);
    assert_eq!(
        num(first, "learners/default_policy/num_module_steps_trained"),
        16.0,
        "one update, at the step that reached 200 sampled steps"
    );
    let third = &results[2];
    for key in [
        "qf_loss",
        "qf_mean",
        "qf_max",
        "qf_min",
        "td_error_mean",
        "total_loss",
        "num_target_updates",
        "last_target_update_ts",
        "gradients_default_optimizer_global_norm",
        "default_optimizer_learning_rate",
        "num_trainable_parameters",
        "num_module_steps_trained",
    ] {
        num(third, &format!("learners/default_policy/{key}"));
    }
    // 25 updates of 16 rows per iteration once learning runs.
    assert_eq!(
        num(third, "learners/default_policy/num_module_steps_trained"),
        400.0
    );
    // Target updates: every ≥ 100 sampled steps, i.e. every 13th round of 8.
    assert!(num(third, "learners/default_policy/num_target_updates") >= 4.0);
    assert_eq!(num(third, "replay_buffer/num_env_steps_stored"), 600.0);
    assert_eq!(
        num(third, "replay_buffer/num_env_steps_added_lifetime"),
        600.0
    );
    assert_eq!(num(third, "replay_buffer/num_env_steps_added"), 200.0);
    assert_eq!(num(third, "replay_buffer/num_env_steps_sampled"), 400.0);
    assert!(num(third, "replay_buffer/actual_n_step") >= 2.0);
    assert!(num(&results[1], "evaluation/env_runners/num_episodes") == 2.0);
    // Same config and seed, same results.
    let mut b = config(false).build().unwrap();
    assert_eq!(train(&mut b, 3), results);
    assert_eq!(
        bits(&a.learner().get_weights()),
        bits(&b.learner().get_weights())
    );
}

#[test]
fn resume_with_the_buffer_is_bit_exact() {
    let (n, m) = (3, 3);
    let root = tmp_dir("resume");
    let mut one_go = config(true).build().unwrap();
    let all = train(&mut one_go, n + m);

    let mut first = config(true).build().unwrap();
    assert_eq!(train(&mut first, n), all[..n]);
    let ckpt = first.save_to_path(root.join("ckpt")).unwrap();
    let reader = CheckpointReader::open(&ckpt).unwrap();
    assert!(reader.has("replay_buffer/buffer_state.json"));
    assert!(reader.has("learner/module/default_policy/target_weights.safetensors"));
    drop(first);

    let mut resumed = DQN::from_checkpoint(&ckpt).unwrap();
    assert_eq!(resumed.iteration(), n);
    let after = train(&mut resumed, m);
    for (i, (a, b)) in after.iter().zip(&all[n..]).enumerate() {
        assert_eq!(a, b, "iteration {} differs after resuming", n + i + 1);
    }
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

/// Without `store_buffer_in_checkpoints` the checkpoint holds no buffer: a restored run
/// starts from the saved weights, optimizer and counters with an empty buffer (as RLlib's
/// new stack always does), so it is deterministic but not the uninterrupted run.
#[test]
fn resume_without_the_buffer_starts_an_empty_one() {
    let root = tmp_dir("resume-nobuf");
    let mut one_go = config(false).build().unwrap();
    let all = train(&mut one_go, 4);
    let mut first = config(false).build().unwrap();
    train(&mut first, 2);
    let ckpt = first.save_to_path(root.join("ckpt")).unwrap();
    assert!(!CheckpointReader::open(&ckpt)
        .unwrap()
        .has("replay_buffer/buffer_state.json"));

    let mut resumed = DQN::from_checkpoint(&ckpt).unwrap();
    let after = train(&mut resumed, 2);
    assert_eq!(
        num(&after[0], "replay_buffer/num_env_steps_stored"),
        200.0,
        "the buffer holds only what was sampled since the restore"
    );
    assert_eq!(num(&all[2], "replay_buffer/num_env_steps_stored"), 600.0);
    assert_eq!(
        num(
            &after[0],
            "learners/default_policy/num_module_steps_trained"
        ),
        num(&all[2], "learners/default_policy/num_module_steps_trained"),
        "learning goes on at once (the run is past num_steps_sampled_before_learning_starts)"
    );
    assert!(
        num(&after[0], "learners/default_policy/num_target_updates")
            >= num(&all[1], "learners/default_policy/num_target_updates"),
        "the target-update count continues"
    );
    assert_ne!(after, all[2..], "other replay data, other updates");
    let mut again = DQN::from_checkpoint(&ckpt).unwrap();
    assert_eq!(train(&mut again, 2), after, "and still deterministic");

    // A live algorithm that restores a checkpoint without a buffer keeps its own (as RLlib's
    // new stack, whose checkpoints never hold one).
    let mut live = config(false).build().unwrap();
    train(&mut live, 3);
    live.restore_from_path(&ckpt).unwrap();
    let stored = match live.logic().replay_buffer() {
        ReplayBuffer::Prioritized(b) => b.len(),
        ReplayBuffer::Uniform(b) => b.len(),
    };
    assert_eq!(stored, 600);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn dqn_by_name_trains_saves_and_exports_a_greedy_policy() {
    rl_algos::register_builtins();
    let defaults = default_config("DQN").unwrap();
    assert_eq!(defaults["lr"], json!(5e-4), "RLlib's DQN default lr");
    assert_eq!(defaults["replay_buffer_config"]["capacity"], json!(50000));
    let config = json!({
        "env": "CartPole-v1",
        "train_batch_size": 8,
        "num_steps_sampled_before_learning_starts": 50,
        "min_sample_timesteps_per_iteration": 100,
        "model_config": {"fcnet_hiddens": [8], "head_fcnet_hiddens": [8]},
        "replay_buffer_config": {"capacity": 500},
        "n_step": [2, 4],
        "seed": 5,
    });
    let mut algo = build_algorithm("DQN", &config).unwrap();
    assert_eq!(algo.name(), "DQN");
    algo.train().unwrap();
    let dir = tmp_dir("registry");
    algo.save_to_path(&dir).unwrap();
    let mut loaded = algorithm_from_checkpoint(&dir).unwrap();
    assert_eq!((loaded.name(), loaded.iteration()), ("DQN", 1));
    // store_buffer_in_checkpoints defaults to false: the loaded algorithm continues from
    // the saved weights with an empty buffer.
    algo.train().unwrap();
    let b = loaded.train().unwrap();
    assert_eq!(b["training_iteration"], json!(2));
    assert_eq!(b["replay_buffer"]["num_env_steps_stored"], json!(100));
    // The exported policy acts greedily on the online network's Q-values.
    let mut policy = InferencePolicy::from_checkpoint(&dir).unwrap();
    let obs = rl_core::env::Value::Box(vec![0.01, -0.02, 0.03, 0.04]);
    let action = policy.compute_single_action(&obs, false).unwrap();
    assert!(matches!(action, rl_core::env::Value::Discrete(0 | 1)));
    for _ in 0..5 {
        assert_eq!(
            policy.compute_single_action(&obs, false).unwrap(),
            action,
            "greedy"
        );
    }
    let e = build_algorithm("DQN", &json!({"env": "CartPole-v1", "num_epochs": 3}))
        .err()
        .unwrap();
    assert!(e.to_string().contains("one gradient step"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
