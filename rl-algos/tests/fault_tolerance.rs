//! Env runner fault tolerance with RLlib's settings, driven by an env that fails on
//! purpose (`rl_core::testing::fault_env`): panics, errors, NaN observations and rewards
//! and hangs past `sample_timeout_s` are survived by rebuilding the runner; the broken
//! episodes never reach the learner; every iteration still gets `train_batch_size` steps;
//! a run with the same seed and the same faults is identical; evaluation runners recover
//! too; an evaluation whose episodes never end is an error instead of a hang.
//!
//! Env instances are numbered in the order they are built: 0 is the probe `PPO::new`
//! builds for the spaces, 1 and 2 the two training runners' envs, then the evaluation
//! runners' (when configured), then the envs of rebuilt runners.

use std::time::{Duration, Instant};

use rl_algos::{Algorithm, PPOConfig};
use rl_core::metrics::{get_path, ResultDict};
use rl_core::testing::fault_env::{register_fault_env, Fault, FaultEnvSpec, FaultKind};
use serde_json::Value;

mod common;
use common::strip_timings;

fn config(env: &str) -> PPOConfig {
    PPOConfig::new()
        .environment(env)
        .env_runners(|r| r.num_env_runners(2))
        .training(|t| t.train_batch_size(64).minibatch_size(32).num_epochs(1))
        .rl_module(|m| m.fcnet_hiddens(vec![8]))
        .debugging(Some(3))
}

fn fault(instance: usize, at_step: u64, kind: FaultKind) -> Fault {
    Fault {
        instance,
        at_step,
        kind,
    }
}

fn register(name: &str, episode_len: Option<u64>, faults: Vec<Fault>) {
    register_fault_env(
        name,
        FaultEnvSpec {
            episode_len,
            faults,
        },
        None,
    );
}

fn num(r: &ResultDict, path: &str) -> f64 {
    get_path(r, path)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("no number at {path}"))
}

/// Trains `iterations` iterations; returns the results (timings stripped) and the weights.
fn run(config: &PPOConfig, iterations: usize) -> (Vec<Value>, Vec<f32>) {
    let mut algo = config.build().unwrap();
    let mut results = Vec::new();
    for _ in 0..iterations {
        let r = algo.train().unwrap();
        assert!(
            num(&r, "env_runners/num_env_steps_sampled") >= 64.0,
            "an iteration got fewer than train_batch_size steps: {r:?}"
        );
        let mut v = Value::Object(r);
        strip_timings(&mut v);
        results.push(v);
    }
    (results, algo.learner().get_weights())
}

#[test]
fn every_fault_kind_is_survived_deterministically() {
    let kinds = [
        ("panic", FaultKind::Panic),
        ("error", FaultKind::Error),
        ("nan-obs", FaultKind::NanObs),
        ("nan-reward", FaultKind::NanReward),
        ("hang", FaultKind::Hang(Duration::from_millis(400))),
    ];
    for (label, kind) in kinds {
        let mut runs = Vec::new();
        for attempt in 0..2 {
            let name = format!("FaultKind-{label}-{attempt}-v0");
            // Runner 0 (instance 1) fails in its second sample call (iteration 2).
            register(&name, Some(30), vec![fault(1, 40, kind)]);
            let mut c = config(&name);
            c.base.sample_timeout_s = Some(0.15);
            runs.push(run(&c, 3));
        }
        let (results, weights) = &runs[0];
        let restarts: Vec<f64> = results
            .iter()
            .map(|r| {
                num(
                    r.as_object().unwrap(),
                    "fault_tolerance/num_remote_worker_restarts",
                )
            })
            .collect();
        assert_eq!(restarts, [0.0, 1.0, 1.0], "{label}");
        for r in results {
            assert_eq!(
                num(
                    r.as_object().unwrap(),
                    "fault_tolerance/num_healthy_workers"
                ),
                2.0,
                "{label}"
            );
        }
        // The failed call's data was dropped and the driver sampled again: 64 + 32 steps.
        assert_eq!(
            num(
                results[1].as_object().unwrap(),
                "env_runners/num_env_steps_sampled"
            ),
            96.0,
            "{label}"
        );
        assert!(weights.iter().all(|w| w.is_finite()), "{label}");
        assert_eq!(
            &runs[1].0, results,
            "{label}: same seed, same faults, same results"
        );
        assert_eq!(&runs[1].1, weights, "{label}");
    }
}

#[test]
fn the_broken_episode_is_dropped() {
    register(
        "FaultDrop-v0",
        Some(1000),
        vec![fault(1, 10, FaultKind::NanObs)],
    );
    let mut algo = config("FaultDrop-v0").build().unwrap();
    let out = algo.env_runners_mut().sample(32).unwrap();
    // Runner 0's call failed: only runner 1's 32 steps came back, all finite.
    assert_eq!(out.env_steps, 32);
    assert!(out.episodes.iter().all(|e| e
        .observations
        .iter()
        .chain(&e.rewards)
        .all(|x| x.is_finite())));
    assert_eq!(algo.env_runners().num_remote_worker_restarts(), 1);
    let out = algo.env_runners_mut().sample(32).unwrap();
    assert_eq!(out.env_steps, 64, "the rebuilt runner samples again");
}

#[test]
fn without_fault_tolerance_the_error_names_the_env() {
    register(
        "FaultStrict-v0",
        Some(30),
        vec![fault(2, 5, FaultKind::NanReward)],
    );
    let mut c = config("FaultStrict-v0");
    c.base.restart_failed_env_runners = false;
    let err = c.build().unwrap().train().unwrap_err().to_string();
    assert!(
        err.contains("FaultStrict-v0") && err.contains("non-finite reward"),
        "{err}"
    );
}

#[test]
fn ignored_failures_leave_the_other_runners_working() {
    register(
        "FaultIgnore-v0",
        Some(30),
        vec![fault(1, 5, FaultKind::Panic)],
    );
    let mut c = config("FaultIgnore-v0");
    c.base.restart_failed_env_runners = false;
    c.base.ignore_env_runner_failures = true;
    let mut algo = c.build().unwrap();
    for _ in 0..2 {
        let r = algo.train().unwrap();
        assert_eq!(num(&r, "fault_tolerance/num_healthy_workers"), 1.0);
        assert_eq!(num(&r, "fault_tolerance/num_remote_worker_restarts"), 0.0);
        assert!(num(&r, "env_runners/num_env_steps_sampled") >= 64.0);
    }
}

#[test]
fn restart_budget_and_failure_tolerance_end_the_run() {
    // Every env instance fails at its first step.
    let every: Vec<Fault> = (0..200).map(|i| fault(i, 1, FaultKind::Error)).collect();
    register("FaultAlways-v0", Some(30), every.clone());
    let mut c = config("FaultAlways-v0");
    c.base.num_consecutive_env_runner_failures_tolerance = 3;
    let err = c.build().unwrap().train().unwrap_err().to_string();
    assert!(err.contains("4 consecutive sample calls"), "{err}");

    register("FaultBudget-v0", Some(30), every);
    let mut c = config("FaultBudget-v0");
    c.base.max_num_env_runner_restarts = 2;
    let err = c.build().unwrap().train().unwrap_err().to_string();
    assert!(err.contains("no healthy env runner"), "{err}");
}

#[test]
fn evaluation_runners_recover_too() {
    // Instance 3 is the evaluation runner's env.
    register(
        "FaultEval-v0",
        Some(20),
        vec![fault(3, 30, FaultKind::Panic)],
    );
    let mut c = config("FaultEval-v0");
    c.base.evaluation_interval = Some(1);
    c.base.evaluation_num_env_runners = 1;
    c.base.evaluation_duration = 4;
    let mut algo = c.build().unwrap();
    let r = algo.train().unwrap();
    assert_eq!(num(&r, "evaluation/env_runners/num_episodes"), 4.0);
    assert_eq!(num(&r, "evaluation/env_runners/episode_len_mean"), 20.0);
}

#[test]
fn an_evaluation_that_never_ends_is_an_error_not_a_hang() {
    register("FaultEndless-v0", None, Vec::new());
    let mut c = config("FaultEndless-v0");
    c.base.evaluation_sample_timeout_s = Some(0.3);
    let mut algo = c.build().unwrap();
    let t = Instant::now();
    let err = algo.evaluate().unwrap_err().to_string();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(
        err.contains("FaultEndless-v0")
            && err.contains("no episode ended")
            && err.contains("env steps"),
        "{err}"
    );
    // Training by fragments is fine: episodes are cut, not awaited.
    assert!(algo.train().is_ok());

    // The same env registered with a time limit (Gymnasium's max_episode_steps) evaluates.
    register_fault_env("FaultLimited-v0", FaultEnvSpec::default(), Some(25));
    let mut algo = config("FaultLimited-v0").build().unwrap();
    let r = algo.evaluate().unwrap();
    assert_eq!(num(&r, "env_runners/episode_len_mean"), 25.0);
}
