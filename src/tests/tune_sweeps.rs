//! Sweeps of tiny PPO configs (seconds each): results independent of concurrency and
//! timing, failures retried from checkpoints, a sweep killed with SIGKILL and resumed
//! ending as an uninterrupted one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rl::algos::PPOConfig;
use rl::core::algorithm::{
    register_algorithm, Algorithm, AlgorithmError, AlgorithmRegistration, ConfigError,
};
use rl::core::metrics::{ResultDict, ResultLogger};
use rl::tune::{
    grid_search, loguniform, AsyncHyperBandScheduler, CheckpointConfig, FailureConfig, Mode,
    ParamSpace, PopulationBasedTraining, ResultGrid, RunConfig, Stop, TrialStatus, TuneConfig,
    Tuner,
};
use serde_json::{json, Value};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rl-tune-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn tiny(runners: usize, batch: usize, hidden: usize) -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(runners))
        .training(|t| {
            t.train_batch_size(batch)
                .minibatch_size(64)
                .num_epochs(2)
                .lr(1e-3)
        })
        .rl_module(|m| m.fcnet_hiddens(vec![hidden]))
        .evaluation(|e| e.evaluation_interval(Some(3)).evaluation_duration(2))
}

/// A result without the keys that measure wall-clock time (or restarts).
fn strip_timing(r: &ResultDict) -> Value {
    fn walk(v: &Value) -> Value {
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .filter(|(k, _)| {
                        !(k.as_str() == "timers"
                            || k.starts_with("time_")
                            || k.as_str() == "timestamp"
                            || k.as_str() == "iterations_since_restore"
                            || k.ends_with("_throughput"))
                    })
                    .map(|(k, v)| (k.clone(), walk(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    walk(&Value::Object(r.clone()))
}

/// Each trial's status, config and every result (timing stripped), in trial order.
fn fingerprint(g: &ResultGrid) -> Vec<(TrialStatus, Value, Vec<Value>)> {
    g.iter()
        .map(|r| {
            (
                r.status,
                r.config.clone(),
                r.results.iter().map(strip_timing).collect(),
            )
        })
        .collect()
}

/// Asserts two sweeps ended the same, naming the first difference.
fn assert_same(a: &ResultGrid, b: &ResultGrid) {
    let (fa, fb) = (fingerprint(a), fingerprint(b));
    let summary = |f: &[(TrialStatus, Value, Vec<Value>)]| -> Vec<(TrialStatus, usize)> {
        f.iter().map(|x| (x.0, x.2.len())).collect()
    };
    eprintln!("sweep a: {:?}\nsweep b: {:?}", summary(&fa), summary(&fb));
    assert_eq!(fa.len(), fb.len(), "trial counts");
    for (i, (x, y)) in fa.iter().zip(&fb).enumerate() {
        assert_eq!(x.0, y.0, "trial {i}: status");
        let flat = |v: &Value| rl::core::metrics::flatten(v.as_object().unwrap());
        for (k, (va, vb)) in flat(&x.1).iter().zip(flat(&y.1)).enumerate() {
            assert_eq!(*va, vb, "trial {i}: config entry {k}");
        }
        assert_eq!(x.2.len(), y.2.len(), "trial {i}: number of results");
        for (it, (ra, rb)) in x.2.iter().zip(&y.2).enumerate() {
            if ra != rb {
                let (fa, fb) = (flat(ra), flat(rb));
                let diff = fa.iter().zip(&fb).find(|(p, q)| p != q);
                panic!("trial {i}, result {}: first difference {diff:?}", it + 1);
            }
        }
    }
}

fn quiet(dir: &Path, name: &str) -> RunConfig {
    RunConfig::new().storage_path(dir).name(name).verbose(0)
}

#[test]
fn results_do_not_depend_on_concurrency_or_threads() {
    let dir = tmp("determinism");
    let space = ParamSpace::from_config(&tiny(2, 256, 16))
        .unwrap()
        .set("minibatch_size", grid_search([32, 64, 128]));
    let run = |name: &str, concurrent: usize, threads: usize| {
        Tuner::new("PPO", space.clone())
            .tune_config(
                TuneConfig::new()
                    .max_concurrent_trials(concurrent)
                    .num_cpus(9)
                    .num_threads(threads)
                    .seed(11),
            )
            .run_config(quiet(&dir, name).stop(Stop::iterations(6)))
            .fit()
            .unwrap()
    };
    let one = run("one", 1, 1);
    let three = run("three", 3, 2);
    assert_eq!(one.len(), 3);
    assert_eq!(one.num_terminated(), 3);
    assert_eq!(fingerprint(&one), fingerprint(&three));
    // Trials are seeded apart: the same config with another seed would differ, and does.
    let seeds: BTreeSet<u64> = one
        .iter()
        .map(|r| r.config["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(seeds.len(), 3);
    // Tune's files: params.json, result.json, progress.csv with evaluation columns.
    let t0 = &one[0];
    let csv = std::fs::read_to_string(t0.path.join("progress.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("evaluation/env_runners/episode_return_mean"));
    assert_eq!(csv.lines().count(), 7);
    let params: Value =
        serde_json::from_str(&std::fs::read_to_string(t0.path.join("params.json")).unwrap())
            .unwrap();
    assert_eq!(params["minibatch_size"], json!(32));
    let name = t0.path.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("PPO_CartPole-v1_") && name.ends_with("_00000_0_minibatch_size=32"),
        "{name}"
    );
    // Every trial writes one TensorBoard event file beside result.json, with Tune's tags
    // (the encoding itself is checked in tensorboard_events.rs).
    for r in one.iter() {
        let events: Vec<PathBuf> = std::fs::read_dir(&r.path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("events.out.tfevents.")
            })
            .collect();
        assert_eq!(events.len(), 1, "{}", r.path.display());
        let bytes = std::fs::read(&events[0]).unwrap();
        for tag in [
            "ray/tune/env_runners/episode_return_mean",
            "ray/tune/evaluation/env_runners/episode_return_mean",
            "ray/tune/num_env_steps_sampled_lifetime",
        ] {
            assert!(
                bytes.windows(tag.len()).any(|w| w == tag.as_bytes()),
                "{tag} in {}",
                events[0].display()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn asha_and_pbt_decide_the_same_whatever_the_concurrency() {
    let dir = tmp("schedulers");
    let space = ParamSpace::from_config(&tiny(0, 200, 16))
        .unwrap()
        .set("lr", grid_search([3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5]));
    let metric = "env_runners/episode_return_mean";
    let asha = |name: &str, concurrent: usize| {
        Tuner::new("PPO", space.clone())
            .tune_config(
                TuneConfig::new()
                    .metric(metric, Mode::Max)
                    .max_concurrent_trials(concurrent)
                    .num_cpus(6)
                    .scheduler(
                        AsyncHyperBandScheduler::new()
                            .max_t(8.0)
                            .grace_period(2.0)
                            .reduction_factor(2.0),
                    ),
            )
            .run_config(quiet(&dir, name))
            .fit()
            .unwrap()
    };
    let a1 = asha("asha1", 1);
    let a4 = asha("asha4", 4);
    assert_eq!(fingerprint(&a1), fingerprint(&a4));
    let iters: Vec<usize> = a1.iter().map(|r| r.results.len()).collect();
    assert!(
        iters.iter().any(|&n| n < 8),
        "ASHA stopped some trials early: {iters:?}"
    );
    assert!(iters.contains(&8), "{iters:?}");

    let pbt_space = ParamSpace::from_config(&tiny(0, 200, 16))
        .unwrap()
        .set("lr", grid_search([1e-2, 1e-3, 1e-4, 1e-5]));
    let pbt = |name: &str, concurrent: usize| {
        Tuner::new("PPO", pbt_space.clone())
            .tune_config(
                TuneConfig::new()
                    .metric(metric, Mode::Max)
                    .max_concurrent_trials(concurrent)
                    .num_cpus(4)
                    .scheduler(
                        PopulationBasedTraining::new()
                            .perturbation_interval(3.0)
                            .mutate("lr", loguniform(1e-5, 1e-2)),
                    ),
            )
            .run_config(quiet(&dir, name).stop(Stop::iterations(9)))
            .fit()
            .unwrap()
    };
    let p1 = pbt("pbt1", 1);
    let p4 = pbt("pbt4", 4);
    assert_eq!(fingerprint(&p1), fingerprint(&p4));
    let global = std::fs::read_to_string(p1.experiment_path().join("pbt_global.txt")).unwrap();
    assert_eq!(
        global.lines().count(),
        2,
        "one exploit per barrier (iterations 3 and 6): {global}"
    );
    for r in p1.iter() {
        // The iteration counter goes on after an exploit: 1, 2, …, 9.
        let its: Vec<u64> = r
            .results
            .iter()
            .map(|x| x["training_iteration"].as_u64().unwrap())
            .collect();
        assert_eq!(its, (1..=9).collect::<Vec<u64>>());
        let lr = r.config["lr"].as_f64().unwrap();
        assert!((1e-5..=1e-2).contains(&lr), "{lr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// PPO that fails the first time it reaches given iterations: with an error at
/// `fail_at`, with a panic at `panic_at` (keys of its config).
struct Flaky {
    inner: Box<dyn Algorithm>,
    tag: String,
    fail_at: Option<usize>,
    panic_at: Option<usize>,
}

static FIRED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

fn fire_once(key: String) -> bool {
    FIRED.lock().unwrap().insert(key)
}

impl Algorithm for Flaky {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn train(&mut self) -> Result<ResultDict, AlgorithmError> {
        let next = self.inner.iteration() + 1;
        if self.fail_at == Some(next) && fire_once(format!("{}:fail:{next}", self.tag)) {
            return Err(AlgorithmError::Config(ConfigError(format!(
                "injected failure at iteration {next}"
            ))));
        }
        if self.panic_at == Some(next) && fire_once(format!("{}:panic:{next}", self.tag)) {
            panic!("injected panic at iteration {next}");
        }
        self.inner.train()
    }
    fn evaluate(&mut self) -> Result<ResultDict, AlgorithmError> {
        self.inner.evaluate()
    }
    fn iteration(&self) -> usize {
        self.inner.iteration()
    }
    fn save_to_path(&self, dir: &Path) -> Result<PathBuf, AlgorithmError> {
        self.inner.save_to_path(dir)
    }
    fn restore_from_path(&mut self, dir: &Path) -> Result<(), AlgorithmError> {
        self.inner.restore_from_path(dir)
    }
    fn log_to(&mut self, dir: &Path) -> Result<PathBuf, AlgorithmError> {
        self.inner.log_to(dir)
    }
    fn stop(&mut self) -> Result<Option<PathBuf>, AlgorithmError> {
        self.inner.stop()
    }
    fn config_json(&self) -> Value {
        self.inner.config_json()
    }
    fn add_logger(&mut self, logger: Box<dyn ResultLogger>) {
        self.inner.add_logger(logger)
    }
}

fn register_flaky() {
    rl::algos::register_builtins();
    register_algorithm(
        AlgorithmRegistration::new("FlakyPPO", |config| {
            let mut c = config.clone();
            let obj = c.as_object_mut().expect("an object");
            let take = |o: &mut serde_json::Map<String, Value>, k: &str| {
                o.remove(k).and_then(|v| v.as_u64()).map(|v| v as usize)
            };
            let fail_at = take(obj, "fail_at");
            let panic_at = take(obj, "panic_at");
            let tag = obj
                .remove("fail_tag")
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let tag = format!("{tag}:{}", obj.get("seed").cloned().unwrap_or(Value::Null));
            let inner = rl::core::algorithm::build_algorithm("PPO", &c)?;
            Ok(Box::new(Flaky {
                inner,
                tag,
                fail_at,
                panic_at,
            }))
        })
        .default_config(|| {
            let mut d = rl::core::algorithm::default_config("PPO").unwrap();
            d["fail_at"] = Value::Null;
            d["panic_at"] = Value::Null;
            d["fail_tag"] = Value::Null;
            d
        }),
    );
}

#[test]
fn failed_trials_retry_from_their_checkpoint_and_end_as_if_nothing_happened() {
    register_flaky();
    let dir = tmp("failures");
    let base = ParamSpace::from_config(&tiny(0, 200, 16))
        .unwrap()
        .set("minibatch_size", grid_search([32, 64]))
        .set_constant("fail_tag", "retry");
    let run = |name: &str, space: ParamSpace, failure: FailureConfig| {
        Tuner::new("FlakyPPO", space)
            .tune_config(
                TuneConfig::new()
                    .max_concurrent_trials(2)
                    .num_cpus(2)
                    .seed(5),
            )
            .run_config(
                quiet(&dir, name)
                    .stop(Stop::iterations(7))
                    .failure_config(failure)
                    .checkpoint_config(CheckpointConfig {
                        checkpoint_frequency: 2,
                        ..Default::default()
                    }),
            )
            .fit()
            .unwrap()
    };
    let clean = run("clean", base.clone(), FailureConfig::default());
    // An error at iteration 4 (retried from the checkpoint of iteration 2) and a panic at 6
    // (retried from the checkpoint of iteration 4).
    let flaky_space = base
        .clone()
        .set_constant("fail_at", 4)
        .set_constant("panic_at", 6);
    let retried = run(
        "retried",
        flaky_space,
        FailureConfig {
            max_failures: 2,
            fail_fast: false,
        },
    );
    assert_eq!(retried.num_errors(), 0);
    assert_eq!(
        fingerprint(&clean),
        fingerprint(&retried)
            .into_iter()
            .map(|(s, mut c, r)| {
                let o = c.as_object_mut().unwrap();
                o.remove("fail_at");
                o.remove("panic_at");
                (s, c, r)
            })
            .collect::<Vec<_>>()
    );
    let error_txt = std::fs::read_to_string(retried[0].path.join("error.txt")).unwrap();
    assert!(
        error_txt.contains("Failure # 1") && error_txt.contains("injected failure at iteration 4"),
        "{error_txt}"
    );
    assert!(
        error_txt.contains("Failure # 2") && error_txt.contains("injected panic at iteration 6"),
        "{error_txt}"
    );

    // Without retries the trial ends in ERROR; the other trial goes on.
    let once = base
        .clone()
        .set_constant("fail_at", 3)
        .set_constant("fail_tag", "no-retry");
    let failed = run("failed", once, FailureConfig::default());
    assert_eq!(failed.num_errors(), 2);
    assert!(failed.errors()[0].contains("injected failure at iteration 3"));
    assert_eq!(failed[0].status, TrialStatus::Error);
    assert_eq!(failed[0].results.len(), 2);
    // Restoring with resume_errored retries them from their latest checkpoint.
    let resumed = Tuner::restore(failed.experiment_path())
        .unwrap()
        .resume_errored(true)
        .fit()
        .unwrap();
    assert_eq!(resumed.num_errors(), 0);
    assert_eq!(resumed.num_terminated(), 2);
    assert!(resumed.iter().all(|r| r.results.len() == 7));
    // restart_errored runs them again from scratch: the results are the clean run's.
    let twice = base
        .set_constant("fail_at", 5)
        .set_constant("fail_tag", "restart");
    let failed = run("failed-restart", twice, FailureConfig::default());
    assert_eq!(failed.num_errors(), 2);
    assert!(failed.iter().all(|r| r.results.len() == 4));
    let restarted = Tuner::restore(failed.experiment_path())
        .unwrap()
        .restart_errored(true)
        .fit()
        .unwrap();
    assert_eq!(restarted.num_errors(), 0);
    let strip =
        |g: &ResultGrid| -> Vec<Vec<Value>> { fingerprint(g).into_iter().map(|x| x.2).collect() };
    assert_eq!(strip(&restarted), strip(&clean));
    let _ = std::fs::remove_dir_all(&dir);
}

const CHILD_DIR: &str = "RL_TUNE_TEST_CHILD_DIR";

/// The sweeps killed and resumed: FIFO with periodic checkpoints (trials restart from
/// them, or from scratch before their first), ASHA (scheduler state and decisions),
/// PBT (barriers, exploits, changed configs).
fn kill_sweep(dir: &Path, scenario: &str) -> Tuner {
    let config = tiny(0, 1000, 64);
    let checkpoints = CheckpointConfig {
        checkpoint_frequency: 3,
        num_to_keep: Some(2),
        checkpoint_at_end: true,
        ..Default::default()
    };
    let metric = "env_runners/episode_return_mean";
    let run = quiet(dir, "sweep").checkpoint_config(checkpoints);
    match scenario {
        "fifo" => Tuner::new(
            "PPO",
            ParamSpace::from_config(&config)
                .unwrap()
                .set("minibatch_size", grid_search([64, 128, 256])),
        )
        .tune_config(
            TuneConfig::new()
                .max_concurrent_trials(2)
                .num_cpus(2)
                .seed(3),
        )
        .run_config(run.stop(Stop::iterations(14))),
        "asha" => Tuner::new(
            "PPO",
            ParamSpace::from_config(&config)
                .unwrap()
                .set("lr", grid_search([3e-3, 1e-3, 3e-4, 1e-4, 3e-5, 1e-5])),
        )
        .tune_config(
            TuneConfig::new()
                .metric(metric, Mode::Max)
                .max_concurrent_trials(3)
                .num_cpus(3)
                .seed(4)
                .scheduler(
                    AsyncHyperBandScheduler::new()
                        .max_t(10.0)
                        .grace_period(2.0)
                        .reduction_factor(2.0),
                ),
        )
        .run_config(run),
        _ => Tuner::new(
            "PPO",
            ParamSpace::from_config(&config)
                .unwrap()
                .set("lr", grid_search([1e-2, 1e-3, 1e-4, 1e-5])),
        )
        .tune_config(
            TuneConfig::new()
                .metric(metric, Mode::Max)
                .max_concurrent_trials(2)
                .num_cpus(2)
                .seed(6)
                .scheduler(
                    PopulationBasedTraining::new()
                        .perturbation_interval(3.0)
                        .mutate("lr", loguniform(1e-5, 1e-2)),
                ),
        )
        .run_config(run.stop(Stop::iterations(12))),
    }
}

fn decided(dir: &Path) -> usize {
    let Ok((state, _)) = rl::tune::ExperimentState::load_newest(dir) else {
        return 0;
    };
    state.trials.iter().map(|t| t.decided_iteration).sum()
}

/// Runs the sweep (or its resume) in a child process and kills it with SIGKILL once
/// `at` iterations in all have been decided.
fn run_child_and_kill(test: &str, scenario: &str, dir: &Path, resume: bool, at: usize) {
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env("RL_TUNE_TEST_SCENARIO", scenario)
        .env("RL_TUNE_TEST_CHILD_RESUME", if resume { "1" } else { "0" })
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while decided(&dir.join("sweep")) < at {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the child ended ({status}) before it could be killed at {at} iterations");
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "the child made no progress"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
}

/// The child's side of a kill test: run (or resume) until killed. Returns true in the
/// child.
fn child_side() -> bool {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return false;
    };
    let dir = PathBuf::from(dir);
    let scenario = std::env::var("RL_TUNE_TEST_SCENARIO").unwrap();
    if std::env::var("RL_TUNE_TEST_CHILD_RESUME").as_deref() == Ok("1") {
        Tuner::restore(dir.join("sweep")).unwrap().fit().unwrap();
    } else {
        kill_sweep(&dir, &scenario).fit().unwrap();
    }
    true
}

/// Kills the sweep twice (at a third and at two thirds of its iterations), resumes it to
/// the end, and compares every trial's every result with an uninterrupted sweep's.
fn killed_sweep_ends_as_an_uninterrupted_one(test: &str, scenario: &str) {
    if child_side() {
        return;
    }
    let reference_dir = tmp(&format!("uninterrupted-{scenario}"));
    let reference = kill_sweep(&reference_dir, scenario).fit().unwrap();
    let total: usize = reference.iter().map(|r| r.results.len()).sum();
    let dir = tmp(&format!("killed-{scenario}"));
    // RL_TUNE_TEST_KILL_AT="0.1,0.8" moves the kills (for stress runs).
    let at: Vec<f64> = std::env::var("RL_TUNE_TEST_KILL_AT")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| vec![1.0 / 3.0, 2.0 / 3.0]);
    for (k, f) in at.iter().enumerate() {
        run_child_and_kill(
            test,
            scenario,
            &dir,
            k > 0,
            ((total as f64 * f) as usize).max(1),
        );
        let (state, _) = rl::tune::ExperimentState::load_newest(&dir.join("sweep")).unwrap();
        assert!(!state.finished && state.trials.iter().any(|t| !t.status.is_finished()));
    }
    // The sweep directory may move before it resumes (checkpoint paths are rebased).
    let moved = tmp(&format!("moved-{scenario}"));
    std::fs::rename(&dir, &moved).unwrap();
    let dir = moved;
    let resumed = Tuner::restore(dir.join("sweep")).unwrap().fit().unwrap();
    assert_same(&resumed, &reference);
    assert!(resumed.experiment_path().starts_with(&dir));
    for (a, b) in resumed.iter().zip(reference.iter()) {
        // The files hold every iteration once, as the uninterrupted sweep's.
        let rows = |p: &Path| {
            std::fs::read_to_string(p.join("progress.csv"))
                .unwrap()
                .lines()
                .count()
        };
        assert_eq!(rows(&a.path), rows(&b.path));
        let header = |p: &Path| {
            let csv = std::fs::read_to_string(p.join("progress.csv")).unwrap();
            csv.lines().next().map(String::from)
        };
        assert_eq!(header(&a.path), header(&b.path), "progress.csv columns");
        let name = |r: &rl::tune::TuneResult| {
            r.checkpoint
                .as_ref()
                .map(|c| c.path.file_name().unwrap().to_owned())
        };
        assert_eq!(name(a), name(b));
    }
    // Restoring a finished sweep trains nothing and returns the same results.
    let again = Tuner::restore(dir.join("sweep")).unwrap().fit().unwrap();
    assert_same(&again, &reference);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&reference_dir);
}

#[test]
fn sweep_killed_with_sigkill_resumes_to_the_same_results() {
    killed_sweep_ends_as_an_uninterrupted_one(
        "sweep_killed_with_sigkill_resumes_to_the_same_results",
        "fifo",
    );
}

#[test]
fn asha_sweep_killed_with_sigkill_resumes_to_the_same_decisions() {
    killed_sweep_ends_as_an_uninterrupted_one(
        "asha_sweep_killed_with_sigkill_resumes_to_the_same_decisions",
        "asha",
    );
}

#[test]
fn pbt_sweep_killed_with_sigkill_resumes_to_the_same_population() {
    killed_sweep_ends_as_an_uninterrupted_one(
        "pbt_sweep_killed_with_sigkill_resumes_to_the_same_population",
        "pbt",
    );
}

#[test]
fn checkpoints_keep_the_best_by_score_and_the_latest() {
    let dir = tmp("keep");
    let metric = "env_runners/episode_return_mean";
    let g = Tuner::new("PPO", ParamSpace::from_config(&tiny(0, 200, 16)).unwrap())
        .tune_config(TuneConfig::new().seed(2))
        .run_config(
            quiet(&dir, "keep")
                .stop(Stop::iterations(8))
                .checkpoint_config(CheckpointConfig {
                    checkpoint_frequency: 1,
                    num_to_keep: Some(2),
                    checkpoint_score_attribute: Some(metric.into()),
                    ..Default::default()
                }),
        )
        .fit()
        .unwrap();
    let r = &g[0];
    let score = |res: &Option<ResultDict>| {
        res.as_ref().unwrap()[metric.split('/').next().unwrap()]["episode_return_mean"]
            .as_f64()
            .unwrap()
    };
    let kept: Vec<(String, f64)> = r
        .best_checkpoints
        .iter()
        .map(|(c, res)| {
            (
                c.path.file_name().unwrap().to_str().unwrap().to_string(),
                score(res),
            )
        })
        .collect();
    let on_disk = rl::core::algorithm::checkpoint::list_checkpoints(&r.path).len();
    assert_eq!(on_disk, kept.len());
    // The latest (iteration 8) is always kept; besides it, the two best scores.
    assert!(
        kept.iter().any(|(n, _)| n == "checkpoint_000007"),
        "{kept:?}"
    );
    let mut all: Vec<f64> = r
        .results
        .iter()
        .map(|x| x["env_runners"]["episode_return_mean"].as_f64().unwrap())
        .collect();
    all.sort_by(|a, b| b.total_cmp(a));
    let best_two = &all[..2];
    for s in best_two {
        assert!(kept.iter().any(|(_, k)| k == s), "best {s} kept: {kept:?}");
    }
    assert!(kept.len() <= 3, "{kept:?}");
    assert_eq!(
        r.checkpoint.as_ref().unwrap().path.file_name().unwrap(),
        "checkpoint_000007"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A searcher that does not say how many trials it will suggest: the controller asks it
/// as slots free up (the path a Bayesian searcher takes).
struct ListSearcher {
    base: Value,
    lrs: Vec<f64>,
    completed: Vec<usize>,
}

impl rl::tune::Searcher for ListSearcher {
    fn name(&self) -> &str {
        "ListSearcher"
    }
    fn set_search_properties(
        &mut self,
        props: &rl::tune::search::SearchProperties<'_>,
    ) -> Result<(), rl::tune::TuneError> {
        self.base = props.space.to_json();
        Ok(())
    }
    fn total_trials(&self) -> Option<usize> {
        None
    }
    fn suggest(
        &mut self,
        index: usize,
    ) -> Result<Option<rl::tune::search::Variant>, rl::tune::TuneError> {
        let Some(&lr) = self.lrs.get(index) else {
            return Ok(None);
        };
        let mut config = self.base.clone();
        config["lr"] = json!(lr);
        Ok(Some(rl::tune::search::Variant {
            config,
            resolved_vars: vec![("lr".into(), json!(lr))],
        }))
    }
    fn on_trial_complete(&mut self, index: usize, _: Option<&ResultDict>, _: bool) {
        self.completed.push(index);
    }
    fn save_state(&self) -> Value {
        json!({ "completed": self.completed })
    }
    fn restore_state(&mut self, _: &Value) -> Result<(), rl::tune::TuneError> {
        Ok(())
    }
}

#[test]
fn a_searcher_without_a_trial_count_is_asked_as_slots_free_up() {
    let dir = tmp("searcher");
    let searcher = ListSearcher {
        base: Value::Null,
        lrs: vec![1e-3, 3e-4, 1e-4],
        completed: Vec::new(),
    };
    let g = Tuner::new("PPO", ParamSpace::from_config(&tiny(0, 200, 16)).unwrap())
        .tune_config(
            TuneConfig::new()
                .max_concurrent_trials(2)
                .search_alg(searcher),
        )
        .run_config(quiet(&dir, "s").stop(Stop::iterations(2)))
        .fit()
        .unwrap();
    assert_eq!(g.len(), 3);
    let lrs: Vec<f64> = g.iter().map(|r| r.config["lr"].as_f64().unwrap()).collect();
    assert_eq!(lrs, vec![1e-3, 3e-4, 1e-4]);
    assert_eq!(g.num_terminated(), 3);
    let (state, _) = rl::tune::ExperimentState::load_newest(g.experiment_path()).unwrap();
    let mut done: Vec<u64> = state.searcher["completed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    done.sort();
    assert_eq!(done, vec![0, 1, 2]);
    let _ = std::fs::remove_dir_all(&dir);
}
