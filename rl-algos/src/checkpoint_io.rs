//! Checkpoint pieces the algorithms share.

use rl_core::algorithm::checkpoint::{self as ckpt, CheckpointError, CheckpointReader};
use rl_core::algorithm::DEFAULT_MODULE_ID as MODULE_ID;

/// Checks that `metadata.json` lists the single module (`default_policy`).
pub(crate) fn check_module_listed(reader: &CheckpointReader) -> Result<(), CheckpointError> {
    if reader.metadata().modules.contains_key(MODULE_ID) {
        Ok(())
    } else {
        Err(CheckpointError::malformed(
            reader.path(ckpt::METADATA_FILE),
            format!(
                "lists the modules {:?}, not {MODULE_ID:?}",
                reader.metadata().modules.keys().collect::<Vec<_>>()
            ),
        ))
    }
}
