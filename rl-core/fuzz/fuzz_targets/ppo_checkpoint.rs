//! A real PPO checkpoint with one file replaced by any bytes, then re-signed (the metadata
//! records the new file's true size and checksum, so every parser is reached): restoring
//! it, loading its module or building from it errors or succeeds, never panics; an
//! algorithm that accepted it trains one iteration without panicking.
#![no_main]

use std::fs;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rl_algos::ppo::checkpoint::load_module;
use rl_algos::{Algorithm, PPOConfig, PPO};
use rl_core::algorithm::checkpoint::{sha256_hex, METADATA_FILE};

fn config() -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(0).observation_filter("MeanStdFilter"))
        .training(|t| t.train_batch_size(32).minibatch_size(16).num_epochs(1))
        .rl_module(|m| m.fcnet_hiddens(vec![4]))
        .evaluation(|e| e.evaluation_interval(Some(1)).evaluation_duration(1))
}

struct Base {
    dir: PathBuf,
    files: Vec<(String, Vec<u8>)>,
    meta: Vec<u8>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("rl-fuzz-ppo-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let mut algo = config().build().unwrap();
        algo.train().unwrap();
        let dir = algo.save_to_path(root.join("ck")).unwrap();
        let meta = fs::read(dir.join(METADATA_FILE)).unwrap();
        let m: serde_json::Value = serde_json::from_slice(&meta).unwrap();
        let files = m["files"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| (k.clone(), fs::read(dir.join(k)).unwrap()))
            .collect();
        Base { dir, files, meta }
    })
}

fuzz_target!(|data: &[u8]| {
    let b = base();
    let Some((&which, content)) = data.split_first() else {
        return;
    };
    let (rel, original) = &b.files[usize::from(which) % b.files.len()];
    let mut m: serde_json::Value = serde_json::from_slice(&b.meta).unwrap();
    m["files"][rel] = serde_json::json!({"bytes": content.len(), "sha256": sha256_hex(content)});
    fs::write(b.dir.join(rel), content).unwrap();
    fs::write(b.dir.join(METADATA_FILE), serde_json::to_vec(&m).unwrap()).unwrap();
    let _ = load_module(&b.dir);
    if let Ok(mut algo) = PPO::from_checkpoint(&b.dir) {
        let _ = algo.train();
    }
    fs::write(b.dir.join(rel), original).unwrap();
    fs::write(b.dir.join(METADATA_FILE), &b.meta).unwrap();
});
