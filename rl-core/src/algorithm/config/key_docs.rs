//! Every config key's doc line, read from the doc comments on the config structs' fields.
//!
//! The doc comments are the one source: rustdoc shows them on the fields, and
//! [`key_docs`] reads them from the structs' source (`include_str!`, so they are in the
//! binary too) for `docs/config.md` and anyone listing keys. Types come from the same
//! declarations. A separate table would say everything twice; the test that every
//! serialized key is documented ([`check_key_docs`]) keeps the reading honest.
//!
//! What the reader understands: `pub struct Name {` … `}` with one field per declaration,
//! `///` doc lines (the first paragraph is the doc line), `#[serde(flatten)]` (the fields of
//! the flattened struct, in place), `#[serde(skip)]`, `#[serde(rename = "…")]`, and fields
//! whose type is another struct of the sources (a section: its keys are `field/key`).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{AlgoConfig, ConfigError};

/// The source of the shared structs ([`AlgorithmConfig`](super::AlgorithmConfig),
/// [`ModelConfig`](super::ModelConfig)), read with every algorithm config's own.
const SHARED_SOURCE: &str = include_str!("../config.rs");

/// One documented config key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyDoc {
    /// The key, sections joined by `/` (`"model_config/fcnet_hiddens"`), as `set()` takes it.
    pub key: String,
    /// Its Rust type as declared (`"Option<usize>"`).
    pub ty: String,
    /// The first paragraph of its doc comment, on one line.
    pub doc: String,
    /// Whether it is a section whose keys follow (`model_config`).
    pub section: bool,
}

/// The documented keys of config `C`, in declaration order, read from
/// [`AlgoConfig::KEY_DOCS_SOURCE`] and the shared structs' source.
pub fn key_docs<C: AlgoConfig>() -> Result<Vec<KeyDoc>, ConfigError> {
    let full = std::any::type_name::<C>();
    let name = full
        .split('<')
        .next()
        .unwrap_or(full)
        .rsplit("::")
        .next()
        .unwrap_or(full);
    key_docs_from_sources(&[C::KEY_DOCS_SOURCE, SHARED_SOURCE], name)
}

/// The documented keys of struct `name`, declared in one of `sources` (Rust source text),
/// with flattened structs spliced in and sections expanded.
pub fn key_docs_from_sources(sources: &[&str], name: &str) -> Result<Vec<KeyDoc>, ConfigError> {
    let mut structs = BTreeMap::new();
    for source in sources {
        for (n, fields) in parse_structs(source) {
            structs.entry(n).or_insert(fields);
        }
    }
    let mut out = Vec::new();
    expand(&structs, name, "", &mut out, 0)?;
    Ok(out)
}

/// Checks `docs` against the config's serialized keys (`default`: the default config as
/// JSON): every key has a non-empty doc line, and every documented key exists. The error
/// lists what is missing or stale.
pub fn check_key_docs(docs: &[KeyDoc], default: &Value) -> Result<(), ConfigError> {
    let documented: BTreeMap<&str, &KeyDoc> = docs.iter().map(|d| (d.key.as_str(), d)).collect();
    let mut problems = Vec::new();
    let mut serialized = Vec::new();
    serialized_keys(default, "", &documented, &mut serialized);
    for key in &serialized {
        match documented.get(key.as_str()) {
            None => problems.push(format!(
                "`{key}` has no doc comment where its struct declares it"
            )),
            Some(d) if d.doc.trim().is_empty() => {
                problems.push(format!("`{key}` has an empty doc line"))
            }
            Some(_) => {}
        }
    }
    for d in docs {
        if !serialized.contains(&d.key) {
            problems.push(format!(
                "`{}` is documented but the config does not serialize it",
                d.key
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError(problems.join("; ")))
    }
}

/// The keys of `value`, entering the objects that are documented sections.
fn serialized_keys(
    value: &Value,
    prefix: &str,
    documented: &BTreeMap<&str, &KeyDoc>,
    out: &mut Vec<String>,
) {
    let Value::Object(map) = value else { return };
    for (k, v) in map {
        let key = format!("{prefix}{k}");
        if documented.get(key.as_str()).is_some_and(|d| d.section) {
            serialized_keys(v, &format!("{key}/"), documented, out);
        }
        out.push(key);
    }
}

/// One field as declared.
#[derive(Clone, Debug)]
struct Field {
    name: String,
    ty: String,
    doc: String,
    flatten: bool,
    skip: bool,
}

fn expand(
    structs: &BTreeMap<String, Vec<Field>>,
    name: &str,
    prefix: &str,
    out: &mut Vec<KeyDoc>,
    depth: usize,
) -> Result<(), ConfigError> {
    let fields = structs.get(name).ok_or_else(|| {
        ConfigError(format!(
            "no `struct {name}` in the config's key-docs source (set AlgoConfig::KEY_DOCS_SOURCE to include_str!(\"the file declaring it\"))"
        ))
    })?;
    if depth > 8 {
        return Err(ConfigError(format!(
            "config struct `{name}` nests too deeply"
        )));
    }
    for f in fields.iter().filter(|f| !f.skip) {
        let ty_name = f.ty.rsplit("::").next().unwrap_or(&f.ty);
        let nested = structs.contains_key(ty_name);
        if f.flatten {
            if !nested {
                return Err(ConfigError(format!(
                    "`{}` flattens `{}`, whose declaration is not in the key-docs sources",
                    f.name, f.ty
                )));
            }
            expand(structs, ty_name, prefix, out, depth + 1)?;
            continue;
        }
        let key = format!("{prefix}{}", f.name);
        out.push(KeyDoc {
            key: key.clone(),
            ty: f.ty.clone(),
            doc: f.doc.clone(),
            section: nested,
        });
        if nested {
            expand(structs, ty_name, &format!("{key}/"), out, depth + 1)?;
        }
    }
    Ok(())
}

/// Every `struct Name { … }` with named fields in `source`, with its fields.
fn parse_structs(source: &str) -> Vec<(String, Vec<Field>)> {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(name) = struct_header(lines[i]) {
            let (fields, end) = parse_fields(&lines, i + 1);
            out.push((name, fields));
            i = end;
        }
        i += 1;
    }
    out
}

/// `Name` for a line `pub struct Name {` (any visibility).
fn struct_header(line: &str) -> Option<String> {
    let t = line.trim();
    let rest = t.strip_prefix("pub ").unwrap_or(t);
    let rest = rest
        .strip_prefix("pub(crate) ")
        .unwrap_or(rest)
        .strip_prefix("struct ")?;
    let name = rest.strip_suffix('{')?.trim();
    name.chars()
        .all(|c| c.is_alphanumeric() || c == '_')
        .then(|| name.to_string())
}

/// The fields from line `start` to the struct's closing brace; returns them and the index
/// of that line.
fn parse_fields(lines: &[&str], start: usize) -> (Vec<Field>, usize) {
    let mut fields = Vec::new();
    let (mut doc, mut attrs, mut decl) = (Vec::<String>::new(), String::new(), String::new());
    let mut attr_depth = 0i32;
    let mut i = start;
    while i < lines.len() {
        let t = lines[i].trim();
        if attr_depth > 0 {
            attrs.push_str(t);
            attr_depth += depth_change(t, '[', ']');
        } else if decl.is_empty() && t == "}" {
            break;
        } else if let Some(d) = t.strip_prefix("///") {
            doc.push(d.strip_prefix(' ').unwrap_or(d).to_string());
        } else if t.starts_with("//") || (decl.is_empty() && t.is_empty()) {
        } else if decl.is_empty() && t.starts_with("#[") {
            attrs.push_str(t);
            attr_depth = depth_change(t, '[', ']');
        } else {
            decl.push(' ');
            decl.push_str(t);
            if decl.trim_end().ends_with(',') && generic_depth(&decl) == 0 {
                if let Some(f) = field(&decl, &doc, &attrs) {
                    fields.push(f);
                }
                doc.clear();
                attrs.clear();
                decl.clear();
            }
        }
        i += 1;
    }
    (fields, i)
}

/// Rustdoc's intra-doc links as plain code: ``[`X`](y)`` and ``[`X`]`` become `` `X` ``.
fn without_links(doc: &str) -> String {
    let mut out = String::with_capacity(doc.len());
    let mut rest = doc;
    while let Some(i) = rest.find("[`") {
        let Some(j) = rest[i + 2..].find("`]") else {
            break;
        };
        out.push_str(&rest[..i]);
        out.push_str(&rest[i + 1..i + 2 + j + 1]);
        rest = &rest[i + 2 + j + 2..];
        if rest.starts_with('(') {
            if let Some(k) = rest.find(')') {
                rest = &rest[k + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn depth_change(s: &str, open: char, close: char) -> i32 {
    s.chars()
        .map(|c| i32::from(c == open) - i32::from(c == close))
        .sum()
}

fn generic_depth(s: &str) -> i32 {
    depth_change(s, '<', '>') + depth_change(s, '(', ')') + depth_change(s, '[', ']')
}

/// A field from its declaration `pub name: Type,`, doc lines and attributes.
fn field(decl: &str, doc: &[String], attrs: &str) -> Option<Field> {
    let decl = decl.trim().trim_end_matches(',');
    let decl = decl
        .strip_prefix("pub(crate) ")
        .or_else(|| decl.strip_prefix("pub "))
        .unwrap_or(decl);
    let (name, ty) = decl.split_once(':')?;
    let words: Vec<&str> = attrs
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .collect();
    let serde = |word: &str| words.contains(&"serde") && words.contains(&word);
    let rename = attrs
        .split("rename = \"")
        .nth(1)
        .and_then(|r| r.split('"').next());
    let first_paragraph: Vec<&str> = doc
        .iter()
        .map(|l| l.trim())
        .take_while(|l| !l.is_empty())
        .collect();
    Some(Field {
        name: rename.unwrap_or(name.trim()).to_string(),
        ty: ty.split_whitespace().collect::<Vec<_>>().join(" "),
        doc: without_links(&first_paragraph.join(" ")),
        flatten: serde("flatten"),
        skip: serde("skip") || serde("skip_serializing"),
    })
}

#[cfg(test)]
mod tests {
    use super::super::AlgorithmConfig;
    use super::*;

    const SOURCE: &str = r#"
/// A test config.
#[derive(Serialize)]
pub struct Outer {
    /// Shared ones.
    #[serde(flatten)]
    pub base: Inner,
    /// A long one whose type
    /// wraps, with a second doc line.
    ///
    /// A second paragraph, not in the doc line.
    pub long_field:
        Option<Vec<(u64, f64)>>,
    // a plain comment
    /// Renamed.
    #[serde(
        rename = "other"
    )]
    pub renamed: bool,
    #[serde(skip)]
    cache: Vec<u8>,
    /// A section.
    pub section: Inner,
}

struct Inner {
    /// The width (`{ "a": 1 }` braces in docs are fine).
    pub width: usize,
}
"#;

    #[test]
    fn reads_docs_types_flatten_sections_and_renames() {
        let docs = key_docs_from_sources(&[SOURCE], "Outer").unwrap();
        let keys: Vec<(&str, &str, bool)> = docs
            .iter()
            .map(|d| (d.key.as_str(), d.ty.as_str(), d.section))
            .collect();
        assert_eq!(
            keys,
            [
                ("width", "usize", false),
                ("long_field", "Option<Vec<(u64, f64)>>", false),
                ("other", "bool", false),
                ("section", "Inner", true),
                ("section/width", "usize", false),
            ]
        );
        assert_eq!(
            docs[1].doc,
            "A long one whose type wraps, with a second doc line."
        );
        assert!(key_docs_from_sources(&[SOURCE], "Missing").is_err());
        assert_eq!(
            without_links("Start from [`Pipeline::new`] or [`x`](crate::y), [not a link]."),
            "Start from `Pipeline::new` or `x`, [not a link]."
        );
    }

    #[test]
    fn the_shared_config_is_documented_key_by_key() {
        let docs = key_docs_from_sources(&[SHARED_SOURCE], "AlgorithmConfig").unwrap();
        let default = serde_json::to_value(AlgorithmConfig::default()).unwrap();
        check_key_docs(&docs, &default).unwrap();
        assert!(docs.iter().any(|d| d.key == "model_config/fcnet_hiddens"));
        let mut fewer = docs.clone();
        fewer.retain(|d| d.key != "lr");
        let err = check_key_docs(&fewer, &default).unwrap_err();
        assert!(err.0.contains("`lr` has no doc comment"), "{err}");
        let mut stale = docs;
        stale[0].key = "no_such_key".into();
        assert!(check_key_docs(&stale, &default).is_err());
    }
}
