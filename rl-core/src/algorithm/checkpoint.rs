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
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::env::Space;
use crate::Rng;

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

/// Checks that `rel` is a relative, `/`-separated path without `..` (files stay inside the
/// checkpoint).
fn check_rel(root: &Path, rel: &str) -> Result<PathBuf, CheckpointError> {
    let p = Path::new(rel);
    let ok = !rel.is_empty()
        && !rel.contains('\\')
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
/// show that a crash mid-save leaves the previous checkpoint intact. Not for production.
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

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn dir_name(dir: &Path) -> Result<String, CheckpointError> {
    dir.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            CheckpointError::malformed(
                dir,
                "a checkpoint path must end in a directory name (UTF-8)",
            )
        })
}

/// Where a checkpoint being replaced is moved while the new one is renamed into place.
fn backup_path(dir: &Path) -> Result<PathBuf, CheckpointError> {
    let name = dir_name(dir)?;
    Ok(dir.with_file_name(format!(".{name}.old")))
}

/// Fsyncs a directory (so renames and new entries in it are durable). A no-op where
/// directories cannot be opened (Windows).
fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| CheckpointError::io(dir, "fsync the directory", e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// If a save was interrupted between moving the previous checkpoint aside and renaming
/// the new one into place, `dir` is missing and its backup complete: put it back.
fn recover_interrupted_swap(dir: &Path) -> Result<(), CheckpointError> {
    let backup = backup_path(dir)?;
    if !dir.exists() && backup.join(METADATA_FILE).is_file() {
        fs::rename(&backup, dir)
            .map_err(|e| CheckpointError::io(&backup, "restore the previous checkpoint", e))?;
    } else if dir.exists() && backup.exists() {
        // The swap completed but the old copy was not removed yet.
        fs::remove_dir_all(&backup)
            .map_err(|e| CheckpointError::io(&backup, "remove the old checkpoint", e))?;
    }
    Ok(())
}

/// Writes a checkpoint atomically: files go into a temporary sibling directory
/// (`.<name>.tmp-<pid>-<n>`), each fsynced; [`commit`](CheckpointWriter::commit) writes
/// `metadata.json` with every file's checksum, fsyncs the directories and renames the
/// temporary directory to its final name. Dropping the writer without committing removes
/// the temporary directory; a crash leaves it behind (it is ignored by readers and removed
/// by the next save to the same path).
#[derive(Debug)]
pub struct CheckpointWriter {
    final_dir: PathBuf,
    tmp_dir: PathBuf,
    files: BTreeMap<String, FileEntry>,
    dirs: Vec<PathBuf>,
    fault_counter: usize,
    committed: bool,
}

impl CheckpointWriter {
    /// Starts writing the checkpoint that will appear at `dir` (created with its parents;
    /// an existing checkpoint there is replaced on commit).
    pub fn begin(dir: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let final_dir = dir.as_ref().to_path_buf();
        let name = dir_name(&final_dir)?;
        let parent = match final_dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)
            .map_err(|e| CheckpointError::io(&parent, "create the directory", e))?;
        recover_interrupted_swap(&final_dir)?;
        remove_stale_temporaries(&parent, &name);
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp_dir = parent.join(format!(".{name}.tmp-{}-{n}", std::process::id()));
        if tmp_dir.exists() {
            fs::remove_dir_all(&tmp_dir).map_err(|e| {
                CheckpointError::io(&tmp_dir, "remove a stale temporary directory", e)
            })?;
        }
        fs::create_dir(&tmp_dir)
            .map_err(|e| CheckpointError::io(&tmp_dir, "create the temporary directory", e))?;
        Ok(CheckpointWriter {
            final_dir,
            dirs: vec![tmp_dir.clone()],
            tmp_dir,
            files: BTreeMap::new(),
            fault_counter: 0,
            committed: false,
        })
    }

    /// The directory the checkpoint will appear at.
    pub fn final_dir(&self) -> &Path {
        &self.final_dir
    }

    /// Writes one data file (`rel` is `/`-separated, relative to the checkpoint) and
    /// records its size and checksum.
    pub fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
        if rel == METADATA_FILE || self.files.contains_key(rel) {
            return Err(CheckpointError::malformed(
                self.tmp_dir.join(rel),
                "written twice (or reserved name)",
            ));
        }
        let path = check_rel(&self.tmp_dir, rel)?;
        if let Some(parent) = path.parent() {
            if !parent.exists() {
                fs::create_dir_all(parent)
                    .map_err(|e| CheckpointError::io(parent, "create the directory", e))?;
                let mut p = parent.to_path_buf();
                while p.starts_with(&self.tmp_dir) && p != self.tmp_dir {
                    if !self.dirs.contains(&p) {
                        self.dirs.push(p.clone());
                    }
                    if !p.pop() {
                        break;
                    }
                }
            }
        }
        self.write_synced(&path, bytes)?;
        self.files.insert(
            rel.to_string(),
            FileEntry {
                bytes: bytes.len() as u64,
                sha256: sha256_hex(bytes),
            },
        );
        Ok(())
    }

    /// Writes `value` as pretty JSON into `rel`.
    pub fn write_json<T: Serialize + ?Sized>(
        &mut self,
        rel: &str,
        value: &T,
    ) -> Result<(), CheckpointError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| {
            CheckpointError::malformed(self.tmp_dir.join(rel), format!("cannot serialize: {e}"))
        })?;
        self.write(rel, &bytes)
    }

    fn write_synced(&mut self, path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
        let mut f =
            File::create(path).map_err(|e| CheckpointError::io(path, "create the file", e))?;
        if fault::armed() {
            let half = bytes.len() / 2;
            f.write_all(&bytes[..half])
                .map_err(|e| CheckpointError::io(path, "write the file", e))?;
            f.sync_all()
                .map_err(|e| CheckpointError::io(path, "fsync the file", e))?;
            fault::point(&mut self.fault_counter);
            f.write_all(&bytes[half..])
                .map_err(|e| CheckpointError::io(path, "write the file", e))?;
        } else {
            f.write_all(bytes)
                .map_err(|e| CheckpointError::io(path, "write the file", e))?;
        }
        f.sync_all()
            .map_err(|e| CheckpointError::io(path, "fsync the file", e))?;
        fault::point(&mut self.fault_counter);
        Ok(())
    }

    /// Writes `metadata.json` (with `metadata.files` replaced by the files written),
    /// fsyncs, and renames the checkpoint into place; returns its path. A checkpoint
    /// already at that path is replaced: it is moved aside (`.<name>.old`), the new one
    /// renamed in, then the old one removed.
    pub fn commit(mut self, mut metadata: Metadata) -> Result<PathBuf, CheckpointError> {
        metadata.files = std::mem::take(&mut self.files);
        let bytes = serde_json::to_vec_pretty(&metadata).map_err(|e| {
            CheckpointError::malformed(
                self.tmp_dir.join(METADATA_FILE),
                format!("cannot serialize: {e}"),
            )
        })?;
        let meta_path = self.tmp_dir.join(METADATA_FILE);
        self.write_synced(&meta_path, &bytes)?;
        // Deepest directories first, the temporary root last.
        let mut dirs = self.dirs.clone();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in &dirs {
            sync_dir(d)?;
        }
        fault::point(&mut self.fault_counter);
        let parent = self
            .tmp_dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let backup = backup_path(&self.final_dir)?;
        let replacing = self.final_dir.exists();
        if replacing {
            if backup.exists() {
                fs::remove_dir_all(&backup)
                    .map_err(|e| CheckpointError::io(&backup, "remove the old checkpoint", e))?;
            }
            fs::rename(&self.final_dir, &backup).map_err(|e| {
                CheckpointError::io(&self.final_dir, "move the previous checkpoint aside", e)
            })?;
            fault::point(&mut self.fault_counter);
        }
        fs::rename(&self.tmp_dir, &self.final_dir).map_err(|e| {
            CheckpointError::io(&self.final_dir, "rename the new checkpoint into place", e)
        })?;
        self.committed = true;
        sync_dir(&parent)?;
        fault::point(&mut self.fault_counter);
        if replacing {
            fs::remove_dir_all(&backup)
                .map_err(|e| CheckpointError::io(&backup, "remove the old checkpoint", e))?;
        }
        Ok(self.final_dir.clone())
    }
}

impl Drop for CheckpointWriter {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp_dir);
        }
    }
}

/// Removes temporary directories (`.<name>.tmp-*`) that crashed saves left in `parent`.
fn remove_stale_temporaries(parent: &Path, name: &str) {
    let prefix = format!(".{name}.tmp-");
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Reads a checkpoint: `metadata.json` is parsed and checked on [`open`](Self::open), and
/// every file read is first checked against the size and SHA-256 the metadata records.
#[derive(Clone, Debug)]
pub struct CheckpointReader {
    dir: PathBuf,
    metadata: Metadata,
}

impl CheckpointReader {
    /// Opens the checkpoint in `dir` and checks its metadata: present, parseable, a
    /// format this build reads, written by this framework.
    ///
    /// If a save into `dir` was interrupted in the instant between moving the previous
    /// checkpoint aside and renaming the new one in, the previous one (`.<name>.old`) is
    /// read instead.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        let mut dir = dir.as_ref().to_path_buf();
        if !dir.exists() {
            if let Ok(backup) = backup_path(&dir) {
                if backup.join(METADATA_FILE).is_file() {
                    dir = backup;
                }
            }
        }
        if !dir.is_dir() {
            return Err(CheckpointError::new(&dir, CheckpointErrorKind::Missing));
        }
        let meta_path = dir.join(METADATA_FILE);
        let len = fs::metadata(&meta_path)
            .map_err(|e| CheckpointError::io(&meta_path, "read the file", e))?
            .len();
        if len > MAX_METADATA_BYTES {
            return Err(CheckpointError::malformed(
                &meta_path,
                format!(
                    "{len} bytes is too large for a metadata file (at most {MAX_METADATA_BYTES})"
                ),
            ));
        }
        let bytes = fs::read(&meta_path)
            .map_err(|e| CheckpointError::io(&meta_path, "read the file", e))?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| CheckpointError::malformed(&meta_path, format!("not valid JSON: {e}")))?;
        let version = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| {
                CheckpointError::malformed(
                    &meta_path,
                    "no integer `format_version`: not a checkpoint of rl",
                )
            })?;
        if version > u64::from(FORMAT_VERSION) {
            let written_by = format!(
                "{} {}",
                value
                    .get("framework")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?"),
                value
                    .get("framework_version")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
            );
            return Err(CheckpointError::new(
                &meta_path,
                CheckpointErrorKind::NewerFormat {
                    found: version,
                    supported: FORMAT_VERSION,
                    written_by,
                },
            ));
        }
        let metadata: Metadata = serde_json::from_value(value).map_err(|e| {
            CheckpointError::malformed(&meta_path, format!("unexpected content: {e}"))
        })?;
        if metadata.framework != FRAMEWORK {
            return Err(CheckpointError::malformed(
                &meta_path,
                format!(
                    "written by framework {:?}, not {FRAMEWORK:?}",
                    metadata.framework
                ),
            ));
        }
        for rel in metadata.files.keys() {
            check_rel(&dir, rel)?;
        }
        Ok(CheckpointReader { dir, metadata })
    }

    /// The checkpoint's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed `metadata.json`.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    fn meta_path(&self) -> PathBuf {
        self.dir.join(METADATA_FILE)
    }

    /// Refuses a checkpoint of another algorithm.
    pub fn expect_algorithm(&self, algorithm: &str) -> Result<(), CheckpointError> {
        if self.metadata.algorithm == algorithm {
            Ok(())
        } else {
            Err(CheckpointError::new(
                self.meta_path(),
                CheckpointErrorKind::WrongAlgorithm {
                    found: self.metadata.algorithm.clone(),
                    expected: algorithm.to_string(),
                },
            ))
        }
    }

    /// Refuses a checkpoint saved for other observation or action spaces.
    pub fn expect_spaces(
        &self,
        observation_space: &Space,
        action_space: &Space,
    ) -> Result<(), CheckpointError> {
        let json = |s: &Space| serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"));
        for (which, found, expected) in [
            (
                "observation",
                &self.metadata.observation_space,
                observation_space,
            ),
            ("action", &self.metadata.action_space, action_space),
        ] {
            if found != expected {
                return Err(CheckpointError::new(
                    self.meta_path(),
                    CheckpointErrorKind::SpaceMismatch {
                        which,
                        found: json(found),
                        expected: json(expected),
                    },
                ));
            }
        }
        Ok(())
    }

    /// Whether the metadata lists `rel`.
    pub fn has(&self, rel: &str) -> bool {
        self.metadata.files.contains_key(rel)
    }

    /// The listed files under `prefix` (e.g. `"env_runner/runner_"`), in order.
    pub fn files_under(&self, prefix: &str) -> Vec<&str> {
        self.metadata
            .files
            .keys()
            .filter(|k| k.starts_with(prefix))
            .map(String::as_str)
            .collect()
    }

    /// The full path of `rel` inside the checkpoint.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// Reads `rel` after checking it is listed in the metadata and that its size and
    /// SHA-256 match.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, CheckpointError> {
        let path = self.path(rel);
        let entry = self.metadata.files.get(rel).ok_or_else(|| {
            CheckpointError::malformed(
                &path,
                "is not listed in metadata.json: the checkpoint is incomplete or of another layout",
            )
        })?;
        let actual_len = fs::metadata(&path)
            .map_err(|e| CheckpointError::io(&path, "read the file", e))?
            .len();
        if actual_len != entry.bytes {
            return Err(CheckpointError::new(
                &path,
                CheckpointErrorKind::SizeMismatch {
                    expected: entry.bytes,
                    actual: actual_len,
                },
            ));
        }
        let bytes = fs::read(&path).map_err(|e| CheckpointError::io(&path, "read the file", e))?;
        if bytes.len() as u64 != entry.bytes {
            return Err(CheckpointError::new(
                &path,
                CheckpointErrorKind::SizeMismatch {
                    expected: entry.bytes,
                    actual: bytes.len() as u64,
                },
            ));
        }
        let actual = sha256_hex(&bytes);
        if !actual.eq_ignore_ascii_case(&entry.sha256) {
            return Err(CheckpointError::new(
                &path,
                CheckpointErrorKind::ChecksumMismatch {
                    expected: entry.sha256.clone(),
                    actual,
                },
            ));
        }
        Ok(bytes)
    }

    /// Reads and parses a JSON file (verified as [`read`](Self::read) does).
    pub fn read_json<T: DeserializeOwned>(&self, rel: &str) -> Result<T, CheckpointError> {
        let bytes = self.read(rel)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            CheckpointError::malformed(self.path(rel), format!("unexpected content: {e}"))
        })
    }

    /// Reads and decodes a safetensors file (verified as [`read`](Self::read) does).
    pub fn read_safetensors(&self, rel: &str) -> Result<Vec<NamedTensor>, CheckpointError> {
        let bytes = self.read(rel)?;
        decode_safetensors(&bytes)
            .map_err(|reason| CheckpointError::malformed(self.path(rel), reason))
    }
}

/// One f32 tensor of a safetensors file.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// The tensor's name.
    pub name: String,
    /// Its shape (torch convention: a bias is `[n]`).
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

#[derive(Serialize, Deserialize)]
struct TensorInfo {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// Encodes f32 tensors in the safetensors layout: an 8-byte little-endian header length
/// `N`, `N` bytes of JSON header (`{"name": {"dtype": "F32", "shape": [...],
/// "data_offsets": [begin, end]}, ..., "__metadata__": {...}}`, space-padded so the data
/// starts 8-byte aligned), then the tensors' little-endian f32 values back to back, in the
/// order given. `safetensors.numpy.load_file` reads it.
pub fn encode_safetensors(
    tensors: &[(&str, &[usize], &[f32])],
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::json!(metadata));
    }
    let mut offset = 0u64;
    for (name, shape, data) in tensors {
        let end = offset + 4 * data.len() as u64;
        header.insert(
            (*name).to_string(),
            serde_json::to_value(TensorInfo {
                dtype: "F32".into(),
                shape: shape.to_vec(),
                data_offsets: [offset, end],
            })
            .unwrap_or(serde_json::Value::Null),
        );
        offset = end;
    }
    let mut head = serde_json::to_vec(&header).unwrap_or_else(|_| b"{}".to_vec());
    while (8 + head.len()) & 7 != 0 {
        head.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + head.len() + offset as usize);
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    for (_, _, data) in tensors {
        for x in *data {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

/// Decodes a safetensors file of F32 tensors (see [`encode_safetensors`]); tensors come
/// back in the order of their data. Every inconsistency is an error, never a panic.
pub fn decode_safetensors(bytes: &[u8]) -> Result<Vec<NamedTensor>, String> {
    let head_len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .ok_or("shorter than the 8-byte safetensors header length")?;
    let data_start = 8u64
        .checked_add(head_len)
        .filter(|&s| s <= bytes.len() as u64)
        .ok_or_else(|| {
            format!(
                "header length {head_len} exceeds the file's {} bytes",
                bytes.len()
            )
        })? as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..data_start])
            .map_err(|e| format!("safetensors header is not a JSON object: {e}"))?;
    let data = &bytes[data_start..];
    let mut tensors = Vec::new();
    let mut spans = Vec::new();
    for (name, info) in header {
        if name == "__metadata__" {
            continue;
        }
        let info: TensorInfo = serde_json::from_value(info)
            .map_err(|e| format!("tensor {name:?}: bad header entry: {e}"))?;
        if info.dtype != "F32" {
            return Err(format!(
                "tensor {name:?} has dtype {}, only F32 is supported",
                info.dtype
            ));
        }
        let [begin, end] = info.data_offsets;
        let count = info
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| format!("tensor {name:?}: shape {:?} overflows", info.shape))?;
        if begin > end || end > data.len() as u64 || end - begin != count.saturating_mul(4) {
            return Err(format!(
                "tensor {name:?}: data_offsets [{begin}, {end}] do not fit shape {:?} in {} data bytes",
                info.shape,
                data.len()
            ));
        }
        let values = data[begin as usize..end as usize]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        spans.push((begin, end));
        tensors.push((
            begin,
            NamedTensor {
                name,
                shape: info.shape,
                data: values,
            },
        ));
    }
    spans.sort_unstable();
    let mut cursor = 0;
    for (b, e) in spans {
        if b != cursor {
            return Err("tensor data overlap or leave holes".into());
        }
        cursor = e;
    }
    if cursor != data.len() as u64 {
        return Err(format!(
            "{} data bytes but the tensors cover {cursor}",
            data.len()
        ));
    }
    tensors.sort_by_key(|(b, _)| *b);
    Ok(tensors.into_iter().map(|(_, t)| t).collect())
}

/// A PCG-64 (`Lcg128Xsl64`) RNG state in a portable form: the 128-bit `state` and
/// `increment` as decimal strings (JSON numbers cannot hold them exactly in most readers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// `"pcg64"`: `rand_pcg::Pcg64` (`Lcg128Xsl64`), as NumPy's `PCG64` (state, inc).
    pub algorithm: String,
    /// The LCG state, decimal.
    pub state: String,
    /// The LCG increment (odd), decimal.
    pub increment: String,
}

#[derive(Serialize, Deserialize)]
struct RawPcg {
    state: u128,
    increment: u128,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &Rng) -> Self {
        let raw: Option<RawPcg> = serde_json::to_string(rng)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        let raw = raw.unwrap_or(RawPcg {
            state: 0,
            increment: 1,
        });
        RngState {
            algorithm: "pcg64".into(),
            state: raw.state.to_string(),
            increment: raw.increment.to_string(),
        }
    }

    /// The RNG this state describes; an error says what is wrong.
    pub fn to_rng(&self) -> Result<Rng, String> {
        if self.algorithm != "pcg64" {
            return Err(format!(
                "RNG algorithm {:?} is not \"pcg64\"",
                self.algorithm
            ));
        }
        let state: u128 = self
            .state
            .parse()
            .map_err(|e| format!("RNG state {:?}: {e}", self.state))?;
        let increment: u128 = self
            .increment
            .parse()
            .map_err(|e| format!("RNG increment {:?}: {e}", self.increment))?;
        if increment & 1 == 0 {
            return Err(format!("RNG increment {increment} must be odd"));
        }
        let json =
            serde_json::to_string(&RawPcg { state, increment }).map_err(|e| e.to_string())?;
        serde_json::from_str(&json).map_err(|e| format!("cannot rebuild the RNG: {e}"))
    }
}

/// The name of the `index`-th checkpoint of a run: `checkpoint_000000`, as Ray Tune names
/// them.
pub fn checkpoint_dir_name(index: usize) -> String {
    format!("checkpoint_{index:06}")
}

/// The run's checkpoints in `trial_dir` (`checkpoint_NNNNNN` directories with a
/// `metadata.json`), sorted by index.
pub fn list_checkpoints(trial_dir: impl AsRef<Path>) -> Vec<(usize, PathBuf)> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(trial_dir.as_ref()) else {
        return out;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(index) = name
            .to_str()
            .and_then(|n| n.strip_prefix("checkpoint_"))
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
        else {
            continue;
        };
        if entry.path().join(METADATA_FILE).is_file() {
            out.push((index, entry.path()));
        }
    }
    out.sort();
    out
}

/// The most recent checkpoint in `trial_dir`, if any.
pub fn latest_checkpoint(trial_dir: impl AsRef<Path>) -> Option<PathBuf> {
    list_checkpoints(trial_dir).pop().map(|(_, p)| p)
}

/// Removes the oldest checkpoints in `trial_dir` so that at most `keep` (at least 1)
/// remain.
pub fn prune_checkpoints(trial_dir: impl AsRef<Path>, keep: usize) -> Result<(), CheckpointError> {
    let all = list_checkpoints(trial_dir);
    let excess = all.len().saturating_sub(keep.max(1));
    for (_, path) in all.into_iter().take(excess) {
        fs::remove_dir_all(&path)
            .map_err(|e| CheckpointError::io(&path, "remove an old checkpoint", e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rl-ckpt-unit-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn meta() -> Metadata {
        Metadata {
            format_version: FORMAT_VERSION,
            framework: FRAMEWORK.into(),
            framework_version: FRAMEWORK_VERSION.into(),
            checkpoint_type: "Algorithm".into(),
            algorithm: "Test".into(),
            modules: BTreeMap::new(),
            observation_space: Space::Discrete { n: 3, start: 0 },
            action_space: Space::Discrete { n: 2, start: 0 },
            training_iteration: 0,
            files: BTreeMap::new(),
        }
    }

    #[test]
    fn safetensors_roundtrip_and_layout() {
        let a = [1.0f32, -2.5, 3.25, f32::MIN_POSITIVE, 0.1, 7.0];
        let b = [42.0f32];
        let bytes = encode_safetensors(&[("w", &[2, 3], &a), ("b", &[1], &b)], &BTreeMap::new());
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + n) % 8, 0);
        assert_eq!(bytes.len(), 8 + n + 4 * 7);
        let t = decode_safetensors(&bytes).unwrap();
        assert_eq!(t[0].name, "w");
        assert_eq!(t[0].shape, vec![2, 3]);
        assert_eq!(t[0].data, a);
        assert_eq!(t[1].data, b);
        assert!(decode_safetensors(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_safetensors(&bytes[..5]).is_err());
    }

    #[test]
    fn rng_state_roundtrip() {
        let mut rng = Rng::seed_from_u64(7);
        rng.next_u64();
        let s = RngState::of(&rng);
        let mut back = s.to_rng().unwrap();
        assert_eq!(back.next_u64(), rng.next_u64());
        assert!(RngState {
            increment: "2".into(),
            ..s.clone()
        }
        .to_rng()
        .is_err());
        assert!(RngState {
            state: "x".into(),
            ..s
        }
        .to_rng()
        .is_err());
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
