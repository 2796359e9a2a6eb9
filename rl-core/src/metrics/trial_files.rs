//! Ray Tune's trial files: `params.json`, `result.json` (one JSON object per iteration) and
//! `progress.csv` (flattened keys joined by `/`).
//!
//! Rows are streamed to disk, never held in memory. When a result brings a key the CSV has
//! no column for yet, the CSV is rewritten once, streaming: a temporary file gets the
//! widened header and every existing row with empty cells for the new columns, then
//! replaces `progress.csv` by a rename (so a crash leaves the old file or the new one,
//! never a mix). New keys are rare (the first evaluation, the first checkpoint…), so the
//! cost is a handful of rewrites per run.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{flatten, ResultDict};

const RESULT_FILE: &str = "result.json";
const PROGRESS_FILE: &str = "progress.csv";
const PARAMS_FILE: &str = "params.json";

/// Writes a trial's files into its output directory as iterations come.
///
/// Unlike Tune, whose `progress.csv` header is fixed at the first iteration (so keys that
/// appear later, such as evaluation results, are missing), the CSV gains a column whenever
/// a new key appears (see the module docs). [`TrialWriter::open_append`] and
/// [`TrialWriter::resume`] continue the files of an earlier run.
#[derive(Debug)]
pub struct TrialWriter {
    dir: PathBuf,
    columns: Vec<String>,
    known: HashSet<String>,
}

impl TrialWriter {
    /// Creates the directory, writes `params.json` (the config) and starts empty
    /// `result.json` and `progress.csv` (replacing those of an earlier run in `dir`).
    pub fn create(dir: impl AsRef<Path>, params: &Value) -> io::Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(PARAMS_FILE), serde_json::to_string_pretty(params)?)?;
        File::create(dir.join(RESULT_FILE))?;
        File::create(dir.join(PROGRESS_FILE))?;
        Ok(TrialWriter {
            dir,
            columns: Vec::new(),
            known: HashSet::new(),
        })
    }

    /// Continues the trial files in `dir`: earlier rows are kept, new rows are appended,
    /// columns are merged (keys new to the CSV add columns). `params.json` is written only
    /// if absent. A last line cut short by a crash is removed. Creates the files if the
    /// directory has none.
    pub fn open_append(dir: impl AsRef<Path>, params: &Value) -> io::Result<Self> {
        Self::reopen(dir.as_ref(), params, None)
    }

    /// Continues the trial files of a run restored from a checkpoint taken after
    /// `training_iteration` iterations: as [`open_append`](Self::open_append), but rows of
    /// later iterations (written after that checkpoint, before the run stopped) are
    /// dropped, so the resumed iterations are not listed twice.
    pub fn resume(
        dir: impl AsRef<Path>,
        params: &Value,
        training_iteration: u64,
    ) -> io::Result<Self> {
        Self::reopen(dir.as_ref(), params, Some(training_iteration))
    }

    fn reopen(dir: &Path, params: &Value, keep_through: Option<u64>) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let params_path = dir.join(PARAMS_FILE);
        if !params_path.exists() {
            fs::write(&params_path, serde_json::to_string_pretty(params)?)?;
        }
        let result_path = dir.join(RESULT_FILE);
        if result_path.exists() {
            rewrite_result_json(&result_path, keep_through)?;
        } else {
            File::create(&result_path)?;
        }
        let progress_path = dir.join(PROGRESS_FILE);
        let columns = if progress_path.exists() {
            rewrite_progress_csv(&progress_path, keep_through)?
        } else {
            File::create(&progress_path)?;
            Vec::new()
        };
        Ok(TrialWriter {
            dir: dir.to_path_buf(),
            known: columns.iter().cloned().collect(),
            columns,
        })
    }

    /// The trial's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CSV's columns, in order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Appends one iteration's result to `result.json` and `progress.csv`.
    pub fn write(&mut self, result: &ResultDict) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .append(true)
            .open(self.dir.join(RESULT_FILE))?;
        writeln!(f, "{}", serde_json::to_string(result)?)?;
        let flat = flatten(result);
        let before = self.columns.len();
        for (k, _) in &flat {
            if self.known.insert(k.clone()) {
                self.columns.push(k.clone());
            }
        }
        let path = self.dir.join(PROGRESS_FILE);
        if self.columns.len() > before {
            widen_csv(&path, &self.columns, self.columns.len() - before)?;
        }
        let mut f = OpenOptions::new().append(true).open(path)?;
        f.write_all(self.csv_row(&flat).as_bytes())
    }

    fn csv_row(&self, row: &[(String, Value)]) -> String {
        let cells: std::collections::HashMap<&str, &Value> =
            row.iter().map(|(k, v)| (k.as_str(), v)).collect();
        csv_line(self.columns.iter().map(|c| {
            cells
                .get(c.as_str())
                .map(|v| match v {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        }))
    }
}

fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let quoted: Vec<String> = fields.map(|f| quote(&f)).collect();
    format!("{}\n", quoted.join(","))
}

fn quote(f: &str) -> String {
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

/// Reads CSV records (RFC 4180 quoting; a quoted field may hold newlines) one at a time.
struct CsvRecords<R> {
    input: R,
}

impl<R: BufRead> CsvRecords<R> {
    /// The next record's raw text (without its final newline) and its fields; `None` at
    /// the end. A record missing its final newline (a torn last line) is dropped.
    fn next_record(&mut self) -> io::Result<Option<(String, Vec<String>)>> {
        let mut raw = String::new();
        loop {
            let mut line = String::new();
            if self.input.read_line(&mut line)? == 0 {
                return Ok(None);
            }
            let complete = line.ends_with('\n');
            raw.push_str(&line);
            if !complete {
                return Ok(None);
            }
            if raw.matches('"').count().is_multiple_of(2) {
                break;
            }
        }
        raw.pop();
        if raw.ends_with('\r') {
            raw.pop();
        }
        let fields = split_fields(&raw);
        Ok(Some((raw, fields)))
    }
}

fn split_fields(record: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = record.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Rewrites `progress.csv` with the header `columns` (the old ones plus `added` new ones)
/// and every existing row padded with empty cells, streaming through a temporary file.
fn widen_csv(path: &Path, columns: &[String], added: usize) -> io::Result<()> {
    let tmp = tmp_path(path);
    {
        let mut out = BufWriter::new(File::create(&tmp)?);
        out.write_all(csv_line(columns.iter().cloned()).as_bytes())?;
        let mut records = CsvRecords {
            input: BufReader::new(File::open(path)?),
        };
        let old_width = columns.len() - added;
        let mut header = true;
        while let Some((raw, fields)) = records.next_record()? {
            if std::mem::take(&mut header) {
                continue;
            }
            out.write_all(raw.as_bytes())?;
            let missing = (old_width + added).saturating_sub(fields.len().max(old_width));
            for _ in 0..missing {
                out.write_all(b",")?;
            }
            out.write_all(b"\n")?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    fs::rename(tmp, path)
}

/// Keeps the rows of `progress.csv` up to `keep_through` (by its `training_iteration`
/// column; all rows when `None`), dropping a torn last line; returns the header's columns.
fn rewrite_progress_csv(path: &Path, keep_through: Option<u64>) -> io::Result<Vec<String>> {
    let tmp = tmp_path(path);
    let mut records = CsvRecords {
        input: BufReader::new(File::open(path)?),
    };
    let Some((header_raw, columns)) = records.next_record()? else {
        File::create(path)?;
        return Ok(Vec::new());
    };
    let iteration_col = columns.iter().position(|c| c == "training_iteration");
    {
        let mut out = BufWriter::new(File::create(&tmp)?);
        out.write_all(header_raw.as_bytes())?;
        out.write_all(b"\n")?;
        while let Some((raw, fields)) = records.next_record()? {
            let iteration = iteration_col
                .and_then(|c| fields.get(c))
                .and_then(|f| f.parse::<u64>().ok());
            if keep(keep_through, iteration) {
                out.write_all(raw.as_bytes())?;
                out.write_all(b"\n")?;
            }
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    fs::rename(tmp, path)?;
    Ok(columns)
}

/// Keeps the lines of `result.json` up to `keep_through` (all when `None`), dropping a torn
/// last line (one that is not a whole JSON object).
fn rewrite_result_json(path: &Path, keep_through: Option<u64>) -> io::Result<()> {
    let tmp = tmp_path(path);
    {
        let mut input = BufReader::new(File::open(path)?);
        let mut out = BufWriter::new(File::create(&tmp)?);
        let mut line = String::new();
        loop {
            line.clear();
            if input.read_line(&mut line)? == 0 {
                break;
            }
            if !line.ends_with('\n') {
                break;
            }
            let Ok(Value::Object(row)) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let iteration = row.get("training_iteration").and_then(Value::as_u64);
            if keep(keep_through, iteration) {
                out.write_all(line.as_bytes())?;
            }
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    fs::rename(tmp, path)
}

fn keep(keep_through: Option<u64>, iteration: Option<u64>) -> bool {
    match (keep_through, iteration) {
        (Some(k), Some(i)) => i <= k,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::set_path;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rl-trial-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    fn row(i: u64, extra: Option<(&str, &str)>) -> ResultDict {
        let mut r = ResultDict::new();
        set_path(&mut r, "training_iteration", i);
        set_path(&mut r, "env_runners/episode_return_mean", i as f64 * 1.5);
        if let Some((k, v)) = extra {
            set_path(&mut r, k, v);
        }
        r
    }

    fn read(dir: &Path, f: &str) -> String {
        fs::read_to_string(dir.join(f)).unwrap()
    }

    #[test]
    fn columns_are_added_by_rewriting_the_file_and_rows_are_not_kept_in_memory() {
        let dir = tmp("widen");
        let mut w = TrialWriter::create(&dir, &serde_json::json!({"lr": 1})).unwrap();
        w.write(&row(1, None)).unwrap();
        w.write(&row(2, Some(("evaluation/note", "a,\"b\"\nc"))))
            .unwrap();
        w.write(&row(3, None)).unwrap();
        assert_eq!(
            read(&dir, "progress.csv"),
            "env_runners/episode_return_mean,training_iteration,evaluation/note\n\
             1.5,1,\n3.0,2,\"a,\"\"b\"\"\nc\"\n4.5,3,\n"
        );
        assert_eq!(read(&dir, "result.json").lines().count(), 3);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn open_append_and_resume_keep_earlier_rows_and_merge_columns() {
        let dir = tmp("resume");
        let params = serde_json::json!({"lr": 1});
        let mut w = TrialWriter::create(&dir, &params).unwrap();
        for i in 1..=4 {
            w.write(&row(i, None)).unwrap();
        }
        drop(w);
        // A crash tore the last lines.
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join("result.json"))
            .unwrap();
        f.write_all(b"{\"training_iteration\": 5, \"env_ru")
            .unwrap();
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.join("progress.csv"))
            .unwrap();
        f.write_all(b"7.5,5").unwrap();

        // Restored from the checkpoint of iteration 3: iteration 4 goes, 1-3 stay.
        let mut w = TrialWriter::resume(&dir, &params, 3).unwrap();
        w.write(&row(4, Some(("evaluation/x", "1")))).unwrap();
        let csv = read(&dir, "progress.csv");
        assert_eq!(
            csv,
            "env_runners/episode_return_mean,training_iteration,evaluation/x\n\
             1.5,1,\n3.0,2,\n4.5,3,\n6.0,4,1\n"
        );
        let its: Vec<u64> = read(&dir, "result.json")
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["training_iteration"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(its, [1, 2, 3, 4]);
        drop(w);
        // open_append keeps everything.
        let mut w = TrialWriter::open_append(&dir, &params).unwrap();
        w.write(&row(5, None)).unwrap();
        assert_eq!(read(&dir, "result.json").lines().count(), 5);
        assert!(read(&dir, "progress.csv").ends_with("6.0,4,1\n7.5,5,\n"));
        assert_eq!(w.columns().len(), 3);
        let _ = fs::remove_dir_all(&dir);
    }
}
