//! The param space: an algorithm config (JSON object with RLlib's key names) in which some
//! keys hold [`Domain`]s, and its expansion into trial configs the way Ray Tune's
//! `BasicVariantGenerator` does it.

use std::collections::BTreeMap;

use rand::SeedableRng;
use rl_core::seeding::derive_seed;
use rl_core::Rng;
use serde::Serialize;
use serde_json::{Map, Value};

use super::domain::Domain;
use crate::tune::report::format::py_g_prec;
use crate::tune::TuneError;

/// An algorithm config with some keys replaced by search domains (Ray's `param_space`).
///
/// ```
/// use rl::tune::{grid_search, loguniform, ParamSpace};
/// use rl::algos::PPOConfig;
/// let space = ParamSpace::from_config(&PPOConfig::new().environment("CartPole-v1"))
///     .unwrap()
///     .set("minibatch_size", grid_search([128, 200, 256]))
///     .set("lr", loguniform(1e-5, 1e-3));
/// assert_eq!(space.num_grid_points(), 3);
/// ```
///
/// Keys are RLlib's names; nested keys are joined by `/` (`model_config/fcnet_hiddens`).
/// In JSON or TOML a domain is an object with exactly one key naming it — Ray's own
/// `{"grid_search": [...]}` form, and `{"uniform": [lower, upper]}`,
/// `{"loguniform": [lower, upper]}`, `{"choice": [...]}`, `{"randint": [lower, upper]}`,
/// `{"quniform": [lower, upper, q]}`, `{"qloguniform": [lower, upper, q]}`,
/// `{"qrandint": [lower, upper, q]}`, `{"randn": [mean, sd]}` for the others.
#[derive(Clone, Debug, Default)]
pub struct ParamSpace {
    base: Map<String, Value>,
    domains: BTreeMap<String, Domain>,
}

/// One trial's config drawn from a param space, with the values that were searched
/// (Ray's `resolved_vars`, which make the experiment tag).
#[derive(Clone, Debug, PartialEq)]
pub struct Variant {
    /// The full config.
    pub config: Value,
    /// `(key, value)` of every searched key, in key order.
    pub resolved_vars: Vec<(String, Value)>,
}

fn split_path(key: &str) -> Vec<&str> {
    key.split('/').filter(|s| !s.is_empty()).collect()
}

/// Sets `key` (segments joined by `/`) in a JSON object, creating sections on the way
/// (a non-object in the way is replaced).
pub(crate) fn set_in(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let segs = split_path(key);
    let Some((last, init)) = segs.split_last() else {
        return;
    };
    let mut node = obj;
    for seg in init {
        let entry = node
            .entry(seg.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        node = entry.as_object_mut().expect("just made an object");
    }
    node.insert(last.to_string(), value);
}

/// Reads `key` (segments joined by `/`) from a JSON value.
pub(crate) fn get_in<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    split_path(key)
        .into_iter()
        .try_fold(value, |v, seg| v.as_object()?.get(seg))
}

fn remove_in(obj: &mut Map<String, Value>, key: &str) {
    let segs = split_path(key);
    let Some((last, init)) = segs.split_last() else {
        return;
    };
    let mut node = obj;
    for seg in init {
        match node.get_mut(*seg).and_then(Value::as_object_mut) {
            Some(n) => node = n,
            None => return,
        }
    }
    node.remove(*last);
}

impl ParamSpace {
    /// An empty param space (every key takes the algorithm's default).
    pub fn new() -> Self {
        Self::default()
    }

    /// A param space from a typed config (`PPOConfig`): every field constant, until
    /// [`set`](Self::set) replaces some with domains.
    pub fn from_config<T: Serialize>(config: &T) -> Result<Self, TuneError> {
        match serde_json::to_value(config) {
            Ok(Value::Object(base)) => Ok(ParamSpace {
                base,
                domains: BTreeMap::new(),
            }),
            Ok(other) => Err(TuneError::SearchSpace(format!(
                "a config must serialize to a JSON object, not {other}"
            ))),
            Err(e) => Err(TuneError::SearchSpace(format!(
                "the config does not serialize: {e}"
            ))),
        }
    }

    /// A param space from JSON, where domains appear in their JSON form (Ray's
    /// `{"grid_search": [...]}` and the others listed on [`ParamSpace`]).
    pub fn from_value(value: Value) -> Result<Self, TuneError> {
        let Value::Object(obj) = value else {
            return Err(TuneError::SearchSpace(format!(
                "a param space must be a JSON object of config keys, not {value}"
            )));
        };
        let mut space = ParamSpace::new();
        space.absorb("", obj)?;
        Ok(space)
    }

    fn absorb(&mut self, prefix: &str, obj: Map<String, Value>) -> Result<(), TuneError> {
        for (k, v) in obj {
            let key = if prefix.is_empty() {
                k
            } else {
                format!("{prefix}/{k}")
            };
            if let Some(d) = Domain::from_json(&key, &v)? {
                self.domains.insert(key, d);
            } else if let Value::Object(inner) = v {
                if inner.is_empty() {
                    set_in(&mut self.base, &key, Value::Object(inner));
                } else {
                    self.absorb(&key, inner)?;
                }
            } else {
                set_in(&mut self.base, &key, v);
            }
        }
        Ok(())
    }

    /// A param space from JSON text.
    pub fn from_json(text: &str) -> Result<Self, TuneError> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| TuneError::SearchSpace(format!("bad JSON param space: {e}")))?;
        Self::from_value(v)
    }

    /// A param space from TOML text (domains as inline tables:
    /// `minibatch_size = { grid_search = [128, 256] }`).
    pub fn from_toml(text: &str) -> Result<Self, TuneError> {
        let t: toml::Value = toml::from_str(text)
            .map_err(|e| TuneError::SearchSpace(format!("bad TOML param space: {e}")))?;
        let v = serde_json::to_value(t)
            .map_err(|e| TuneError::SearchSpace(format!("bad TOML param space: {e}")))?;
        Self::from_value(v)
    }

    /// Searches `key` (RLlib's name, nested keys joined by `/`) over `domain`.
    pub fn set(mut self, key: &str, domain: Domain) -> Self {
        remove_in(&mut self.base, key);
        self.domains.insert(split_path(key).join("/"), domain);
        self
    }

    /// Sets `key` to a constant.
    pub fn set_constant(mut self, key: &str, value: impl Into<Value>) -> Self {
        let key = split_path(key).join("/");
        self.domains.remove(&key);
        set_in(&mut self.base, &key, value.into());
        self
    }

    /// The searched keys and their domains, in key order.
    pub fn domains(&self) -> &BTreeMap<String, Domain> {
        &self.domains
    }

    /// The constant part of the config.
    pub fn base(&self) -> &Map<String, Value> {
        &self.base
    }

    /// Whether `key` is searched or set (as opposed to left to the algorithm's default).
    pub fn sets(&self, key: &str) -> bool {
        self.domains.contains_key(key) || get_in(&Value::Object(self.base.clone()), key).is_some()
    }

    /// Whether a [`sample_from`](super::sample_from) function is in the space (it cannot
    /// be saved as JSON).
    pub fn has_functions(&self) -> bool {
        self.domains.values().any(Domain::is_function)
    }

    /// The grid keys in Ray's order (sorted by key; the first varies fastest).
    pub fn grid_vars(&self) -> Vec<(&str, &[Value])> {
        self.domains
            .iter()
            .filter_map(|(k, d)| match d {
                Domain::Grid(v) => Some((k.as_str(), v.as_slice())),
                _ => None,
            })
            .collect()
    }

    /// The number of grid points (1 without grid keys).
    pub fn num_grid_points(&self) -> usize {
        self.grid_vars().iter().map(|(_, v)| v.len()).product()
    }

    /// Checks every domain's arguments.
    pub fn validate(&self) -> Result<(), TuneError> {
        self.domains.iter().try_for_each(|(k, d)| d.validate(k))
    }

    /// The space as JSON, domains in their JSON form.
    pub fn to_json(&self) -> Value {
        let mut obj = self.base.clone();
        for (k, d) in &self.domains {
            set_in(&mut obj, k, d.to_json());
        }
        Value::Object(obj)
    }

    /// The config of grid point `grid_index` (Ray's order) with every other domain drawn
    /// from `rng`: plain domains first, in key order, then `sample_from` functions in key
    /// order, each seeing the config resolved so far.
    pub fn resolve(&self, grid_index: usize, rng: &mut Rng) -> Variant {
        let mut config = self.base.clone();
        let mut resolved = Vec::new();
        let mut rest = grid_index;
        for (key, values) in self.grid_vars() {
            let v = values[rest % values.len()].clone();
            rest /= values.len();
            set_in(&mut config, key, v.clone());
            resolved.push((key.to_string(), v));
        }
        for pass_functions in [false, true] {
            for (key, d) in &self.domains {
                if d.is_grid() || d.is_function() != pass_functions {
                    continue;
                }
                let view = Value::Object(config.clone());
                let v = d.sample(&view, rng);
                set_in(&mut config, key, v.clone());
                resolved.push((key.clone(), v));
            }
        }
        resolved.sort_by(|a, b| a.0.cmp(&b.0));
        Variant {
            config: Value::Object(config),
            resolved_vars: resolved,
        }
    }

    /// Trial `index` of a sweep with `seed`: grid point `index % grid points`, domains
    /// drawn from the trial's own RNG (`derive_seed(seed, ["tune", "search", index])`), so
    /// a trial's config does not depend on how many were drawn before it.
    pub fn variant(&self, index: usize, seed: u64) -> Variant {
        let mut rng =
            Rng::seed_from_u64(derive_seed(seed, &["tune", "search", &index.to_string()]));
        self.resolve(index % self.num_grid_points().max(1), &mut rng)
    }
}

/// Ray's `format_vars`: `last_key=value` of every searched key, comma-separated, values
/// cleaned for directory names. Floats keep 4 significant digits (Ray's `{:.4f}` turns
/// `lr=3e-05` into `lr=0.0000`).
pub fn format_vars(resolved_vars: &[(String, Value)]) -> String {
    resolved_vars
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "env" | "run" | "resources_per_trial"))
        .map(|(k, v)| {
            let last = k.rsplit('/').next().unwrap_or(k);
            format!("{}={}", clean(last), clean_value(v))
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn clean_value(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => py_g_prec(n.as_f64().unwrap_or(f64::NAN), 4),
        Value::String(s) => clean(s),
        other => clean(&other.to_string()),
    }
}

/// Replaces runs of characters outside `[A-Za-z0-9_-]` by `_` and trims `_` (Ray's
/// `_clean_value`).
fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_bad = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
            in_bad = false;
        } else if !in_bad {
            out.push('_');
            in_bad = true;
        }
    }
    out.trim_matches('_').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::search::domain::{grid_search, randint, sample_from, uniform};
    use serde_json::json;

    #[test]
    fn grid_expands_in_rays_order_first_key_fastest() {
        let space = ParamSpace::new()
            .set("minibatch_size", grid_search([128, 256]))
            .set("lr", grid_search([1e-3, 1e-4, 1e-5]));
        assert_eq!(space.num_grid_points(), 6);
        let got: Vec<(f64, i64)> = (0..6)
            .map(|i| {
                let c = space.variant(i, 0).config;
                (
                    c["lr"].as_f64().unwrap(),
                    c["minibatch_size"].as_i64().unwrap(),
                )
            })
            .collect();
        // Ray sorts grid keys ("lr" < "minibatch_size") and increments the first fastest.
        assert_eq!(
            got,
            vec![
                (1e-3, 128),
                (1e-4, 128),
                (1e-5, 128),
                (1e-3, 256),
                (1e-4, 256),
                (1e-5, 256)
            ]
        );
        // num_samples repeats the whole grid: trial 6 is grid point 0 again.
        assert_eq!(space.variant(6, 0).config["lr"], json!(1e-3));
    }

    #[test]
    fn sampling_is_seeded_per_trial_and_functions_see_resolved_values() {
        let space = ParamSpace::new()
            .set("lr", uniform(0.0, 1.0))
            .set("num_epochs", randint(1, 100))
            .set(
                "minibatch_size",
                sample_from(|c, _| json!(c["num_epochs"].as_i64().unwrap() * 2)),
            );
        let a = space.variant(3, 42);
        assert_eq!(a, space.variant(3, 42));
        assert_ne!(a.config["lr"], space.variant(4, 42).config["lr"]);
        assert_ne!(a.config["lr"], space.variant(3, 43).config["lr"]);
        assert_eq!(
            a.config["minibatch_size"].as_i64().unwrap(),
            2 * a.config["num_epochs"].as_i64().unwrap()
        );
        let keys: Vec<&str> = a.resolved_vars.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["lr", "minibatch_size", "num_epochs"]);
    }

    #[test]
    fn json_and_toml_forms_with_nested_keys() {
        let space = ParamSpace::from_json(
            r#"{"env": "CartPole-v1", "minibatch_size": {"grid_search": [128, 256]},
                "model_config": {"fcnet_hiddens": {"grid_search": [[32], [64, 64]]}},
                "lr": {"loguniform": [1e-5, 1e-3]}, "env_config": {}}"#,
        )
        .unwrap();
        assert_eq!(space.num_grid_points(), 4);
        assert!(space.domains().contains_key("model_config/fcnet_hiddens"));
        let c = space.variant(1, 0).config;
        assert_eq!(c["model_config"]["fcnet_hiddens"], json!([32]));
        assert_eq!(c["minibatch_size"], json!(256));
        assert_eq!(c["env_config"], json!({}));
        let toml_space = ParamSpace::from_toml(
            "env = \"CartPole-v1\"\nminibatch_size = { grid_search = [128, 256] }\n[model_config]\nfcnet_hiddens = { grid_search = [[32], [64, 64]] }\n",
        )
        .unwrap();
        assert_eq!(toml_space.num_grid_points(), 4);
        let back = ParamSpace::from_value(space.to_json()).unwrap();
        assert_eq!(back.to_json(), space.to_json());
    }

    #[test]
    fn experiment_tags_are_clean() {
        let vars = vec![
            ("lr".to_string(), json!(3e-5)),
            ("model_config/fcnet_hiddens".to_string(), json!([64, 64])),
            ("minibatch_size".to_string(), json!(128)),
        ];
        assert_eq!(
            format_vars(&vars),
            "lr=3e-05,fcnet_hiddens=64_64,minibatch_size=128"
        );
    }
}
