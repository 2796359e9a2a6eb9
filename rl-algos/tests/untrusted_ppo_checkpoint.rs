//! A PPO checkpoint from someone else, with its files rewritten at random *and re-signed*
//! (the metadata records the tampered files' true checksums, so every parser is reached),
//! is restored or refused, never a panic — and an algorithm that accepted it can still
//! train and evaluate without panicking (tried in one case in eight, for time). 10,000
//! cases.

use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rl_algos::ppo::checkpoint::load_module;
use rl_algos::{Algorithm, PPOConfig, PPO};
use rl_core::algorithm::checkpoint::{sha256_hex, METADATA_FILE};
use serde_json::Value;

fn config() -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(0).observation_filter("MeanStdFilter"))
        .training(|t| t.train_batch_size(32).minibatch_size(16).num_epochs(1))
        .rl_module(|m| m.fcnet_hiddens(vec![4]))
        .evaluation(|e| e.evaluation_interval(Some(1)).evaluation_duration(1))
        .debugging(Some(5))
}

/// In memory where possible (see `rl-core/tests/untrusted_checkpoint.rs`).
fn scratch() -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("rl-untrusted-ppo-{}", std::process::id()))
}

/// The `k`-th leaf (depth first) of `v`, replaced by `kind`'s hostile value.
fn mutate_leaf(v: &mut Value, k: &mut usize, kind: u8, big: u64) -> bool {
    match v {
        Value::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for key in keys {
                if *k == 0 && kind % 7 == 6 {
                    m.remove(&key);
                    return true;
                }
                if mutate_leaf(m.get_mut(&key).unwrap_or(&mut Value::Null), k, kind, big) {
                    return true;
                }
            }
            false
        }
        Value::Array(a) => {
            if *k == 0 && kind % 7 == 5 {
                a.push(a.first().cloned().unwrap_or(Value::Null));
                return true;
            }
            a.iter_mut().any(|x| mutate_leaf(x, k, kind, big))
        }
        leaf => {
            if *k > 0 {
                *k -= 1;
                return false;
            }
            *leaf = match kind % 7 {
                0 => Value::from(big),
                1 => Value::from(-(big as i64 % 1_000_000) - 1),
                2 => Value::from(0),
                3 => Value::from(1e300),
                4 => Value::from("x"),
                _ => Value::Null,
            };
            true
        }
    }
}

/// The checkpoint directory, its files, its metadata, and an algorithm to restore into.
type Setup = (
    PathBuf,
    Vec<(String, Vec<u8>)>,
    Vec<u8>,
    std::cell::RefCell<PPO>,
);

/// 10,000 cases in the suite; `RL_PROPTEST_CASES=N` runs a longer campaign.
fn cases() -> u32 {
    std::env::var("RL_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn tampered_and_resigned_checkpoints_never_panic(
        file in any::<usize>(),
        leaf in 0usize..400,
        kind in any::<u8>(),
        big in any::<u64>(),
        bytes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
    ) {
        thread_local! {
            static SETUP: Setup = {
                let root = scratch();
                let _ = fs::remove_dir_all(&root);
                let mut algo = config().build().unwrap();
                algo.train().unwrap();
                let dir = algo.save_to_path(root.join("ck")).unwrap();
                let meta = fs::read(dir.join(METADATA_FILE)).unwrap();
                let m: Value = serde_json::from_slice(&meta).unwrap();
                let files = m["files"].as_object().unwrap().keys()
                    .map(|k| (k.clone(), fs::read(dir.join(k)).unwrap()))
                    .collect();
                (dir, files, meta, std::cell::RefCell::new(config().build().unwrap()))
            };
        }
        SETUP.with(|(dir, files, meta, algo)| {
            let (rel, original) = &files[file % files.len()];
            let tampered = if rel.ends_with(".json") {
                let mut v: Value = serde_json::from_slice(original).unwrap();
                let mut k = leaf;
                mutate_leaf(&mut v, &mut k, kind, big);
                serde_json::to_vec(&v).unwrap()
            } else {
                let mut b = original.clone();
                for &(at, x) in &bytes {
                    let i = at % b.len();
                    b[i] = x;
                }
                b
            };
            let mut m: Value = serde_json::from_slice(meta).unwrap();
            m["files"][rel] = serde_json::json!({"bytes": tampered.len(), "sha256": sha256_hex(&tampered)});
            fs::write(dir.join(rel), &tampered).unwrap();
            fs::write(dir.join(METADATA_FILE), serde_json::to_vec(&m).unwrap()).unwrap();

            let _ = load_module(dir);
            let mut algo = algo.borrow_mut();
            // Training after an accepted restore is the slow part: one case in eight.
            if algo.restore_from_path(dir).is_ok() && file % 8 == 0 {
                let _ = algo.train();
                let _ = algo.evaluate();
                // Back to a sane state for the next case.
                *algo = config().build().unwrap();
            }
            if file % 64 == 1 {
                if let Ok(mut fresh) = PPO::from_checkpoint(dir) {
                    let _ = fresh.train();
                }
            }
            fs::write(dir.join(rel), original).unwrap();
            fs::write(dir.join(METADATA_FILE), meta).unwrap();
        });
    }
}
