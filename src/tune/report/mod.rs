//! The console output of a sweep, as Ray Tune 2.x prints it (`tune/experimental/output.py`):
//! the trial table, a result box per trial, and the lines around them.
//!
//! The trial table has Ray's columns — `Trial name`, `status`, the searched parameters,
//! `iter`, `total time (s)`, then up to four top-level numbers of the results Ray picks
//! itself — plus the sweep's metric when one is set (Ray leaves it out, so an RLlib
//! metric such as `evaluation/env_runners/episode_return_mean` never shows; Ray issue
//! 45547). With a metric, the trials of each status are sorted best first (Ray issues
//! 12374, 16448). To fit [`ProgressConfig::max_width`](super::ProgressConfig) columns
//! (80 by default) the table is narrowed step by step until it fits: Ray's auto-picked
//! columns go first (rightmost first), then trial names show only the trial id, headers
//! lose their padding, columns their third space, `total time (s)` goes, and last long
//! headers are cut to 16, 12 and 8 characters the way Ray abbreviates
//! (`...lls_per_iteration`). `max_width: None` prints Ray's table unchanged.

pub mod format;
pub mod table;

use std::collections::BTreeSet;

use rl_core::metrics::{flatten, get_path, ResultDict};
use serde_json::Value;

use self::format::{max_len, py_repr, py_str};
use self::table::{Align, Cell, Table};
use super::search::space::get_in;
use super::trial::{Trial, TrialStatus};
use super::Mode;

/// Ray's `DEFAULT_COLUMNS`: result keys with their short headers, in order.
const DEFAULT_COLUMNS: [(&str, &str); 6] = [
    ("mean_accuracy", "acc"),
    ("mean_loss", "loss"),
    ("training_iteration", "iter"),
    ("time_total_s", "total time (s)"),
    ("timesteps_total", "ts"),
    ("episode_reward_mean", "reward"),
];

/// Ray's `AUTO_RESULT_KEYS`: never picked as extra columns.
const AUTO_RESULT_KEYS: [&str; 15] = [
    "training_iteration",
    "time_total_s",
    "episodes_total",
    "timesteps_total",
    "node_ip",
    "hostname",
    "pid",
    "time_this_iter_s",
    "timestamp",
    "experiment_id",
    "date",
    "time_since_restore",
    "iterations_since_restore",
    "timesteps_since_restore",
    "config",
];

/// Ray's `BLACKLISTED_KEYS`: never in a result box.
const BLACKLISTED_KEYS: [&str; 13] = [
    "config",
    "date",
    "done",
    "hostname",
    "iterations_since_restore",
    "node_ip",
    "pid",
    "time_since_restore",
    "timestamp",
    "trial_id",
    "experiment_tag",
    "should_checkpoint",
    "_report_on",
];

/// A JSON value as a table cell: numbers stay numbers, the rest Python's `str`, cut to
/// 20 characters like Ray's `_max_len`.
pub fn value_cell(v: Option<&Value>) -> Cell {
    match v {
        None | Some(Value::Null) => Cell::Missing,
        Some(Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cell::Int(i128::from(i)),
            (None, Some(u)) => Cell::Int(i128::from(u)),
            _ => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Some(other) => Cell::Str(max_len(&py_str(other), 20)),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Name,
    Status,
    Param,
    Default,
    Metric,
    Inferred,
}

struct Column {
    key: String,
    header: String,
    kind: Kind,
    cells: Vec<Cell>,
}

/// What the trial table shows.
#[derive(Clone, Debug)]
pub struct TableSpec<'a> {
    /// The searched keys (parameter columns).
    pub params: &'a [String],
    /// The sweep's metric.
    pub metric: Option<&'a str>,
    /// Its mode.
    pub mode: Option<Mode>,
    /// Fit into this many columns (`None`: Ray's width).
    pub max_width: Option<usize>,
    /// The extra metric columns (Ray's `metric_columns`); `None`: Ray's pick.
    pub metric_columns: Option<&'a [String]>,
    /// Show every row (Ray shows 5 per status when there are more than 20 trials,
    /// except in the final table).
    pub all_rows: bool,
}

/// Ray's `_infer_user_metrics`: the first four top-level numeric result keys that are
/// neither default columns nor automatic keys.
fn inferred_metrics(trials: &[&Trial]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in trials {
        let Some(r) = &t.last_result else { continue };
        for (k, v) in r {
            let numeric = matches!(v, Value::Number(_) | Value::Null);
            let known = DEFAULT_COLUMNS.iter().any(|(d, _)| d == k)
                || AUTO_RESULT_KEYS.contains(&k.as_str());
            if numeric && !known && !out.contains(k) {
                out.push(k.clone());
            }
            if out.len() >= 4 {
                return out;
            }
        }
    }
    out
}

fn metric_of(t: &Trial, metric: &str) -> Option<f64> {
    t.last_result
        .as_ref()
        .and_then(|r| get_path(r, metric))
        .and_then(Value::as_f64)
}

/// The trials in table order: Ray's status order, then (with a metric) best first,
/// then trial index.
fn ordered<'a>(trials: &'a [Trial], metric: Option<&str>, mode: Option<Mode>) -> Vec<&'a Trial> {
    let mut v: Vec<&Trial> = trials.iter().collect();
    v.sort_by(|a, b| {
        let by_status = a.status.table_rank().cmp(&b.status.table_rank());
        let by_metric = match (metric, mode) {
            (Some(m), Some(mode)) => match (metric_of(a, m), metric_of(b, m)) {
                (Some(x), Some(y)) => (mode.sign() * y).total_cmp(&(mode.sign() * x)),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            },
            _ => std::cmp::Ordering::Equal,
        };
        by_status.then(by_metric).then(a.index.cmp(&b.index))
    });
    v
}

fn build_columns(rows: &[&Trial], all: &[&Trial], spec: &TableSpec<'_>) -> Vec<Column> {
    let mut cols = vec![
        Column {
            key: "trial_name".into(),
            header: "Trial name".into(),
            kind: Kind::Name,
            cells: rows.iter().map(|t| Cell::Str(t.name.clone())).collect(),
        },
        Column {
            key: "status".into(),
            header: "status".into(),
            kind: Kind::Status,
            cells: rows
                .iter()
                .map(|t| Cell::Str(t.status.to_string()))
                .collect(),
        },
    ];
    for p in spec.params {
        cols.push(Column {
            key: p.clone(),
            header: p.clone(),
            kind: Kind::Param,
            cells: rows
                .iter()
                .map(|t| value_cell(get_in(&t.config, p)))
                .collect(),
        });
    }
    let mut metric_keys: Vec<(String, Kind)> = DEFAULT_COLUMNS
        .iter()
        .map(|(k, _)| (k.to_string(), Kind::Default))
        .collect();
    if let Some(m) = spec.metric {
        if !metric_keys.iter().any(|(k, _)| k == m) {
            metric_keys.push((m.to_string(), Kind::Metric));
        }
    }
    let extra = match spec.metric_columns {
        Some(chosen) => chosen.iter().map(|k| (k.clone(), Kind::Metric)).collect(),
        None => inferred_metrics(all)
            .into_iter()
            .map(|k| (k, Kind::Inferred))
            .collect::<Vec<_>>(),
    };
    for (k, kind) in extra {
        if !metric_keys.iter().any(|(m, _)| *m == k) {
            metric_keys.push((k, kind));
        }
    }
    for (k, kind) in metric_keys {
        // Ray shows a metric column only if some trial reported it.
        let present = all.iter().any(|t| {
            t.last_result
                .as_ref()
                .and_then(|r| get_path(r, &k))
                .is_some_and(|v| !v.is_null())
        });
        if !present {
            continue;
        }
        let header = DEFAULT_COLUMNS
            .iter()
            .find(|(d, _)| *d == k)
            .map_or_else(|| k.clone(), |(_, h)| h.to_string());
        cols.push(Column {
            key: k.clone(),
            header,
            kind,
            cells: rows
                .iter()
                .map(|t| value_cell(t.last_result.as_ref().and_then(|r| get_path(r, &k))))
                .collect(),
        });
    }
    cols
}

/// How far the table has been narrowed.
#[derive(Clone, Copy)]
struct Fit {
    drop_inferred: usize,
    trial_ids: bool,
    padding: usize,
    gap: usize,
    drop_time: bool,
    abbreviate: usize,
}

fn render(cols: &[Column], rows: &[&Trial], fit: Fit) -> Table {
    let inferred: Vec<usize> = (0..cols.len())
        .filter(|&i| cols[i].kind == Kind::Inferred)
        .collect();
    let dropped: BTreeSet<usize> = inferred
        .iter()
        .rev()
        .take(fit.drop_inferred)
        .copied()
        .collect();
    let mut headers = Vec::new();
    let mut columns: Vec<Vec<Cell>> = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        if dropped.contains(&i) || (fit.drop_time && c.key == "time_total_s") {
            continue;
        }
        let (header, cells) = if c.kind == Kind::Name && fit.trial_ids {
            (
                "Trial id".to_string(),
                rows.iter().map(|t| Cell::Str(t.trial_id.clone())).collect(),
            )
        } else {
            (max_len(&c.header, fit.abbreviate), c.cells.clone())
        };
        headers.push(header);
        columns.push(cells);
    }
    let table_rows = (0..rows.len())
        .map(|r| columns.iter().map(|c| c[r].clone()).collect())
        .collect();
    let mut t = Table::new(headers, table_rows);
    t.min_padding = fit.padding;
    t.gap = fit.gap;
    t
}

/// The trial table (Ray's status table), fitted to `spec.max_width`.
pub fn trial_table(trials: &[Trial], spec: &TableSpec<'_>) -> String {
    let all = ordered(trials, spec.metric, spec.mode);
    let limit_rows = !spec.all_rows && trials.len() > 20;
    let mut rows: Vec<&Trial> = Vec::new();
    let mut more: Vec<String> = Vec::new();
    let mut statuses: Vec<TrialStatus> = all.iter().map(|t| t.status).collect();
    statuses.dedup();
    for s in statuses {
        let of: Vec<&Trial> = all.iter().copied().filter(|t| t.status == s).collect();
        if limit_rows && of.len() > 5 {
            more.push(format!("{} more {s}", of.len() - 5));
            rows.extend(&of[..5]);
        } else {
            rows.extend(of);
        }
    }
    let cols = build_columns(&rows, &all, spec);
    let n_inferred = cols.iter().filter(|c| c.kind == Kind::Inferred).count();
    let mut fit = Fit {
        drop_inferred: 0,
        trial_ids: false,
        padding: 2,
        gap: 3,
        drop_time: false,
        abbreviate: 20,
    };
    if let Some(max) = spec.max_width {
        let fits = |f: Fit| render(&cols, &rows, f).width() <= max;
        while !fits(fit) && fit.drop_inferred < n_inferred {
            fit.drop_inferred += 1;
        }
        let steps: [fn(&mut Fit); 7] = [
            |f| f.trial_ids = true,
            |f| f.padding = 0,
            |f| f.gap = 2,
            |f| f.drop_time = true,
            |f| f.abbreviate = 16,
            |f| f.abbreviate = 12,
            |f| f.abbreviate = 8,
        ];
        for step in steps {
            if fits(fit) {
                break;
            }
            step(&mut fit);
        }
    }
    let mut out = render(&cols, &rows, fit).render();
    if !more.is_empty() {
        out.push('\n');
        out.push_str(&more.join(", "));
    }
    out
}

/// "Trial status: 1 RUNNING | 2 PENDING" (statuses in the order trials show them).
pub fn status_line(trials: &[Trial]) -> String {
    let mut order: Vec<TrialStatus> = Vec::new();
    for t in trials {
        if !order.contains(&t.status) {
            order.push(t.status);
        }
    }
    let parts: Vec<String> = order
        .iter()
        .map(|s| format!("{} {s}", trials.iter().filter(|t| t.status == *s).count()))
        .collect();
    format!("Trial status: {}", parts.join(" | "))
}

/// `Current best trial: d4590_00002 with METRIC=VALUE and params={…}` (the searched
/// parameters; Ray prints the whole config).
pub fn best_trial_line(
    trials: &[Trial],
    params: &[String],
    metric: &str,
    mode: Mode,
) -> Option<String> {
    let mut best: Option<(&Trial, f64)> = None;
    for t in trials {
        if let Some(v) = metric_of(t, metric) {
            if best.is_none_or(|(_, b)| mode.better(v, b)) {
                best = Some((t, v));
            }
        }
    }
    let (t, v) = best?;
    let mut p = serde_json::Map::new();
    for k in params {
        p.insert(
            k.clone(),
            get_in(&t.config, k).cloned().unwrap_or(Value::Null),
        );
    }
    Some(format!(
        "Current best trial: {} with {metric}={} and params={}",
        t.trial_id,
        py_repr(&serde_json::json!(v)),
        py_repr(&Value::Object(p))
    ))
}

/// Python's `float(f"{x:.5f}".rstrip("0"))`: how Ray rounds top-level floats in a box.
fn round5(x: f64) -> f64 {
    format!("{x:.5}").parse().unwrap_or(x)
}

/// A result box (Ray's `_print_dict_as_table`): the `include` keys of `result`, sorted,
/// Ray's automatic keys first; `None` when none is present.
pub fn result_box(title: &str, result: &ResultDict, include: &[String]) -> Option<String> {
    let mut upper = Vec::new();
    let mut lower = Vec::new();
    for (key, value) in result {
        if BLACKLISTED_KEYS.contains(&key.as_str()) {
            continue;
        }
        let items: Vec<(String, Cell)> = match value {
            Value::Object(inner) => flatten(inner)
                .into_iter()
                .map(|(k, v)| (format!("{key}/{k}"), value_cell(Some(&v))))
                .collect(),
            Value::Number(n) if n.is_f64() => {
                vec![(
                    key.clone(),
                    Cell::Float(round5(n.as_f64().unwrap_or(f64::NAN))),
                )]
            }
            other => vec![(key.clone(), value_cell(Some(other)))],
        };
        for (k, cell) in items {
            if !include.is_empty() && !include.contains(key) && !include.contains(&k) {
                continue;
            }
            let row = vec![Cell::Str(k), cell];
            if AUTO_RESULT_KEYS.contains(&key.as_str()) {
                upper.push(row);
            } else {
                lower.push(row);
            }
        }
    }
    upper.extend(lower);
    if upper.is_empty() {
        return None;
    }
    let mut t = Table::new(vec![title.to_string(), String::new()], upper);
    t.colalign = Some(vec![Align::Left, Align::Right]);
    Some(t.render())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed_trial(i: usize, mb: i64, time: f64) -> Trial {
        let result = json!({
            "env_runners": {"episode_len_mean": 493.8, "episode_return_mean": 493.8},
            "evaluation": {"env_runners": {"episode_return_mean": ([478.35, 477.17, 492.18][i])}},
            "num_env_steps_sampled_lifetime": 600000.0,
            "num_training_step_calls_per_iteration": 1,
            "training_iteration": 150,
            "time_total_s": time,
            "timestamp": 1,
            "done": false,
        });
        Trial {
            index: i,
            trial_id: format!("d4590_{i:05}"),
            name: format!("PPO_CartPole-v1_d4590_{i:05}"),
            dir_name: String::new(),
            experiment_tag: String::new(),
            config: json!({"minibatch_size": mb}),
            resolved_vars: Vec::new(),
            status: TrialStatus::Terminated,
            error: None,
            num_failures: 0,
            last_result: result.as_object().cloned(),
            decided_iteration: 150,
            decided_time: 150.0,
            released: false,
            checkpoints: Vec::new(),
            num_checkpoints_saved: 0,
            cpus: 3,
        }
    }

    fn seed_lines(prefix: &str) -> Vec<String> {
        let seed = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/seed/000_1cf4d4852d5ecf72.txt"
        ))
        .expect("the seed run is at ../shared/seed");
        let lines: Vec<&str> = seed.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .expect("seed table");
        let end = start
            + lines[start..]
                .iter()
                .position(|l| l.starts_with('╰'))
                .expect("table end");
        lines[start - 1..=end]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    #[test]
    fn reproduces_the_seed_trial_table_byte_for_byte() {
        let trials = vec![
            seed_trial(0, 128, 398.8091),
            seed_trial(1, 200, 368.5487),
            seed_trial(2, 256, 357.9876),
        ];
        let params = vec!["minibatch_size".to_string()];
        // Ray's columns without a metric or a width limit. Ray picked the two numeric
        // top-level keys of RLlib's results in the results' insertion order; our results
        // are sorted by key, so the test names them in Ray's order.
        let extra = [
            "num_training_step_calls_per_iteration",
            "num_env_steps_sampled_lifetime",
        ]
        .map(String::from);
        let spec = TableSpec {
            params: &params,
            metric: None,
            mode: None,
            max_width: None,
            metric_columns: Some(&extra),
            all_rows: true,
        };
        let got = trial_table(&trials, &spec);
        let want = seed_lines("│ Trial name");
        assert_eq!(got.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn reproduces_the_seed_result_box() {
        let t = seed_trial(0, 128, 398.8);
        let include = crate::tune::ProgressConfig::default().progress_metrics;
        let got = result_box(
            &format!("Trial {} result", t.name),
            t.last_result.as_ref().unwrap(),
            &include,
        )
        .unwrap();
        let want = seed_lines("│ Trial PPO_CartPole-v1_d4590_00000 result");
        assert_eq!(got.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn fitted_tables_stay_within_80_columns_and_sort_by_metric() {
        let trials = vec![
            seed_trial(0, 128, 398.8091),
            seed_trial(1, 200, 368.5487),
            seed_trial(2, 256, 357.9876),
        ];
        let params = vec!["minibatch_size".to_string()];
        let metric = "evaluation/env_runners/episode_return_mean";
        let spec = TableSpec {
            params: &params,
            metric: Some(metric),
            mode: Some(Mode::Max),
            max_width: Some(80),
            metric_columns: None,
            all_rows: true,
        };
        let got = trial_table(&trials, &spec);
        for l in got.lines() {
            assert!(l.chars().count() <= 80, "{l}");
        }
        let rows: Vec<&str> = got.lines().skip(3).take(3).collect();
        assert!(
            rows[0].contains("00002") && rows[1].contains("00000") && rows[2].contains("00001"),
            "{got}"
        );
        assert!(
            got.contains("minibatch_size") && got.contains("492.18"),
            "{got}"
        );
        // Two searched parameters (the ASHA example's lr × minibatch_size): still fits.
        let mut two = trials.clone();
        for (t, lr) in two.iter_mut().zip([0.000316228, 1.2e-5, 0.00091]) {
            t.config["lr"] = json!(lr);
        }
        let params2: Vec<String> = ["lr", "minibatch_size"].map(String::from).to_vec();
        let got = trial_table(
            &two,
            &TableSpec {
                params: &params2,
                ..spec.clone()
            },
        );
        assert!(got.lines().all(|l| l.chars().count() <= 80), "{got}");
        assert!(
            got.contains("0.000316228") && got.contains("1.2e-05"),
            "{got}"
        );
        // Too many columns for 80: every narrowing step applies, the table is as narrow
        // as it gets (wider than 80: nothing more can go without losing a parameter).
        let params5: Vec<String> = [
            "lr",
            "minibatch_size",
            "model_config/fcnet_hiddens",
            "num_epochs",
            "lambda_",
        ]
        .map(String::from)
        .to_vec();
        let wide = trial_table(
            &two,
            &TableSpec {
                params: &params5,
                ..spec.clone()
            },
        );
        let full = trial_table(
            &two,
            &TableSpec {
                params: &params5,
                max_width: None,
                ..spec.clone()
            },
        );
        let width = |t: &str| t.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(
            width(&wide) < width(&full) && wide.contains("..."),
            "{wide}"
        );
        // Rows are limited to five per status beyond 20 trials.
        let many: Vec<Trial> = (0..25)
            .map(|i| {
                let mut t = seed_trial(i % 3, 128, 1.0);
                t.index = i;
                t
            })
            .collect();
        let spec = TableSpec {
            params: &params[..1],
            metric: None,
            mode: None,
            max_width: Some(80),
            metric_columns: None,
            all_rows: false,
        };
        let got = trial_table(&many, &spec);
        assert!(got.ends_with("20 more TERMINATED"), "{got}");
        assert_eq!(status_line(&many), "Trial status: 25 TERMINATED");
    }
}
