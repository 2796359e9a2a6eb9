//! Loading a whole config from JSON or TOML: missing keys take their defaults, unknown keys
//! are refused with the nearest known one named, and a value of the wrong type is reported
//! with its key (and, in TOML, its line).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::keys::unknown_keys;
use super::toml_text::{explain_stand_in, TomlText};
use super::ConfigError;

/// A config from a JSON value (what [`build_algorithm`](crate::algorithm::build_algorithm)
/// receives): missing keys take their defaults; unknown keys and values of the wrong type
/// are errors that name the key.
pub fn from_value<T>(value: &Value) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    load(value, &|_| None)
}

/// A config from JSON text, as [`from_value`].
pub fn from_json<T>(text: &str) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let value: Value =
        serde_json::from_str(text).map_err(|e| ConfigError(format!("bad JSON: {e}")))?;
    from_value(&value)
}

/// A config from TOML text, as [`from_value`]; errors about a key say its line.
pub fn from_toml<T>(text: &str) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let doc = TomlText::parse(text)?;
    let line_of = |path: &str| doc.line(path);
    // TOML can write `nan` and `inf`, JSON cannot: the config itself is read from the TOML,
    // so that such a value reaches `validate()`, which refuses it by name. The JSON form
    // finds unknown keys and, on error, the key whose value is of the wrong type.
    match toml::from_str::<T>(text) {
        Ok(config) => refuse_unknown_keys(config, &doc.value, &line_of),
        Err(e) => Err(match load::<T>(&doc.value, &line_of) {
            Err(located) => ConfigError(explain_stand_in(&located.0)),
            Ok(_) => ConfigError(format!("bad TOML: {e}")),
        }),
    }
}

/// The config as TOML. TOML has no null, so a key set to `None` is left out and reads back
/// as its default: when that default is something else, the config cannot be written as
/// TOML, and the error names the key (write JSON instead).
pub fn to_toml<T>(config: &T) -> Result<String, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let text =
        toml::to_string(config).map_err(|e| ConfigError(format!("cannot write TOML: {e}")))?;
    let back: T = from_toml(&text)?;
    let (was, is) = (to_json(config)?, to_json(&back)?);
    match first_difference(&was, &is, "") {
        None => Ok(text),
        Some((path, v)) => Err(ConfigError(format!(
            "cannot write the config as TOML: `{path}` = {v} does not survive (TOML has no null, and the key's default is not null); write it as JSON"
        ))),
    }
}

fn to_json<T: Serialize>(config: &T) -> Result<Value, ConfigError> {
    serde_json::to_value(config)
        .map_err(|e| ConfigError(format!("the config does not serialize: {e}")))
}

/// Parses `input`, then refuses the keys the parsed config does not serialize back.
/// `line_of` gives a key's line in the text it came from, when there is one.
fn load<T>(input: &Value, line_of: &dyn Fn(&str) -> Option<usize>) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let at = |path: &str| match line_of(path) {
        Some(line) => format!("`{path}` (line {line})"),
        None => format!("`{path}`"),
    };
    if !input.is_object() {
        return Err(ConfigError(format!(
            "a config is an object of keys, not {input}"
        )));
    }
    let config: T = match serde_json::from_value(input.clone()) {
        Ok(c) => c,
        Err(e) => {
            return Err(ConfigError(match locate_type_error::<T>(input) {
                Some((path, why)) => format!("{}: {why}", at(&path)),
                None => format!("the config does not read: {e}"),
            }))
        }
    };
    refuse_unknown_keys(config, input, line_of)
}

/// `config` if it serializes back every key of `input` it was read from; otherwise an error
/// naming each unknown key with the nearest known one (and its line, from `line_of`).
fn refuse_unknown_keys<T: Serialize>(
    config: T,
    input: &Value,
    line_of: &dyn Fn(&str) -> Option<usize>,
) -> Result<T, ConfigError> {
    let unknown = unknown_keys(input, &to_json(&config)?);
    if unknown.is_empty() {
        return Ok(config);
    }
    let lines: Vec<String> = unknown
        .iter()
        .map(|u| match line_of(&u.path.join("/")) {
            Some(line) => format!("line {line}: {}", u.message()),
            None => u.message(),
        })
        .collect();
    Err(ConfigError(lines.join("\n")))
}

/// The key whose value alone makes the default config fail to read, with serde's reason
/// (serde's own errors name no key through `flatten`). Only runs on the error path: one
/// parse per key of the input.
fn locate_type_error<T>(input: &Value) -> Option<(String, String)>
where
    T: Serialize + DeserializeOwned + Default,
{
    let base = serde_json::to_value(T::default()).ok()?;
    let mut leaves = Vec::new();
    leaf_paths(input, &base, &mut Vec::new(), &mut leaves);
    leaves.into_iter().find_map(|path| {
        let mut probe = base.clone();
        put(&mut probe, &path, pointer(input, &path)?.clone());
        let err = serde_json::from_value::<T>(probe).err()?;
        Some((path.join("/"), err.to_string()))
    })
}

/// The paths of `input`'s values, entering objects that are objects in `base` too.
fn leaf_paths<'a>(
    input: &'a Value,
    base: &Value,
    path: &mut Vec<&'a str>,
    out: &mut Vec<Vec<&'a str>>,
) {
    let Value::Object(map) = input else { return };
    for (k, v) in map {
        path.push(k);
        match (v, base.get(k.as_str())) {
            (Value::Object(_), Some(b @ Value::Object(_))) => leaf_paths(v, b, path, out),
            _ => out.push(path.clone()),
        }
        path.pop();
    }
}

fn pointer<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

fn put(v: &mut Value, path: &[&str], value: Value) {
    let Some((last, sections)) = path.split_last() else {
        return;
    };
    let mut node = v;
    for k in sections {
        if !node.get(*k).is_some_and(Value::is_object) {
            if let Value::Object(m) = node {
                m.insert(k.to_string(), Value::Object(Map::new()));
            }
        }
        node = match node.get_mut(*k) {
            Some(n) => n,
            None => return,
        };
    }
    if let Value::Object(m) = node {
        m.insert(last.to_string(), value);
    }
}

/// The first path (depth first) where `a` and `b` differ, with `a`'s value there.
fn first_difference(a: &Value, b: &Value, prefix: &str) -> Option<(String, Value)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => x.iter().find_map(|(k, v)| {
            let path = format!("{prefix}{k}");
            match y.get(k) {
                Some(w) => first_difference(v, w, &format!("{path}/"))
                    .map(|(p, v)| (if p.is_empty() { path.clone() } else { p }, v)),
                None => Some((path, v.clone())),
            }
        }),
        _ if a == b => None,
        _ => Some((prefix.trim_end_matches('/').to_string(), a.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Inner {
        width: usize,
    }

    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Shared {
        lr: f64,
        inner: Inner,
        free: Value,
    }

    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    struct Whole {
        #[serde(flatten)]
        shared: Shared,
        own: u32,
        clip: Option<f64>,
    }

    impl Default for Whole {
        fn default() -> Self {
            Whole {
                shared: Shared {
                    free: Value::Object(Map::new()),
                    ..Shared::default()
                },
                own: 1,
                clip: Some(40.0),
            }
        }
    }

    #[test]
    fn unknown_keys_are_refused_through_flatten_at_every_level() {
        let ok: Whole = from_value(&json!({"lr": 0.5, "own": 2, "free": {"k": 1}})).unwrap();
        assert_eq!((ok.shared.lr, ok.own), (0.5, 2));
        let e = from_value::<Whole>(&json!({"lrr": 0.5})).unwrap_err();
        assert_eq!(e.0, "unknown key `lrr`; did you mean `lr`?");
        let e = from_value::<Whole>(&json!({"inner": {"widht": 3}})).unwrap_err();
        assert_eq!(
            e.0,
            "unknown key `inner/widht`; did you mean `inner/width`?"
        );
        let e = from_json::<Whole>("{\"own\": 1, \"onw\": 2}").unwrap_err();
        assert!(e.0.contains("`onw`; did you mean `own`?"), "{e}");
    }

    #[test]
    fn type_errors_name_the_key_and_in_toml_its_line() {
        let e = from_value::<Whole>(&json!({"inner": {"width": "wide"}})).unwrap_err();
        assert!(
            e.0.starts_with("`inner/width`: invalid type: string"),
            "{e}"
        );
        let e = from_toml::<Whole>("own = 3\nlr = \"fast\"\n").unwrap_err();
        assert!(
            e.0.starts_with("`lr` (line 2): invalid type: string"),
            "{e}"
        );
        let e = from_toml::<Whole>("own = 3\n\n[inner]\nwidth = -1\n").unwrap_err();
        assert!(e.0.starts_with("`inner/width` (line 4):"), "{e}");
        let e = from_toml::<Whole>("own = 3\nonw = 1\n").unwrap_err();
        assert_eq!(e.0, "line 2: unknown key `onw`; did you mean `own`?");
        // TOML's nan and inf reach the config (for `validate` to refuse by name); a type
        // error elsewhere is still found.
        let w = from_toml::<Whole>("lr = nan\nclip = -inf\n").unwrap();
        assert!(w.shared.lr.is_nan() && w.clip == Some(f64::NEG_INFINITY));
        let e = from_toml::<Whole>("clip = inf\nown = \"one\"\n").unwrap_err();
        assert!(
            e.0.starts_with("`own` (line 2): invalid type: string"),
            "{e}"
        );
        let e = from_toml::<Whole>("lr = 1.0\nown = nan\n").unwrap_err();
        assert!(
            e.0.starts_with("`own` (line 2): invalid type: floating point `nan` or `inf`"),
            "{e}"
        );
        let e = from_toml::<Whole>("own = 3\nonw = 1\nlr = nan\n").unwrap_err();
        assert_eq!(e.0, "line 2: unknown key `onw`; did you mean `own`?");
        assert!(from_value::<Whole>(&json!([1])).is_err());
    }

    #[test]
    fn toml_round_trips_or_says_which_key_cannot() {
        let w = Whole {
            own: 7,
            ..Whole::default()
        };
        assert_eq!(from_toml::<Whole>(&to_toml(&w).unwrap()).unwrap(), w);
        let none = Whole {
            clip: None,
            ..Whole::default()
        };
        let e = to_toml(&none).unwrap_err();
        assert!(e.0.contains("`clip` = null does not survive"), "{e}");
    }
}
