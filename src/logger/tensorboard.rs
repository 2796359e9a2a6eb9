//! TensorBoard event files with Ray Tune's tags, as Tune's `TBXLoggerCallback` writes them.
//!
//! What Tune 2.60 (`ray/tune/logger/tensorboardx.py`) does, and so what this does:
//! - one file `events.out.tfevents.<unix seconds>.<hostname>` per logger, in the trial's
//!   directory beside `result.json`; its first record holds `file_version = "brain.Event:2"`;
//! - the step is `timesteps_total` when the result has a non-zero one, else
//!   `training_iteration` (RLlib's new API stack sets no `timesteps_total`, so in practice
//!   the step is the iteration);
//! - the top-level keys `config`, `pid`, `timestamp`, `time_total_s` and
//!   `training_iteration` are dropped, the rest flattened with `/` and tagged
//!   `ray/tune/<key>`, characters outside `[-/\w.]` replaced by `_` (tensorboardX's tag
//!   cleaning);
//! - numbers are written as `simple_value` (a 32-bit float), booleans as 1.0 / 0.0 (Python's
//!   `bool` is an `int`, so Tune logs `done`); NaN and `null` are skipped (our results store
//!   NaN as `null`), as are strings.
//!
//! Where we differ: Tune writes a non-empty list as a histogram and 3-5-dimensional arrays as
//! images or video; we skip lists (RLlib's PPO results hold none). Tune writes one event per
//! scalar; we write one event per result holding all its scalars (readers see the same
//! tags, steps and values). Tune's end-of-trial `hparams` summary is not written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use rl_core::metrics::{flatten, ResultDict};

use super::event::{file_version_event, scalars_event};
use super::tfrecord::write_record;
use super::ResultLogger;

/// Tune's prefix for every tag.
pub const TAG_PREFIX: &str = "ray/tune/";

/// Top-level result keys Tune does not log ("not useful to log these").
pub const SKIPPED_KEYS: [&str; 5] = [
    "config",
    "pid",
    "timestamp",
    "time_total_s",
    "training_iteration",
];

/// Writes a trial's results as TensorBoard scalars into one event file.
///
/// Each [`write_result`](Self::write_result) appends a record; [`flush`](Self::flush) makes
/// it visible to TensorBoard (Tune flushes after every result, and so does
/// [`ResultLogger::on_result`]). Dropping the logger flushes it.
#[derive(Debug)]
pub struct TensorBoardLogger {
    path: PathBuf,
    out: BufWriter<File>,
}

impl TensorBoardLogger {
    /// Creates `dir` if needed and a new event file in it, named as tensorboardX names it.
    ///
    /// A file of that name already there (a second logger in the same second) is never
    /// overwritten: the new one gets a `.1`, `.2`, … suffix, which TensorBoard still reads.
    pub fn create(dir: impl AsRef<Path>) -> io::Result<Self> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir)?;
        let now = unix_time();
        let base = format!("events.out.tfevents.{:010}.{}", now as u64, hostname());
        let (path, file) = create_new_numbered(dir, &base)?;
        let mut out = BufWriter::new(file);
        write_record(&mut out, &file_version_event(now))?;
        Ok(TensorBoardLogger { path, out })
    }

    /// The event file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `scalars` as one event at `step`, stamped with the current time.
    pub fn write_scalars<'a>(
        &mut self,
        step: i64,
        scalars: impl IntoIterator<Item = (&'a str, f32)>,
    ) -> io::Result<()> {
        write_record(&mut self.out, &scalars_event(unix_time(), step, scalars))
    }

    /// Writes every loggable leaf of `result` ([`tune_scalars`]) at `step`; returns how many.
    pub fn write_result(&mut self, result: &ResultDict, step: i64) -> io::Result<usize> {
        let scalars = tune_scalars(result);
        self.write_scalars(step, scalars.iter().map(|(t, v)| (t.as_str(), *v as f32)))?;
        Ok(scalars.len())
    }

    /// Pushes buffered records to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl ResultLogger for TensorBoardLogger {
    /// Writes the result at Tune's step ([`tune_step`]) and flushes, as Tune does.
    fn on_result(&mut self, result: &ResultDict) -> io::Result<()> {
        let step = tune_step(result).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "result has neither `timesteps_total` nor `training_iteration` (Tune's \
                 TensorBoard step); log results from `Algorithm::train`, or call \
                 `write_result` with an explicit step",
            )
        })?;
        self.write_result(result, step)?;
        self.flush()
    }
}

impl Drop for TensorBoardLogger {
    fn drop(&mut self) {
        // Errors cannot be returned from drop; call `flush` to see them.
        let _ = self.out.flush();
    }
}

/// Tune's TensorBoard step for a result: `timesteps_total` if present and non-zero, else
/// `training_iteration` (Python's `result.get(TIMESTEPS_TOTAL) or result[TRAINING_ITERATION]`).
pub fn tune_step(result: &ResultDict) -> Option<i64> {
    let as_step = |v: &Value| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64));
    result
        .get("timesteps_total")
        .and_then(as_step)
        .filter(|&s| s != 0)
        .or_else(|| result.get("training_iteration").and_then(as_step))
}

/// The scalars Tune logs for `result`: `(ray/tune/<flattened key>, value)` in key order,
/// skipping [`SKIPPED_KEYS`] and every leaf that is not a number or a boolean.
pub fn tune_scalars(result: &ResultDict) -> Vec<(String, f64)> {
    let mut kept = result.clone();
    for k in SKIPPED_KEYS {
        kept.remove(k);
    }
    flatten(&kept)
        .into_iter()
        .filter_map(|(key, v)| {
            let value = match v {
                Value::Number(n) => n.as_f64()?,
                Value::Bool(b) => f64::from(u8::from(b)),
                _ => return None,
            };
            Some((clean_tag(&format!("{TAG_PREFIX}{key}")), value))
        })
        .collect()
}

/// tensorboardX's `_clean_tag`: characters outside `[-/\w.]` become `_`, leading `/` go.
fn clean_tag(tag: &str) -> String {
    tag.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '-' | '/' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('/')
        .to_string()
}

fn unix_time() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The machine's name as `socket.gethostname()` gives it, without linking libc.
fn hostname() -> String {
    let from_file = |p: &str| fs::read_to_string(p).ok().map(|s| s.trim().to_string());
    from_file("/proc/sys/kernel/hostname")
        .or_else(|| from_file("/etc/hostname"))
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', '\\']))
        .unwrap_or_else(|| "localhost".to_string())
}

/// Creates `dir/base`, or `dir/base.1`, `dir/base.2`, … if taken.
fn create_new_numbered(dir: &Path, base: &str) -> io::Result<(PathBuf, File)> {
    for n in 0..=u32::MAX {
        let name = if n == 0 {
            base.to_string()
        } else {
            format!("{base}.{n}")
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{base} and {base}.1 … {base}.{} all exist in {}; remove old event files",
            u32::MAX,
            dir.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dict(v: Value) -> ResultDict {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn step_is_timesteps_total_or_iteration() {
        assert_eq!(tune_step(&dict(json!({"training_iteration": 7}))), Some(7));
        let r = dict(json!({"training_iteration": 7, "timesteps_total": 3500}));
        assert_eq!(tune_step(&r), Some(3500));
        // Python's `or`: 0 and None fall through to the iteration.
        let r = dict(json!({"training_iteration": 7, "timesteps_total": 0}));
        assert_eq!(tune_step(&r), Some(7));
        let r = dict(json!({"training_iteration": 7, "timesteps_total": null}));
        assert_eq!(tune_step(&r), Some(7));
        assert_eq!(tune_step(&dict(json!({"a": 1}))), None);
    }

    #[test]
    fn scalars_follow_tune() {
        let r = dict(json!({
            "training_iteration": 3, "timestamp": 17, "time_total_s": 1.0, "pid": 9,
            "config": {"lr": 0.1},
            "done": true, "date": "2026-01-01", "nan": null, "list": [1, 2],
            "env_runners": {"episode_return_mean": 20.5, "weird key!": 1, "empty": {}},
        }));
        assert_eq!(
            tune_scalars(&r),
            vec![
                ("ray/tune/done".to_string(), 1.0),
                ("ray/tune/env_runners/episode_return_mean".to_string(), 20.5),
                ("ray/tune/env_runners/weird_key_".to_string(), 1.0),
            ]
        );
    }

    #[test]
    fn on_result_refuses_a_result_without_a_step() {
        let dir = std::env::temp_dir().join(format!("rl-tb-nostep-{}", std::process::id()));
        let mut tb = TensorBoardLogger::create(&dir).unwrap();
        let err = tb.on_result(&dict(json!({"a": 1}))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("training_iteration"));
        drop(tb);
        fs::remove_dir_all(&dir).unwrap();
    }
}
