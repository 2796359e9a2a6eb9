//! Atomic checkpoint writing: files go into a temporary sibling directory, are fsynced,
//! `metadata.json` last, and the directory is renamed into place.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::{check_rel, fault, sha256_hex, CheckpointError, FileEntry, Metadata, METADATA_FILE};

/// Makes temporary directory names unique within the process.
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
pub(super) fn backup_path(dir: &Path) -> Result<PathBuf, CheckpointError> {
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
