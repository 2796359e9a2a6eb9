//! Unknown keys: what a config file says that the config does not read.
//!
//! serde's `deny_unknown_fields` does not work with `#[serde(flatten)]` (how every algorithm
//! config embeds [`AlgorithmConfig`](super::AlgorithmConfig)), so the check compares instead
//! the keys of the input with the keys the parsed config serializes back to, level by level.
//! A key the config read comes back; a key it ignored does not. Free-form values
//! (`env_config`, a `serde_json::Value`) come back whole, so their keys pass, and arrays
//! (connector pipelines: typetag objects, each with its own serde rules) are not entered.

use serde_json::{Map, Value};

/// One key of the input that the config does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UnknownKey {
    /// Where it is: the sections, then the key.
    pub path: Vec<String>,
    /// The known key at that level it most likely meant.
    pub suggestion: Option<String>,
    /// Every known key at that level, sorted.
    pub known: Vec<String>,
}

impl UnknownKey {
    /// `unknown key `a/b`; did you mean `a/c`?` (or the known keys when none is near).
    pub fn message(&self) -> String {
        let full = self.path.join("/");
        let prefix: String = self.path[..self.path.len() - 1]
            .iter()
            .map(|s| format!("{s}/"))
            .collect();
        match &self.suggestion {
            Some(s) => format!("unknown key `{full}`; did you mean `{prefix}{s}`?"),
            None => format!(
                "unknown key `{full}`; the known keys{} are: {}",
                if prefix.is_empty() {
                    String::new()
                } else {
                    format!(" in `{}`", prefix.trim_end_matches('/'))
                },
                self.known.join(", ")
            ),
        }
    }
}

/// Every key of `input` that `canon` (the parsed config, serialized) lacks, depth first.
pub(crate) fn unknown_keys(input: &Value, canon: &Value) -> Vec<UnknownKey> {
    let mut out = Vec::new();
    if let (Value::Object(i), Value::Object(c)) = (input, canon) {
        walk(i, c, &mut Vec::new(), &mut out);
    }
    out
}

fn walk(
    input: &Map<String, Value>,
    canon: &Map<String, Value>,
    path: &mut Vec<String>,
    out: &mut Vec<UnknownKey>,
) {
    for (key, value) in input {
        path.push(key.clone());
        match canon.get(key) {
            None => {
                let mut known: Vec<String> = canon.keys().cloned().collect();
                known.sort();
                out.push(UnknownKey {
                    path: path.clone(),
                    suggestion: nearest(key, &known).map(str::to_string),
                    known,
                });
            }
            Some(Value::Object(c)) => {
                if let Value::Object(i) = value {
                    walk(i, c, path, out);
                }
            }
            Some(_) => {}
        }
        path.pop();
    }
}

/// The candidate `key` most likely meant: the closest by edit distance (case and `-`/`_`
/// ignored) within about a third of its length, or one that contains it or is contained
/// in it (RLlib's older `sgd_minibatch_size` → `minibatch_size`).
pub(crate) fn nearest<'a>(key: &str, candidates: &'a [String]) -> Option<&'a str> {
    let norm = |s: &str| s.to_lowercase().replace('-', "_");
    let k = norm(key);
    let scored = candidates.iter().map(|c| {
        let n = norm(c);
        let contained = k.len().min(n.len()) >= 4 && (n.contains(&k) || k.contains(&n));
        let d = edit_distance(&k, &n);
        (c.as_str(), d, contained)
    });
    let limit = (k.chars().count() / 3).max(2);
    scored
        .filter(|&(_, d, contained)| d <= limit || contained)
        .min_by_key(|&(_, d, _)| d)
        .map(|(c, _, _)| c)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and swaps of
/// neighbours each cost 1.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * w + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let sub = d[(i - 1) * w + j - 1] + usize::from(a[i - 1] != b[j - 1]);
                let mut best = sub.min(d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * w + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn nearest_finds_typos_and_old_names() {
        let known = keys(&["minibatch_size", "num_epochs", "lr", "lambda_", "gamma"]);
        assert_eq!(nearest("minibatchsize", &known), Some("minibatch_size"));
        assert_eq!(nearest("Minibatch-Size", &known), Some("minibatch_size"));
        assert_eq!(
            nearest("sgd_minibatch_size", &known),
            Some("minibatch_size")
        );
        assert_eq!(nearest("num_epohcs", &known), Some("num_epochs"));
        assert_eq!(nearest("lambda", &known), Some("lambda_"));
        assert_eq!(nearest("completely_else", &known), None);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn unknown_keys_at_every_level_but_not_inside_free_values_or_arrays() {
        let input = json!({
            "lr": 1,
            "minibatchsize": 2,
            "model_config": {"fcnet_hidens": [1]},
            "env_config": {"anything": 1},
            "pipeline": [{"type": "X", "whatever": 1}]
        });
        let canon = json!({
            "lr": 1,
            "minibatch_size": 2,
            "model_config": {"fcnet_hiddens": [256]},
            "env_config": {"anything": 1},
            "pipeline": [{"type": "X"}]
        });
        let found = unknown_keys(&input, &canon);
        let messages: Vec<String> = found.iter().map(UnknownKey::message).collect();
        assert_eq!(
            messages,
            [
                "unknown key `minibatchsize`; did you mean `minibatch_size`?",
                "unknown key `model_config/fcnet_hidens`; did you mean `model_config/fcnet_hiddens`?",
            ]
        );
        let far = unknown_keys(&json!({"zzz_qqq": 1}), &canon);
        assert!(
            far[0].message().contains("known keys are: env_config, lr,"),
            "{}",
            far[0].message()
        );
    }
}
