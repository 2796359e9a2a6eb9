//! Metrics: episode statistics smoothed over a window, nested results with RLlib's keys,
//! and their flattening for `progress.csv`.

pub mod episode_window;
pub mod logger;
pub mod trial_files;

pub use episode_window::{EpisodeStats, EpisodeWindow};
pub use logger::ResultLogger;
pub use trial_files::TrialWriter;

use serde_json::{Map, Value};

/// A nested result (RLlib's result dict): keys like `env_runners/episode_return_mean`
/// are paths through nested objects.
pub type ResultDict = Map<String, Value>;

/// Sets `path` (segments joined by `/`) in a nested result, creating objects on the way.
pub fn set_path(result: &mut ResultDict, path: &str, value: impl Into<Value>) {
    let mut segments = path.split('/').peekable();
    let mut node = result;
    while let Some(seg) = segments.next() {
        if segments.peek().is_none() {
            node.insert(seg.to_string(), value.into());
            return;
        }
        let entry = node
            .entry(seg.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        // Invariant: `entry` was made an object just above.
        node = entry.as_object_mut().expect("just made an object");
    }
}

/// Reads `path` (segments joined by `/`) from a nested result.
pub fn get_path<'a>(result: &'a ResultDict, path: &str) -> Option<&'a Value> {
    let mut segments = path.split('/');
    let mut value = result.get(segments.next()?)?;
    for seg in segments {
        value = value.as_object()?.get(seg)?;
    }
    Some(value)
}

/// Flattens a nested result into `(path, leaf)` pairs, paths joined by `/`, in key order.
pub fn flatten(result: &ResultDict) -> Vec<(String, Value)> {
    fn walk(prefix: &str, map: &ResultDict, out: &mut Vec<(String, Value)>) {
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}/{k}")
            };
            match v {
                Value::Object(inner) => walk(&path, inner, out),
                leaf => out.push((path, leaf.clone())),
            }
        }
    }
    let mut out = Vec::new();
    walk("", result, &mut out);
    out
}

/// A float as a JSON value: NaN and infinities (which JSON cannot hold) become `null`.
pub fn float(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_and_flatten_paths() {
        let mut r = ResultDict::new();
        set_path(&mut r, "env_runners/episode_return_mean", 20.5);
        set_path(&mut r, "training_iteration", 1);
        assert_eq!(
            get_path(&r, "env_runners/episode_return_mean"),
            Some(&Value::from(20.5))
        );
        let flat = flatten(&r);
        assert_eq!(flat[0].0, "env_runners/episode_return_mean");
        assert_eq!(flat[1].0, "training_iteration");
        assert_eq!(float(f64::NAN), Value::Null);
    }
}
