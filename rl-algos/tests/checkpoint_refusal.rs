//! Bad checkpoints are refused with an error naming the file and the problem, never a
//! panic: truncated or corrupted data (checksum), missing files, a newer `format_version`,
//! another algorithm, other observation/action spaces. A property test feeds checkpoints
//! with bytes flipped, truncated or appended in each file, and files deleted.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use rl_algos::ppo::checkpoint::{load_module, MODULE_WEIGHTS_FILE};
use rl_algos::ppo::InferencePolicy;
use rl_algos::{Algorithm, PPOConfig, PPO};
use rl_core::algorithm::checkpoint::{CheckpointErrorKind, CheckpointReader, METADATA_FILE};
use rl_core::algorithm::AlgorithmError;

fn config() -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(0).observation_filter("MeanStdFilter"))
        .training(|t| t.train_batch_size(200).minibatch_size(64).num_epochs(2))
        .rl_module(|m| m.fcnet_hiddens(vec![16, 16]))
        .evaluation(|e| e.evaluation_interval(Some(1)).evaluation_duration(1))
        .debugging(Some(3))
}

/// One trained checkpoint, written once per test process. It lives in Cargo's per-target
/// scratch directory under a fixed name, so each run replaces the last one's files
/// instead of leaving them in the system's temp directory.
fn base() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ckpt-refusal");
        let _ = fs::remove_dir_all(&root);
        let mut algo = config().build().unwrap();
        algo.train().unwrap();
        algo.save_to_path(root.join("base")).unwrap()
    })
}

fn copy_dir(src: &Path, dst: &Path) {
    fs::create_dir_all(dst).unwrap();
    for e in fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// A fresh copy of the base checkpoint.
fn copy(name: &str) -> PathBuf {
    let dst = base().parent().unwrap().join(name);
    let _ = fs::remove_dir_all(&dst);
    copy_dir(base(), &dst);
    dst
}

/// Every file of the checkpoint, relative, `metadata.json` first.
fn files() -> Vec<String> {
    let r = CheckpointReader::open(base()).unwrap();
    std::iter::once(METADATA_FILE.to_string())
        .chain(r.metadata().files.keys().cloned())
        .collect()
}

fn kind(e: &AlgorithmError) -> &CheckpointErrorKind {
    match e {
        AlgorithmError::Checkpoint(c) => &c.kind,
        other => panic!("expected a checkpoint error, got {other}"),
    }
}

#[test]
fn intact_checkpoint_loads() {
    let algo = PPO::from_checkpoint(base()).unwrap();
    assert_eq!(algo.iteration(), 1);
    InferencePolicy::from_checkpoint(base()).unwrap();
    load_module(base()).unwrap();
}

#[test]
fn truncated_file_is_refused_naming_it() {
    let dir = copy("truncated");
    let f = dir.join(MODULE_WEIGHTS_FILE);
    let bytes = fs::read(&f).unwrap();
    fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    let e = PPO::from_checkpoint(&dir).unwrap_err();
    assert!(
        matches!(kind(&e), CheckpointErrorKind::SizeMismatch { .. }),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("weights.safetensors") && msg.contains("truncated"),
        "{msg}"
    );
    assert!(InferencePolicy::from_checkpoint(&dir).is_err());
}

#[test]
fn corrupted_file_is_refused_by_checksum() {
    let dir = copy("corrupted");
    for rel in files().into_iter().skip(1) {
        let f = dir.join(&rel);
        let mut bytes = fs::read(&f).unwrap();
        let i = bytes.len() / 3;
        bytes[i] ^= 0x01;
        fs::write(&f, &bytes).unwrap();
        let e = PPO::from_checkpoint(&dir).unwrap_err();
        assert!(
            matches!(kind(&e), CheckpointErrorKind::ChecksumMismatch { .. }),
            "{rel}: {e}"
        );
        let msg = e.to_string();
        assert!(msg.contains(&rel) && msg.contains("checksum"), "{msg}");
        bytes[i] ^= 0x01;
        fs::write(&f, &bytes).unwrap();
    }
    PPO::from_checkpoint(&dir).unwrap();
}

#[test]
fn missing_files_are_refused_naming_them() {
    for rel in files() {
        let dir = copy("missing");
        fs::remove_file(dir.join(&rel)).unwrap();
        let e = PPO::from_checkpoint(&dir).unwrap_err();
        assert!(
            matches!(kind(&e), CheckpointErrorKind::Missing),
            "{rel}: {e}"
        );
        assert!(e.to_string().contains(&rel), "{e}");
    }
    let e = PPO::from_checkpoint(base().parent().unwrap().join("no-such-checkpoint")).unwrap_err();
    assert!(matches!(kind(&e), CheckpointErrorKind::Missing), "{e}");
}

fn edit_metadata(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(METADATA_FILE);
    let mut m: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    f(&mut m);
    fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
}

#[test]
fn newer_format_version_is_refused() {
    let dir = copy("newer");
    edit_metadata(&dir, |m| {
        m["format_version"] = 99.into();
        m["framework_version"] = "9.0.0".into();
    });
    let e = PPO::from_checkpoint(&dir).unwrap_err();
    assert!(
        matches!(kind(&e), CheckpointErrorKind::NewerFormat { found: 99, .. }),
        "{e}"
    );
    let msg = e.to_string();
    assert!(
        msg.contains("format_version 99") && msg.contains("newer"),
        "{msg}"
    );
    assert!(InferencePolicy::from_checkpoint(&dir).is_err());
}

#[test]
fn another_algorithm_is_refused() {
    let dir = copy("algo");
    edit_metadata(&dir, |m| m["algorithm"] = "APPO".into());
    let e = PPO::from_checkpoint(&dir).unwrap_err();
    assert!(
        matches!(kind(&e), CheckpointErrorKind::WrongAlgorithm { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("APPO"), "{e}");
    assert!(InferencePolicy::from_checkpoint(&dir).is_err());
}

#[test]
fn other_spaces_are_refused() {
    // A CartPole checkpoint restored into an Acrobot algorithm.
    let mut acrobot = config().environment("Acrobot-v1").build().unwrap();
    let e = acrobot.restore_from_path(base()).unwrap_err();
    assert!(
        matches!(
            kind(&e),
            CheckpointErrorKind::SpaceMismatch {
                which: "observation",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("observation space"), "{e}");
    // A checkpoint whose recorded action space differs from the env's.
    let dir = copy("space");
    edit_metadata(&dir, |m| {
        m["action_space"] = serde_json::json!({"Discrete": {"n": 3, "start": 0}})
    });
    let e = PPO::from_checkpoint(&dir).unwrap_err();
    assert!(
        matches!(
            kind(&e),
            CheckpointErrorKind::SpaceMismatch {
                which: "action",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn other_architecture_is_refused() {
    let mut wide = config()
        .rl_module(|m| m.fcnet_hiddens(vec![32, 32]))
        .build()
        .unwrap();
    let e = wide.restore_from_path(base()).unwrap_err();
    assert!(e.to_string().contains("module_config.json"), "{e}");
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate { to: usize },
    Append { bytes: Vec<u8> },
    Delete,
    Empty,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        any::<usize>().prop_map(|to| Mutation::Truncate { to }),
        proptest::collection::vec(any::<u8>(), 1..16).prop_map(|bytes| Mutation::Append { bytes }),
        Just(Mutation::Delete),
        Just(Mutation::Empty),
    ]
}

fn apply(path: &Path, m: &Mutation) {
    let mut bytes = fs::read(path).unwrap();
    match m {
        Mutation::Flip { at, mask } => {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] ^= mask;
            }
        }
        Mutation::Truncate { to } => bytes.truncate(to % bytes.len().max(1)),
        Mutation::Append { bytes: extra } => bytes.extend_from_slice(extra),
        Mutation::Delete => {
            fs::remove_file(path).unwrap();
            return;
        }
        Mutation::Empty => bytes.clear(),
    }
    fs::write(path, bytes).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Whatever is done to one file, loading returns (never panics); a data file that was
    /// changed in any way is always refused, naming it.
    #[test]
    fn mutated_checkpoints_never_panic(file in any::<prop::sample::Index>(), m in mutation()) {
        let all = files();
        let rel = &all[file.index(all.len())];
        let dir = copy(&format!("prop-{}", std::thread::current().name().unwrap_or("t").replace(':', "_")));
        apply(&dir.join(rel), &m);
        let algo = PPO::from_checkpoint(&dir);
        let policy = InferencePolicy::from_checkpoint(&dir);
        let module = load_module(&dir);
        let changed = !matches!(&m, Mutation::Flip { .. }) || fs::read(dir.join(rel)).ok() != fs::read(base().join(rel)).ok();
        if rel != METADATA_FILE && changed {
            let e = algo.expect_err("a changed data file must be refused");
            prop_assert!(e.to_string().contains(rel.as_str()), "{}", e);
        }
        if let Ok(mut p) = policy {
            let obs = rl_core::env::Value::Box(vec![0.0; 4]);
            let _ = p.compute_single_action(&obs, true);
        }
        drop(module);
    }
}
