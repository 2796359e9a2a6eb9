//! The config reference (`docs/config.md`): each algorithm's keys with their types,
//! defaults and doc lines, as a Markdown table per algorithm.
//! [`config_reference`](crate::algorithm::registry::config_reference) renders it for every
//! registered algorithm.

use serde_json::Value;

use super::key_docs::KeyDoc;
use super::set::get_by_key;

/// The command that regenerates `docs/config.md`.
pub const REGENERATE: &str = "cargo run --example config_reference > docs/config.md";

/// One algorithm's part of the reference: its name, default config and key docs.
#[derive(Clone, Debug)]
pub struct ReferenceEntry {
    /// The registered name (`"PPO"`).
    pub algorithm: String,
    /// The default config as JSON.
    pub default_config: Value,
    /// Its keys' docs, in declaration order.
    pub key_docs: Vec<KeyDoc>,
}

/// The whole reference as Markdown.
pub fn render(entries: &[ReferenceEntry]) -> String {
    let mut md = format!(
        "# Config reference\n\n\
         <!-- Generated from the doc comments on the config structs by `{REGENERATE}`: edit those, then regenerate. -->\n\n\
         Every key of each algorithm's config under its RLlib name, with its Rust type, its\n\
         default and its doc line. Set keys from JSON or TOML files, `config.set(key, json)` or\n\
         `--set key=json`; a section's keys are written `section/key`\n\
         (`model_config/fcnet_hiddens`); `env_config` takes any key (the env's keyword\n\
         arguments). An unknown key is an error that names the nearest known one.\n"
    );
    for e in entries {
        md.push_str(&format!(
            "\n## {}\n\n| key | type | default | what it is |\n|---|---|---|---|\n",
            e.algorithm
        ));
        for d in &e.key_docs {
            let default = if d.section {
                "(section)".to_string()
            } else {
                get_by_key(&e.default_config, &d.key)
                    .map_or_else(|| "—".to_string(), |v| format!("`{v}`"))
            };
            md.push_str(&format!(
                "| `{}` | `{}` | {} | {} |\n",
                d.key,
                d.ty,
                cell(&default),
                cell(&d.doc)
            ));
        }
    }
    md
}

/// Text safe inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_a_table_per_algorithm() {
        let doc = |key: &str, section: bool| KeyDoc {
            key: key.into(),
            ty: "usize".into(),
            doc: format!("The {key} (a | b)."),
            section,
        };
        let md = render(&[ReferenceEntry {
            algorithm: "X".into(),
            default_config: json!({"n": 3, "s": {"m": 1}}),
            key_docs: vec![doc("n", false), doc("s", true), doc("s/m", false)],
        }]);
        assert!(md.contains("\n## X\n"), "{md}");
        assert!(
            md.contains("| `n` | `usize` | `3` | The n (a \\| b). |\n"),
            "{md}"
        );
        assert!(md.contains("| `s` | `usize` | (section) |"), "{md}");
        assert!(md.contains("| `s/m` | `usize` | `1` |"), "{md}");
        assert!(md.contains(REGENERATE));
    }
}
