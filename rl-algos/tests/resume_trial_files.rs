//! Nothing lost on resume: a run restored from a checkpoint and logged to its old output
//! directory continues `result.json` and `progress.csv` — the rows up to the checkpoint
//! kept, the rows written after it replaced by the resumed iterations.

use rl_algos::{Algorithm, PPOConfig, PPO};
use serde_json::Value;

fn config() -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(0))
        .training(|t| t.train_batch_size(100).minibatch_size(50).num_epochs(1))
        .rl_module(|m| m.fcnet_hiddens(vec![8]))
        .evaluation(|e| e.evaluation_interval(Some(2)).evaluation_duration(1))
        .debugging(Some(2))
}

fn iterations(dir: &std::path::Path) -> Vec<u64> {
    std::fs::read_to_string(dir.join("result.json"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["training_iteration"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

#[test]
fn restored_run_continues_its_trial_files() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("resume_trial_files");
    let _ = std::fs::remove_dir_all(&dir);
    let mut algo = config().build().unwrap();
    algo.log_to(&dir).unwrap();
    for _ in 0..3 {
        algo.train().unwrap();
    }
    let ckpt = algo.save_to_path(dir.join("checkpoint_000000")).unwrap();
    for _ in 0..2 {
        algo.train().unwrap();
    }
    assert_eq!(iterations(&dir), [1, 2, 3, 4, 5]);
    drop(algo);

    let mut resumed = PPO::from_checkpoint(&ckpt).unwrap();
    resumed.log_to(&dir).unwrap();
    for _ in 0..3 {
        resumed.train().unwrap();
    }
    assert_eq!(
        iterations(&dir),
        [1, 2, 3, 4, 5, 6],
        "rows 4 and 5 were rewritten once"
    );
    let csv = std::fs::read_to_string(dir.join("progress.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 6,
        "header and one row per iteration"
    );
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("evaluation/env_runners/episode_return_mean"));

    // A fresh run into the same directory starts fresh files.
    let mut fresh = config().build().unwrap();
    fresh.log_to(&dir).unwrap();
    fresh.train().unwrap();
    assert_eq!(iterations(&dir), [1]);
}
