//! Tune's part of the trial files: writing results through rl-core's
//! [`TrialWriter`](rl_core::metrics::TrialWriter) (`params.json`, `result.json`,
//! `progress.csv`), continuing them after a restart, `error.txt`, and the experiment-level
//! files (`pbt_global.txt`).

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use rl_core::metrics::{ResultDict, TrialWriter};
use serde_json::Value;

use super::TuneError;

/// The trial's results, one per line of `result.json` (an absent file reads as none).
pub fn read_results(dir: &Path) -> Result<Vec<ResultDict>, TuneError> {
    let path = dir.join("result.json");
    let file = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TuneError::io(path, e)),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|e| TuneError::io(&path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(o)) => out.push(o),
            // A line cut short by a kill mid-write ends the file.
            _ => break,
        }
    }
    Ok(out)
}

/// Opens the trial's files to continue after iteration `keep`: `params.json` is
/// rewritten, result rows after `keep` are dropped (a restarted trial recomputes them),
/// so that a killed-and-resumed trial's files equal an uninterrupted one's.
///
/// Today this reads the kept rows and writes them again through a new
/// [`TrialWriter`]; with an append mode in `TrialWriter` it becomes truncate-and-append.
pub fn reopen_trial_files(
    dir: &Path,
    params: &Value,
    keep: usize,
) -> Result<TrialWriter, TuneError> {
    let kept: Vec<ResultDict> = read_results(dir)?
        .into_iter()
        .take_while(|r| {
            r.get("training_iteration")
                .and_then(Value::as_u64)
                .is_some_and(|i| i as usize <= keep)
        })
        .collect();
    let mut writer = TrialWriter::create(dir, params).map_err(|e| TuneError::io(dir, e))?;
    for r in &kept {
        writer.write(r).map_err(|e| TuneError::io(dir, e))?;
    }
    Ok(writer)
}

/// Rewrites `params.json` (PBT changed the config).
pub fn write_params(dir: &Path, params: &Value) -> Result<(), TuneError> {
    let path = dir.join("params.json");
    let text = serde_json::to_string_pretty(params).unwrap_or_else(|_| "{}".into());
    fs::write(&path, text).map_err(|e| TuneError::io(path, e))
}

/// Appends a failure to `error.txt` (Ray's format: `Failure # N (occurred at DATE)` and
/// the message).
pub fn append_error(
    dir: &Path,
    failure: usize,
    date: &str,
    message: &str,
) -> Result<(), TuneError> {
    let path = dir.join("error.txt");
    fs::create_dir_all(dir).map_err(|e| TuneError::io(dir, e))?;
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| TuneError::io(&path, e))?;
    writeln!(f, "Failure # {failure} (occurred at {date})\n{message}\n")
        .map_err(|e| TuneError::io(&path, e))
}

/// Appends one JSON line to a file (PBT's `pbt_global.txt` and `pbt_policy_<id>.txt`).
pub fn append_json_line(path: &Path, line: &Value) -> Result<(), TuneError> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| TuneError::io(path, e))?;
    writeln!(f, "{line}").map_err(|e| TuneError::io(path, e))
}

/// Writes `text` to `path` atomically: a temporary sibling, then a rename, so a reader
/// (or a resume after a kill) sees the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), TuneError> {
    let tmp = path.with_extension("json.tmp");
    fs::write(&tmp, text).map_err(|e| TuneError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| TuneError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reopening_keeps_rows_up_to_the_checkpoint() {
        let dir = std::env::temp_dir().join(format!("rl-tune-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let mut w = TrialWriter::create(&dir, &json!({"lr": 1})).unwrap();
        for i in 1..=5 {
            let r = json!({"training_iteration": i, "x": i * 10});
            w.write(r.as_object().unwrap()).unwrap();
        }
        drop(w);
        // A half-written last line (killed mid-write) is ignored.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join("result.json"))
            .unwrap();
        write!(f, "{{\"training_iteration\": 6, \"x\"").unwrap();
        drop(f);
        assert_eq!(read_results(&dir).unwrap().len(), 5);
        let mut w = reopen_trial_files(&dir, &json!({"lr": 2}), 3).unwrap();
        w.write(
            json!({"training_iteration": 4, "x": 41})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        let rows = read_results(&dir).unwrap();
        let xs: Vec<i64> = rows.iter().map(|r| r["x"].as_i64().unwrap()).collect();
        assert_eq!(xs, vec![10, 20, 30, 41]);
        let csv = fs::read_to_string(dir.join("progress.csv")).unwrap();
        assert_eq!(csv.lines().count(), 5, "{csv}");
        let params: Value =
            serde_json::from_str(&fs::read_to_string(dir.join("params.json")).unwrap()).unwrap();
        assert_eq!(params, json!({"lr": 2}));
        let _ = fs::remove_dir_all(&dir);
    }
}
