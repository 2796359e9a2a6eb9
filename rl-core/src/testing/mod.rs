//! Test support (the `test-support` feature): the golden conformance data
//! (`../shared/conformance`) and an env that fails on purpose ([`fault_env`]).

pub mod fault_env;
pub mod scripted_env;

use std::path::PathBuf;

/// The folder holding the conformance data: `$RL_CONFORMANCE_DIR`, or else
/// `../shared/conformance` relative to the workspace root.
pub fn conformance_dir() -> PathBuf {
    match std::env::var_os("RL_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance"),
    }
}

/// Reads and parses one JSON file of the conformance data.
///
/// Test support only: panics (on purpose, so the test fails) with a message saying where it looked when the file is absent: conformance
/// tests must fail, never skip, without their data.
pub fn load_conformance_json(file_name: &str) -> serde_json::Value {
    let path = conformance_dir().join(file_name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "conformance data {} not readable ({e}); set RL_CONFORMANCE_DIR to the folder holding it",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("conformance data {} is not valid JSON: {e}", path.display()))
}
