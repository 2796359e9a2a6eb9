//! Checkpoint directories: atomic writing, metadata with per-file checksums, validated
//! reading with typed errors, and the portable data formats (JSON, safetensors).
//!
//! This module is algorithm-agnostic: an algorithm decides which files a checkpoint holds
//! (`rl_algos::PPO` writes `learner/module/default_policy/weights.safetensors`, …) and this
//! module makes sure that
//!
//! - a checkpoint appears complete or not at all ([`CheckpointWriter`]: every file is
//!   written into a temporary sibling directory, fsynced, `metadata.json` last, then the
//!   directory is renamed into place);
//! - every data file is verified against the size and SHA-256 recorded in `metadata.json`
//!   before it is parsed ([`CheckpointReader`]), so a truncated or corrupted file is refused
//!   with an error naming it, never parsed into garbage;
//! - checkpoints written by a newer format, by another algorithm, or for other
//!   observation/action spaces are refused with a [`CheckpointError`] that says so.
//!
//! The format is documented in `docs/checkpoints.md`.

use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::env::Space;

mod module_files;
mod params_io;
mod reader;
mod trial_dir;
mod writer;

pub use crate::safetensors::{
    decode_safetensors, encode_safetensors, NamedTensor, MAX_HEADER_BYTES,
};
pub use crate::seeding::RngState;
pub use module_files::{
    read_module_learner, read_module_weights, read_optimizer, write_module_learner,
    write_module_weights, write_optimizer, ModuleLearnerState, MODULE_WEIGHTS_FILE,
    OPTIMIZER_MOMENTS_FILE, OPTIMIZER_STATE_FILE,
};
pub use params_io::{
    arrays_for_params, encode_adam_moments, encode_arrays, encode_params, load_params, read_adam,
    read_params, AdamScalars,
};
pub use reader::CheckpointReader;
pub use trial_dir::{checkpoint_dir_name, latest_checkpoint, list_checkpoints, prune_checkpoints};
pub use writer::CheckpointWriter;

/// `algorithm_state.json`: the driver's config, counters, episode window and filter states.
pub const ALGORITHM_STATE_FILE: &str = "algorithm_state.json";

/// The config saved in a checkpoint of the algorithm named `algorithm` (the `config` of
/// `algorithm_state.json`): what the algorithm and its module are rebuilt from.
pub fn read_saved_config<C: serde::de::DeserializeOwned>(
    reader: &CheckpointReader,
    algorithm: &str,
) -> Result<C, CheckpointError> {
    #[derive(Deserialize)]
    struct Saved<C> {
        config: C,
    }
    reader.expect_algorithm(algorithm)?;
    let saved: Saved<C> = reader.read_json(ALGORITHM_STATE_FILE)?;
    Ok(saved.config)
}

/// The checkpoint format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// The metadata file at the root of every checkpoint.
pub const METADATA_FILE: &str = "metadata.json";
/// The framework name recorded in the metadata.
pub const FRAMEWORK: &str = "rl";
/// The framework version recorded in the metadata.
pub const FRAMEWORK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// `metadata.json` files larger than this are refused (a real one is a few kilobytes).
const MAX_METADATA_BYTES: u64 = 16 << 20;

/// What is wrong with a checkpoint (see [`CheckpointError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointErrorKind {
    /// The file or directory does not exist.
    #[error("missing; the checkpoint is incomplete or the path is wrong (a checkpoint directory holds metadata.json)")]
    Missing,
    /// Reading or writing failed.
    #[error("cannot {action}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The underlying error.
        source: io::Error,
    },
    /// The file's size differs from the one recorded in `metadata.json`.
    #[error("has {actual} bytes but metadata.json records {expected}: the file is truncated or was rewritten; use another checkpoint")]
    SizeMismatch {
        /// Size recorded in the metadata.
        expected: u64,
        /// Size on disk.
        actual: u64,
    },
    /// The file's SHA-256 differs from the one recorded in `metadata.json`.
    #[error("checksum mismatch (metadata.json records sha256 {expected}, the file has {actual}): the file is corrupted; use another checkpoint")]
    ChecksumMismatch {
        /// Hex digest recorded in the metadata.
        expected: String,
        /// Hex digest of the file.
        actual: String,
    },
    /// The checkpoint was written by a newer format than this build reads.
    #[error("format_version {found} is newer than the newest this build reads ({supported}); load it with a newer version of rl (it was written by {written_by})")]
    NewerFormat {
        /// The checkpoint's format version.
        found: u64,
        /// The newest version this build reads.
        supported: u32,
        /// Framework and version that wrote it.
        written_by: String,
    },
    /// The checkpoint is of another algorithm.
    #[error("is a checkpoint of {found}, not {expected}; load it with {found}'s from_checkpoint")]
    WrongAlgorithm {
        /// The algorithm that wrote it.
        found: String,
        /// The algorithm asked for.
        expected: String,
    },
    /// The checkpoint's observation or action space differs from the env's.
    #[error("was saved for the {which} space {found}, but the env's is {expected}; restore it into an algorithm built for the same env")]
    SpaceMismatch {
        /// `"observation"` or `"action"`.
        which: &'static str,
        /// The checkpoint's space (JSON).
        found: String,
        /// The env's space (JSON).
        expected: String,
    },
    /// The file does not parse or holds inconsistent values.
    #[error("{0}")]
    Malformed(String),
}

/// A checkpoint cannot be written or used: the file at fault and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint file {}: {kind}", path.display())]
pub struct CheckpointError {
    /// The file or directory at fault.
    pub path: PathBuf,
    /// What is wrong.
    pub kind: CheckpointErrorKind,
}

impl CheckpointError {
    /// An error about `path`.
    pub fn new(path: impl Into<PathBuf>, kind: CheckpointErrorKind) -> Self {
        CheckpointError {
            path: path.into(),
            kind,
        }
    }

    /// A [`CheckpointErrorKind::Malformed`] error about `path`.
    pub fn malformed(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Self::new(path, CheckpointErrorKind::Malformed(reason.into()))
    }

    fn io(path: impl Into<PathBuf>, action: &'static str, source: io::Error) -> Self {
        let kind = if source.kind() == io::ErrorKind::NotFound {
            CheckpointErrorKind::Missing
        } else {
            CheckpointErrorKind::Io { action, source }
        };
        Self::new(path, kind)
    }
}

/// Size and SHA-256 of one data file, as `metadata.json` records them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The content of `metadata.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// The format version ([`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
    /// `"rl"`.
    pub framework: String,
    /// The version of rl that wrote the checkpoint.
    pub framework_version: String,
    /// What the checkpoint holds: `"Algorithm"`.
    pub checkpoint_type: String,
    /// The algorithm's name, e.g. `"PPO"`.
    pub algorithm: String,
    /// Module id → module class, e.g. `{"default_policy": "PPOModule"}`.
    pub modules: BTreeMap<String, String>,
    /// The env's observation space.
    pub observation_space: Space,
    /// The env's action space.
    pub action_space: Space,
    /// Training iterations completed when the checkpoint was written.
    pub training_iteration: u64,
    /// Every data file (path relative to the checkpoint, `/`-separated) with its size and
    /// checksum.
    pub files: BTreeMap<String, FileEntry>,
}

/// The lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Whether an MLP through the layer widths `dims` (input, hidden…, output) can be stored
/// in `bytes` bytes of f32 weights: its weight matrices alone (`Σ aᵢ·aᵢ₊₁` numbers, checked
/// arithmetic) must fit. Lets a reader refuse an architecture claimed by a small file
/// before allocating it.
pub fn fits_in(dims: impl IntoIterator<Item = usize>, bytes: u64) -> bool {
    let dims: Vec<u64> = dims.into_iter().map(|d| d as u64).collect();
    let weights = dims
        .windows(2)
        .try_fold(0u64, |acc, w| acc.checked_add(w[0].checked_mul(w[1])?));
    weights
        .and_then(|w| w.checked_mul(4))
        .is_some_and(|b| b <= bytes)
}

/// Checks that `rel` is a relative, `/`-separated path without `..` (files stay inside the
/// checkpoint).
fn check_rel(root: &Path, rel: &str) -> Result<PathBuf, CheckpointError> {
    let p = Path::new(rel);
    let ok = !rel.is_empty()
        && !rel.contains('\\')
        && rel
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && p.components().all(|c| matches!(c, Component::Normal(_)));
    if ok {
        Ok(root.join(p))
    } else {
        Err(CheckpointError::malformed(
            root.join(METADATA_FILE),
            format!("file name {rel:?} is not a plain relative path inside the checkpoint"),
        ))
    }
}

/// Test-only fault injection: aborts the process at a chosen point of the next saves, to
/// show that a crash mid-save leaves the previous checkpoint intact. Compiled only with the
/// `test-support` feature (tests enable it through dev-dependencies).
#[cfg(feature = "test-support")]
#[doc(hidden)]
pub mod fault {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static ABORT_AT: AtomicUsize = AtomicUsize::new(usize::MAX);

    /// Abort (`std::process::abort`, no cleanup) at the `n`-th fault point of a save
    /// (0-based). Fault points: half of each file written, each file written and fsynced,
    /// `metadata.json` written, directories fsynced, the old checkpoint moved aside, the
    /// new one renamed into place.
    pub fn abort_at(n: usize) {
        ABORT_AT.store(n, Ordering::SeqCst);
    }

    pub(super) fn point(counter: &mut usize) {
        if *counter == ABORT_AT.load(Ordering::SeqCst) {
            std::process::abort();
        }
        *counter += 1;
    }

    pub(super) fn armed() -> bool {
        ABORT_AT.load(Ordering::SeqCst) != usize::MAX
    }
}

/// Without `test-support` the writer's fault points compile to nothing.
#[cfg(not(feature = "test-support"))]
mod fault {
    #[inline(always)]
    pub(super) fn point(_counter: &mut usize) {}

    #[inline(always)]
    pub(super) fn armed() -> bool {
        false
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::fs;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rl-ckpt-unit-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn meta() -> Metadata {
        meta_with(Space::Discrete { n: 3, start: 0 })
    }

    /// A checkpoint's metadata for a test algorithm with these observations and two actions.
    pub(crate) fn meta_with(observation_space: Space) -> Metadata {
        Metadata {
            format_version: FORMAT_VERSION,
            framework: FRAMEWORK.into(),
            framework_version: FRAMEWORK_VERSION.into(),
            checkpoint_type: "Algorithm".into(),
            algorithm: "Test".into(),
            modules: BTreeMap::new(),
            observation_space,
            action_space: Space::Discrete { n: 2, start: 0 },
            training_iteration: 0,
            files: BTreeMap::new(),
        }
    }

    #[test]
    fn write_read_verify_and_replace() {
        let root = tmp("wr");
        let dir = root.join("ck");
        let mut w = CheckpointWriter::begin(&dir).unwrap();
        w.write("a/b.bin", b"hello").unwrap();
        w.write_json("c.json", &serde_json::json!({"x": 1}))
            .unwrap();
        assert!(w.write("../evil", b"").is_err());
        w.commit(meta()).unwrap();
        let r = CheckpointReader::open(&dir).unwrap();
        assert_eq!(r.read("a/b.bin").unwrap(), b"hello");
        fs::write(dir.join("a/b.bin"), b"hellO").unwrap();
        let e = r.read("a/b.bin").unwrap_err();
        assert!(
            matches!(e.kind, CheckpointErrorKind::ChecksumMismatch { .. }),
            "{e}"
        );
        assert!(e.to_string().contains("b.bin"));
        fs::write(dir.join("a/b.bin"), b"hell").unwrap();
        assert!(matches!(
            r.read("a/b.bin").unwrap_err().kind,
            CheckpointErrorKind::SizeMismatch { .. }
        ));
        fs::remove_file(dir.join("a/b.bin")).unwrap();
        assert!(matches!(
            r.read("a/b.bin").unwrap_err().kind,
            CheckpointErrorKind::Missing
        ));
        // Replace the checkpoint: the new one is complete, no leftovers.
        let mut w = CheckpointWriter::begin(&dir).unwrap();
        w.write("a/b.bin", b"bye").unwrap();
        w.commit(meta()).unwrap();
        assert_eq!(
            CheckpointReader::open(&dir)
                .unwrap()
                .read("a/b.bin")
                .unwrap(),
            b"bye"
        );
        let names: Vec<_> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        // A newer format is refused.
        let mut m: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.join(METADATA_FILE)).unwrap()).unwrap();
        m["format_version"] = serde_json::json!(FORMAT_VERSION + 1);
        fs::write(dir.join(METADATA_FILE), serde_json::to_vec(&m).unwrap()).unwrap();
        let e = CheckpointReader::open(&dir).unwrap_err();
        assert!(
            matches!(e.kind, CheckpointErrorKind::NewerFormat { .. }),
            "{e}"
        );
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn listing_and_pruning() {
        let root = tmp("prune");
        for i in [0, 1, 2, 10] {
            let w = CheckpointWriter::begin(root.join(checkpoint_dir_name(i))).unwrap();
            w.commit(meta()).unwrap();
        }
        fs::create_dir_all(root.join("checkpoint_x")).unwrap();
        assert_eq!(
            latest_checkpoint(&root).unwrap(),
            root.join("checkpoint_000010")
        );
        prune_checkpoints(&root, 2).unwrap();
        let left: Vec<usize> = list_checkpoints(&root)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        assert_eq!(left, vec![2, 10]);
        let _ = fs::remove_dir_all(&root);
    }
}
