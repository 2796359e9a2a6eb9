//! Ray Tune's trial files: `params.json`, `result.json` (one JSON object per iteration) and
//! `progress.csv` (flattened keys joined by `/`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{flatten, ResultDict};

/// Writes a trial's files into its output directory as iterations come.
///
/// Unlike Tune, whose `progress.csv` header is fixed at the first iteration (so keys that
/// appear later, such as evaluation results, are missing), the CSV is rewritten with the
/// union of all columns seen so far whenever a new key appears.
#[derive(Debug)]
pub struct TrialWriter {
    dir: PathBuf,
    columns: Vec<String>,
    rows: Vec<Vec<(String, Value)>>,
}

impl TrialWriter {
    /// Creates the directory and writes `params.json` (the config).
    pub fn create(dir: impl AsRef<Path>, params: &Value) -> io::Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;
        fs::write(
            dir.join("params.json"),
            serde_json::to_string_pretty(params)?,
        )?;
        File::create(dir.join("result.json"))?;
        File::create(dir.join("progress.csv"))?;
        Ok(TrialWriter {
            dir,
            columns: Vec::new(),
            rows: Vec::new(),
        })
    }

    /// The trial's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends one iteration's result to `result.json` and `progress.csv`.
    pub fn write(&mut self, result: &ResultDict) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .append(true)
            .open(self.dir.join("result.json"))?;
        writeln!(f, "{}", serde_json::to_string(result)?)?;
        let flat = flatten(result);
        let mut new_columns = false;
        for (k, _) in &flat {
            if !self.columns.contains(k) {
                self.columns.push(k.clone());
                new_columns = true;
            }
        }
        self.rows.push(flat);
        if new_columns {
            let mut out = String::new();
            out.push_str(&csv_line(
                self.columns.iter().map(|c| c.as_str().to_string()),
            ));
            for row in &self.rows {
                out.push_str(&self.csv_row(row));
            }
            fs::write(self.dir.join("progress.csv"), out)?;
        } else {
            let line = self.csv_row(self.rows.last().expect("just pushed"));
            let mut f = OpenOptions::new()
                .append(true)
                .open(self.dir.join("progress.csv"))?;
            f.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn csv_row(&self, row: &[(String, Value)]) -> String {
        csv_line(self.columns.iter().map(|c| {
            row.iter()
                .find(|(k, _)| k == c)
                .map(|(_, v)| match v {
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        }))
    }
}

fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let quoted: Vec<String> = fields
        .map(|f| {
            if f.contains([',', '"', '\n']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f
            }
        })
        .collect();
    format!("{}\n", quoted.join(","))
}
