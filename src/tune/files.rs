//! Tune's part of the trial files: writing results through the result loggers
//! ([`TrialWriter`]: `params.json`, `result.json`, `progress.csv`; [`TensorBoardLogger`]:
//! `events.out.tfevents.*`), continuing them after a restart, `error.txt`, and the
//! experiment-level files (`pbt_global.txt`).

use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use rl_core::metrics::{ResultDict, ResultLogger, TrialWriter};

use crate::logger::TensorBoardLogger;
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

/// The trial's result loggers, continuing after iteration `keep` (0: from scratch): Tune's
/// trial files through [`TrialWriter::resume`] (rows after `keep` are dropped: a restarted
/// trial recomputes them, so a killed-and-resumed trial's files equal an uninterrupted
/// one's; `params.json` is rewritten, since PBT may have changed the config) and a new
/// TensorBoard event file with Tune's tags beside them ([`TensorBoardLogger`]; TensorBoard
/// reads all of a directory's event files).
pub fn open_trial_loggers(
    dir: &Path,
    params: &Value,
    keep: usize,
) -> Result<Vec<Box<dyn ResultLogger>>, TuneError> {
    fs::create_dir_all(dir).map_err(|e| TuneError::io(dir, e))?;
    write_params(dir, params)?;
    let writer =
        TrialWriter::resume(dir, params, keep as u64).map_err(|e| TuneError::io(dir, e))?;
    let tensorboard = TensorBoardLogger::create(dir).map_err(|e| TuneError::io(dir, e))?;
    Ok(vec![Box::new(writer), Box::new(tensorboard)])
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
    fn reopening_keeps_rows_up_to_the_checkpoint_and_adds_an_event_file() {
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
        let mut loggers = open_trial_loggers(&dir, &json!({"lr": 2}), 3).unwrap();
        loggers[0]
            .on_result(
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
        let events = fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with("events.out.tfevents.")
            })
            .count();
        assert_eq!(events, 1);
        let _ = fs::remove_dir_all(&dir);
    }
}
