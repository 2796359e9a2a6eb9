//! Checkpoints inside a trial directory: naming, listing, the latest, pruning to the last K.

use std::fs;
use std::path::{Path, PathBuf};

use super::{CheckpointError, METADATA_FILE};

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
