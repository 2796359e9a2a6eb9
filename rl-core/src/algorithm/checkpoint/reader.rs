//! Validated checkpoint reading: every file is checked against its size and SHA-256 in
//! `metadata.json` before it is parsed.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::writer::backup_path;
use super::{
    check_rel, decode_safetensors, sha256_hex, CheckpointError, CheckpointErrorKind, Metadata,
    NamedTensor, FORMAT_VERSION, FRAMEWORK, MAX_METADATA_BYTES, METADATA_FILE,
};
use crate::env::Space;

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
        let bytes = read_regular_file(&dir, METADATA_FILE, None, MAX_METADATA_BYTES)?;
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
        let bytes = read_regular_file(&self.dir, rel, Some(entry.bytes), entry.bytes)?;
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

    /// The size `metadata.json` records for `rel` (what a reader will accept), if listed.
    pub fn listed_bytes(&self, rel: &str) -> Option<u64> {
        self.metadata.files.get(rel).map(|e| e.bytes)
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

/// Reads `rel` inside `dir` as an untrusted file: every component below `dir` must be a
/// plain directory or, last, a regular file — a symbolic link (which could point outside
/// the checkpoint), a device (`/dev/zero` never ends) or a FIFO (blocks) is refused — and at
/// most `limit` bytes are read, whatever the file claims. With `expected`, a file of
/// another size is refused before reading.
pub(super) fn read_regular_file(
    dir: &Path,
    rel: &str,
    expected: Option<u64>,
    limit: u64,
) -> Result<Vec<u8>, CheckpointError> {
    let path = check_rel(dir, rel)?;
    let mut at = dir.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let meta =
            fs::symlink_metadata(&at).map_err(|e| CheckpointError::io(&at, "read the file", e))?;
        let last = i + 1 == parts.len();
        let kind_ok = if last {
            meta.file_type().is_file()
        } else {
            meta.file_type().is_dir()
        };
        if !kind_ok {
            let what = if meta.file_type().is_symlink() {
                "a symbolic link"
            } else if last {
                "not a regular file"
            } else {
                "not a directory"
            };
            return Err(CheckpointError::malformed(
                &at,
                format!("is {what}; a checkpoint holds only plain files and directories (links could reach outside it)"),
            ));
        }
        if last {
            if let Some(expected) = expected.filter(|&n| n != meta.len()) {
                return Err(CheckpointError::new(
                    &at,
                    CheckpointErrorKind::SizeMismatch {
                        expected,
                        actual: meta.len(),
                    },
                ));
            }
            if meta.len() > limit {
                return Err(CheckpointError::malformed(
                    &at,
                    format!("{} bytes is too large (at most {limit})", meta.len()),
                ));
            }
        }
    }
    let file = File::open(&path).map_err(|e| CheckpointError::io(&path, "read the file", e))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| CheckpointError::io(&path, "read the file", e))?;
    if bytes.len() as u64 > limit {
        return Err(CheckpointError::malformed(
            &path,
            format!("grew past {limit} bytes while being read"),
        ));
    }
    Ok(bytes)
}
