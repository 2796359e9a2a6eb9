//! Shared by rl-algos' integration tests that compare two runs byte for byte: the result
//! keys that measure time are dropped, and so are the checkpoint files that hold time.

// Each test file uses only some of these.
#![allow(dead_code)]

use std::path::Path;

use rl_core::algorithm::checkpoint::CheckpointReader;
use serde_json::Value;

/// Drops the keys that measure time, at every depth.
pub fn strip_timings(v: &mut Value) {
    if let Value::Object(map) = v {
        map.retain(|k, _| {
            !(k == "timers"
                || k.starts_with("time_")
                || k == "timestamp"
                || k.ends_with("_throughput"))
        });
        map.values_mut().for_each(strip_timings);
    }
}

/// The checkpoint files that hold no time, with their bytes: everything but
/// `algorithm_state.json` (whose counters include `time_total_s`) and `metadata.json`
/// (which holds their checksums).
pub fn state_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let r = CheckpointReader::open(dir).unwrap();
    r.metadata()
        .files
        .keys()
        .filter(|k| k.as_str() != "algorithm_state.json")
        .map(|k| (k.clone(), r.read(k).unwrap()))
        .collect()
}
