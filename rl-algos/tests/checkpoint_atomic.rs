//! Saves are atomic: a process killed at any point of a save (mid-file, after a file,
//! after the metadata, between the renames) leaves a complete checkpoint behind — the
//! previous one, byte for byte, or (once the new one is renamed into place) the new one —
//! and the next save to the same path succeeds and cleans up.
//!
//! The crash is real: a child process (this test binary, running `child_saves_then_aborts`)
//! trains, arms the test-only fault hook and saves over the parent's checkpoint; the hook
//! calls `std::process::abort()` at the chosen point, so nothing is cleaned up.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rl_algos::{Algorithm, PPOConfig, PPO};
use rl_core::algorithm::checkpoint::{fault, CheckpointReader};

const CHILD_DIR: &str = "RL_CKPT_TEST_CHILD_DIR";
const CHILD_ABORT_AT: &str = "RL_CKPT_TEST_ABORT_AT";

fn config() -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(0))
        .training(|t| t.train_batch_size(200).minibatch_size(64).num_epochs(2))
        .rl_module(|m| m.fcnet_hiddens(vec![32, 32]))
        .debugging(Some(1))
}

/// Every file under `dir`, relative path → bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Runs in the child only: train 2 iterations and save over the checkpoint, aborting at
/// the chosen fault point.
#[test]
fn child_saves_then_aborts() {
    let (Some(dir), Some(at)) = (
        std::env::var_os(CHILD_DIR),
        std::env::var_os(CHILD_ABORT_AT),
    ) else {
        return; // Not the child: nothing to do.
    };
    let at: usize = at.to_str().unwrap().parse().unwrap();
    let mut algo = config().build().unwrap();
    algo.train().unwrap();
    algo.train().unwrap();
    fault::abort_at(at);
    algo.save_to_path(PathBuf::from(dir)).unwrap();
}

#[test]
fn crash_at_any_point_of_a_save_leaves_a_complete_checkpoint() {
    let root = std::env::temp_dir().join(format!("rl-ckpt-atomic-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    let dir = root.join("checkpoint");
    let mut algo = config().build().unwrap();
    algo.train().unwrap();
    algo.save_to_path(&dir).unwrap();
    let previous = snapshot(&dir);

    let exe = std::env::current_exe().unwrap();
    let mut crashed_before_swap = 0;
    let mut crashed_after_swap = 0;
    for at in 0.. {
        assert!(at < 200, "the save never completed");
        let status = Command::new(&exe)
            .args([
                "--exact",
                "child_saves_then_aborts",
                "--test-threads=1",
                "--nocapture",
            ])
            .env(CHILD_DIR, &dir)
            .env(CHILD_ABORT_AT, at.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        if status.success() {
            // Past the last fault point: the save completed.
            let r = CheckpointReader::open(&dir).unwrap();
            assert_eq!(r.metadata().training_iteration, 2);
            break;
        }
        // Killed mid-save: a complete checkpoint is there, the old one or the new one.
        let algo_back = PPO::from_checkpoint(&dir)
            .unwrap_or_else(|e| panic!("after a crash at fault point {at}: {e}"));
        match algo_back.iteration() {
            1 => {
                crashed_before_swap += 1;
                let reader = CheckpointReader::open(&dir).unwrap();
                assert_eq!(
                    snapshot(reader.dir()),
                    previous,
                    "fault point {at}: the previous checkpoint changed"
                );
            }
            2 => crashed_after_swap += 1,
            other => panic!("fault point {at}: iteration {other}"),
        }
        // Put the previous checkpoint back for the next crash (this save also clears
        // what the crash left behind).
        algo.save_to_path(&dir).unwrap();
        assert_eq!(snapshot(&dir), previous);
    }
    assert!(
        crashed_before_swap >= 18,
        "{crashed_before_swap} crashes before the swap"
    );
    assert!(crashed_after_swap >= 1);
    // Nothing left over beside the checkpoint.
    let names: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("checkpoint")]);
    let _ = fs::remove_dir_all(&root);
}

/// A save that fails (here: the target's parent is a file) leaves the previous checkpoint
/// and no temporary directory.
#[test]
fn failed_save_is_an_error_and_leaves_nothing() {
    let root = std::env::temp_dir().join(format!("rl-ckpt-atomic-fail-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("file"), b"x").unwrap();
    let algo = config().build().unwrap();
    let e = algo
        .save_to_path(root.join("file").join("ckpt"))
        .unwrap_err();
    assert!(e.to_string().contains("file"), "{e}");
    let names: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1);
    let _ = fs::remove_dir_all(&root);
}
