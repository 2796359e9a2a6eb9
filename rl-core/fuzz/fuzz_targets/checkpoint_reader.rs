//! A checkpoint directory made from any bytes: records `(name, content)` become files
//! (names made safe for *creating* the fixture), and `metadata.json` lists the records
//! under their raw names (hostile ones included: `../x`, `/abs`, …) with their true sizes
//! and checksums, or is the first record's raw content. Opening and reading every listed
//! file errors or succeeds, never panics, and never reads a path outside the directory.
#![no_main]

use std::fs;
use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use rl_core::algorithm::checkpoint::{sha256_hex, CheckpointReader, METADATA_FILE};

fn scratch() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("rl-fuzz-ckpt-{}", std::process::id()))
}

fn safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
        .collect();
    format!("f_{s}")
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch();
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let (raw_meta, mut rest) = match data.split_first() {
        Some((&b, rest)) => (b & 1 == 1, rest),
        None => (false, data),
    };
    let mut records = Vec::new();
    while rest.len() >= 2 && records.len() < 8 {
        let (nl, cl) = (usize::from(rest[0] % 24), usize::from(rest[1]));
        rest = &rest[2..];
        let name = String::from_utf8_lossy(&rest[..nl.min(rest.len())]).into_owned();
        rest = &rest[nl.min(rest.len())..];
        let content = rest[..cl.min(rest.len())].to_vec();
        rest = &rest[cl.min(rest.len())..];
        records.push((name, content));
    }
    let mut files = serde_json::Map::new();
    for (name, content) in &records {
        fs::write(dir.join(safe(name)), content).unwrap();
        files.insert(
            name.clone(),
            serde_json::json!({"bytes": content.len(), "sha256": sha256_hex(content)}),
        );
    }
    let meta = if raw_meta {
        records.first().map(|r| r.1.clone()).unwrap_or_default()
    } else {
        serde_json::to_vec(&serde_json::json!({
            "format_version": 1, "framework": "rl", "framework_version": "0.1.0",
            "checkpoint_type": "Algorithm", "algorithm": "PPO", "modules": {},
            "observation_space": {"Discrete": {"n": 2, "start": 0}},
            "action_space": {"Discrete": {"n": 2, "start": 0}},
            "training_iteration": 0, "files": files,
        }))
        .unwrap()
    };
    fs::write(dir.join(METADATA_FILE), meta).unwrap();
    if let Ok(r) = CheckpointReader::open(&dir) {
        for rel in r.metadata().files.keys() {
            assert!(!rel.split('/').any(|s| s == ".." || s.is_empty()) && !rel.starts_with('/'));
            let _ = r.read_json::<serde_json::Value>(rel);
            let _ = r.read_safetensors(rel);
        }
    }
});
