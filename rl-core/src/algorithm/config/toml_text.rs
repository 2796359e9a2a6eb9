//! TOML config text as JSON, remembering the line of every key, so that an error about a
//! key can say where it is: the JSON form is what unknown keys and type errors are found in,
//! one path for JSON and TOML (a `#[serde(flatten)]` config read straight from TOML loses
//! toml's spans).

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use toml::Spanned;

use super::ConfigError;

/// A parsed TOML document: its JSON form and the line of each key (`"a/b"` paths).
#[derive(Debug)]
pub(crate) struct TomlText {
    /// The document as JSON (TOML has no null: absent keys take their defaults).
    pub value: Value,
    lines: BTreeMap<String, usize>,
}

impl TomlText {
    /// Parses `text`; a syntax error says its line and column.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let node: Node = toml::from_str(text).map_err(|e| ConfigError(format!("bad TOML: {e}")))?;
        let mut lines = BTreeMap::new();
        let value = node.into_json(text, "", &mut lines);
        Ok(TomlText { value, lines })
    }

    /// The 1-based line of the key at `path` (`"model_config/fcnet_hiddens"`).
    pub fn line(&self, path: &str) -> Option<usize> {
        self.lines.get(path).copied()
    }
}

/// What TOML's `nan`, `inf` and `-inf` are in the JSON form (JSON has none of them).
const NON_FINITE_STAND_IN: f64 = f64::MAX;

/// An error message about the JSON form, with the stand-in for a non-finite float said as
/// what it stands for.
pub(crate) fn explain_stand_in(message: &str) -> String {
    // serde_json shows a float as its JSON text.
    let shown = match Number::from_f64(NON_FINITE_STAND_IN) {
        Some(n) => format!("floating point `{n}`"),
        None => return message.to_string(),
    };
    message.replace(&shown, "floating point `nan` or `inf`")
}

/// A TOML value with the byte span of every table entry.
enum Node {
    Table(Vec<(String, Spanned<Node>)>),
    Array(Vec<Node>),
    Scalar(Value),
}

impl Node {
    fn into_json(self, text: &str, prefix: &str, lines: &mut BTreeMap<String, usize>) -> Value {
        match self {
            Node::Scalar(v) => v,
            Node::Array(items) => Value::Array(
                items
                    .into_iter()
                    .map(|n| n.into_json(text, prefix, &mut BTreeMap::new()))
                    .collect(),
            ),
            Node::Table(entries) => {
                let mut map = Map::new();
                for (key, node) in entries {
                    let path = format!("{prefix}{key}");
                    let start = node.span().start.min(text.len());
                    lines.insert(path.clone(), text[..start].matches('\n').count() + 1);
                    let value = node
                        .into_inner()
                        .into_json(text, &format!("{path}/"), lines);
                    map.insert(key, value);
                }
                Value::Object(map)
            }
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a TOML value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        // JSON has no inf/nan: a finite stand-in, which reads as a float wherever TOML's
        // value would. Only the key checks see this form; the config itself is read from the
        // TOML with the number (`from_toml`).
        let v = if v.is_finite() {
            v
        } else {
            NON_FINITE_STAND_IN
        };
        Ok(Node::Scalar(
            Number::from_f64(v).map_or(Value::Null, Value::Number),
        ))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v.to_string())))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(Value::String(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value::<Spanned<Node>>()?));
        }
        Ok(Node::Table(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_keep_their_lines() {
        let text = "lr = 0.001\n\n# a comment\nminibatch_size = 64\nenv_config = { a = 1 }\n\n[model_config]\nfcnet_hiddens = [\n  32,\n  32,\n]\n";
        let doc = TomlText::parse(text).unwrap();
        assert_eq!(
            doc.value,
            json!({"lr": 0.001, "minibatch_size": 64, "env_config": {"a": 1},
                   "model_config": {"fcnet_hiddens": [32, 32]}})
        );
        assert_eq!(doc.line("lr"), Some(1));
        assert_eq!(doc.line("minibatch_size"), Some(4));
        assert_eq!(doc.line("env_config/a"), Some(5));
        assert_eq!(doc.line("model_config/fcnet_hiddens"), Some(8));
        let doc = TomlText::parse("a = nan\nb = [-inf]\n").unwrap();
        assert_eq!(doc.value, json!({"a": f64::MAX, "b": [f64::MAX]}));
        let err = TomlText::parse("lr = = 1").unwrap_err();
        assert!(err.0.contains("line 1"), "{err}");
    }
}
