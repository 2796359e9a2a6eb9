//! `rl config show ALGO`: every config key of a registered algorithm with its type,
//! default and doc line (`--json`: the default config as JSON, a start for a config file).

use clap::{Args, Subcommand};
use rl_core::algorithm::{config_key_docs, default_config, get_by_key, registered_algorithms};
use serde_json::Value;

use crate::cli::CliError;

/// `rl config`'s subcommands.
#[derive(Debug, Clone, PartialEq, Subcommand)]
pub enum ConfigCmd {
    /// Lists every key of ALGO's config: type, default and doc line.
    Show(ShowArgs),
}

/// `rl config show`'s flags.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct ShowArgs {
    /// A registered algorithm (PPO, …).
    #[arg(value_name = "ALGO")]
    pub algo: String,
    /// Prints the default config as JSON instead.
    #[arg(long)]
    pub json: bool,
}

/// One key of a config, as `rl config show` lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyRow {
    /// The key, sections joined by `/`.
    pub key: String,
    /// Its type.
    pub ty: String,
    /// Its default, as JSON.
    pub default: String,
    /// What it is.
    pub doc: String,
}

/// Runs `rl config`.
pub fn run(cmd: ConfigCmd) -> Result<(), CliError> {
    let ConfigCmd::Show(args) = cmd;
    rl_algos::register_builtins();
    let default = default_config(&args.algo).map_err(|_| {
        CliError::Usage(format!(
            "no algorithm registered as `{}`; registered: {}",
            args.algo,
            registered_algorithms().join(", ")
        ))
    })?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&default).unwrap_or_default()
        );
        return Ok(());
    }
    let rows = match config_key_docs(&args.algo) {
        Ok(docs) if !docs.is_empty() => documented_rows(&docs, &default),
        // An algorithm registered without key docs: its keys and defaults.
        _ => key_rows(&default),
    };
    let w_key = rows.iter().map(|r| r.key.len()).max().unwrap_or(3).max(3);
    let w_ty = rows.iter().map(|r| r.ty.len()).max().unwrap_or(4).max(4);
    let w_def = rows
        .iter()
        .map(|r| r.default.chars().count())
        .max()
        .unwrap_or(7)
        .clamp(7, 40);
    println!(
        "{} config keys (set them in [config] of a file, or with --set KEY=VALUE):",
        args.algo
    );
    println!(
        "{:w_key$}  {:w_ty$}  {:w_def$}  doc",
        "key", "type", "default"
    );
    for r in rows {
        println!(
            "{:w_key$}  {:w_ty$}  {:w_def$}  {}",
            r.key, r.ty, r.default, r.doc
        );
    }
    Ok(())
}

/// One row per documented key (sections left out: their keys follow), in declaration
/// order, with the Rust type and the doc line from the config structs' doc comments.
pub fn documented_rows(docs: &[rl_core::algorithm::KeyDoc], default: &Value) -> Vec<KeyRow> {
    docs.iter()
        .filter(|d| !d.section)
        .map(|d| KeyRow {
            key: d.key.clone(),
            ty: d.ty.clone(),
            default: get_by_key(default, &d.key).map_or_else(|| "-".into(), |v| v.to_string()),
            doc: d.doc.clone(),
        })
        .collect()
}

/// The keys of a default config, sections expanded (`model_config/fcnet_hiddens`), with
/// the JSON type of each default.
pub fn key_rows(default: &Value) -> Vec<KeyRow> {
    let mut rows = Vec::new();
    push_rows(default, "", &mut rows);
    rows
}

fn push_rows(v: &Value, prefix: &str, rows: &mut Vec<KeyRow>) {
    let Value::Object(map) = v else { return };
    for (k, v) in map {
        let key = format!("{prefix}{k}");
        match v {
            // A section (not a free-form table such as an empty `env_config`).
            Value::Object(inner) if !inner.is_empty() => push_rows(v, &format!("{key}/"), rows),
            _ => rows.push(KeyRow {
                key,
                ty: json_type(v).into(),
                default: v.to_string(),
                doc: String::new(),
            }),
        }
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "optional",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "table",
    }
}
