//! Same config and seed ⇒ identical results (timings aside), for 0, 1 and 2 env runners.

use rl_algos::{Algorithm, PPOConfig};
use rl_core::metrics::{flatten, ResultDict};
use serde_json::Value;

fn small(num_env_runners: usize, seed: u64) -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| {
            r.num_env_runners(num_env_runners)
                .num_envs_per_env_runner(2)
        })
        .training(|t| {
            t.train_batch_size(200)
                .lr(1e-3)
                .minibatch_size(64)
                .num_epochs(2)
        })
        .rl_module(|m| m.fcnet_hiddens(vec![32, 32]))
        .evaluation(|e| e.evaluation_interval(Some(2)).evaluation_duration(3))
        .debugging(Some(seed))
}

fn is_timing(key: &str) -> bool {
    key.starts_with("timers/")
        || key.contains("/timers/")
        || key.starts_with("time_")
        || key == "timestamp"
        || key.ends_with("_throughput")
}

fn metric_values(results: &[ResultDict]) -> Vec<Vec<(String, Value)>> {
    results
        .iter()
        .map(|r| {
            flatten(r)
                .into_iter()
                .filter(|(k, _)| !is_timing(k))
                .collect()
        })
        .collect()
}

fn run(config: PPOConfig, iterations: usize) -> Vec<ResultDict> {
    let mut algo = config.build().unwrap();
    (0..iterations).map(|_| algo.train().unwrap()).collect()
}

#[test]
fn same_seed_same_results_for_0_1_2_runners() {
    for runners in [0, 1, 2] {
        let a = metric_values(&run(small(runners, 3), 4));
        let b = metric_values(&run(small(runners, 3), 4));
        assert_eq!(a, b, "{runners} env runners: two runs differ");
        let keys: Vec<&str> = a[1].iter().map(|(k, _)| k.as_str()).collect();
        assert!(
            keys.contains(&"evaluation/env_runners/episode_return_mean"),
            "{keys:?}"
        );
        assert!(keys.contains(&"learners/default_policy/policy_loss"));
    }
}

#[test]
fn different_seeds_differ() {
    let a = metric_values(&run(small(2, 3), 2));
    let b = metric_values(&run(small(2, 4), 2));
    assert_ne!(a, b);
}
