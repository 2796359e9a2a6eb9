//! The algorithm registry: build any algorithm by name from a JSON config, as Tune and the
//! command line do (`build_algorithm("PPO", &config)`), and users' own algorithms
//! registered with a factory closure — like envs in [`crate::env::registry`].
//!
//! The registry is global to the process. rl-core registers nothing itself:
//! `rl_algos::register_builtins()` adds PPO (and the other built-in algorithms); the `rl`
//! crate's entry points call it for you.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use serde_json::Value;

use super::checkpoint::CheckpointReader;
use super::config::reference::{self, ReferenceEntry};
use super::config::KeyDoc;
use super::{Algorithm, AlgorithmError, ConfigError};
use crate::module::RLModule;

/// Builds an algorithm from its config (a JSON object of RLlib-named keys).
pub type AlgorithmFactory =
    Arc<dyn Fn(&Value) -> Result<Box<dyn Algorithm>, AlgorithmError> + Send + Sync + 'static>;

/// Builds an algorithm from a checkpoint directory (RLlib's `Algorithm.from_checkpoint`).
pub type CheckpointFactory =
    Arc<dyn Fn(&Path) -> Result<Box<dyn Algorithm>, AlgorithmError> + Send + Sync + 'static>;

/// The default config of an algorithm, as JSON (every key with its default value).
pub type DefaultConfigFn = Arc<dyn Fn() -> Value + Send + Sync + 'static>;

/// The documented keys of the algorithm's config (for `docs/config.md`).
pub type KeyDocsFn = Arc<dyn Fn() -> Result<Vec<KeyDoc>, ConfigError> + Send + Sync + 'static>;

/// Reads the acting module alone from a checkpoint of the algorithm (policy export).
pub type ModuleLoader = Arc<
    dyn Fn(&CheckpointReader) -> Result<Box<dyn RLModule>, AlgorithmError> + Send + Sync + 'static,
>;

/// One registry entry: how to build the algorithm, its default config, and how to load it
/// from a checkpoint.
#[derive(Clone)]
pub struct AlgorithmRegistration {
    name: String,
    build: AlgorithmFactory,
    default_config: DefaultConfigFn,
    key_docs: Option<KeyDocsFn>,
    from_checkpoint: Option<CheckpointFactory>,
    load_module: Option<ModuleLoader>,
}

impl std::fmt::Debug for AlgorithmRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlgorithmRegistration")
            .field("name", &self.name)
            .field("from_checkpoint", &self.from_checkpoint.is_some())
            .finish_non_exhaustive()
    }
}

impl AlgorithmRegistration {
    /// An entry named `name` built by `factory` from a JSON config. Its default config is
    /// an empty object until [`default_config`](Self::default_config) says otherwise.
    pub fn new<F>(name: impl Into<String>, factory: F) -> Self
    where
        F: Fn(&Value) -> Result<Box<dyn Algorithm>, AlgorithmError> + Send + Sync + 'static,
    {
        AlgorithmRegistration {
            name: name.into(),
            build: Arc::new(factory),
            default_config: Arc::new(|| Value::Object(Default::default())),
            key_docs: None,
            from_checkpoint: None,
            load_module: None,
        }
    }

    /// The default config (every key with its default), for `rl config show` and sweeps.
    pub fn default_config<F>(mut self, f: F) -> Self
    where
        F: Fn() -> Value + Send + Sync + 'static,
    {
        self.default_config = Arc::new(f);
        self
    }

    /// The doc line of every config key ([`key_docs`](super::config::key_docs()) of the
    /// config type), for the config reference.
    pub fn key_docs<F>(mut self, f: F) -> Self
    where
        F: Fn() -> Result<Vec<KeyDoc>, ConfigError> + Send + Sync + 'static,
    {
        self.key_docs = Some(Arc::new(f));
        self
    }

    /// How to build the algorithm from a checkpoint of it.
    pub fn from_checkpoint<F>(mut self, f: F) -> Self
    where
        F: Fn(&Path) -> Result<Box<dyn Algorithm>, AlgorithmError> + Send + Sync + 'static,
    {
        self.from_checkpoint = Some(Arc::new(f));
        self
    }

    /// How to read the acting module alone from a checkpoint of the algorithm (for
    /// [`InferencePolicy::from_checkpoint`](super::InferencePolicy::from_checkpoint)).
    pub fn load_module<F>(mut self, f: F) -> Self
    where
        F: Fn(&CheckpointReader) -> Result<Box<dyn RLModule>, AlgorithmError>
            + Send
            + Sync
            + 'static,
    {
        self.load_module = Some(Arc::new(f));
        self
    }

    /// The registered name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn registry() -> &'static RwLock<BTreeMap<String, AlgorithmRegistration>> {
    static REGISTRY: OnceLock<RwLock<BTreeMap<String, AlgorithmRegistration>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(BTreeMap::new()))
}

fn lookup(name: &str) -> Result<AlgorithmRegistration, AlgorithmError> {
    let map = registry().read().unwrap_or_else(|e| e.into_inner());
    map.get(name).cloned().ok_or_else(|| {
        let known: Vec<&String> = map.keys().collect();
        AlgorithmError::Config(ConfigError(format!(
            "no algorithm registered as {name:?}; registered: {known:?} (call rl_algos::register_builtins() for the built-in ones, or register_algorithm for your own)"
        )))
    })
}

/// Adds `registration` to the global registry, replacing any entry of the same name.
/// Returns `true` when an entry was replaced.
pub fn register_algorithm(registration: AlgorithmRegistration) -> bool {
    let mut map = registry().write().unwrap_or_else(|e| e.into_inner());
    map.insert(registration.name.clone(), registration)
        .is_some()
}

/// Builds the algorithm registered as `name` from `config` (RLlib-named keys; the
/// algorithm's factory validates it).
pub fn build_algorithm(name: &str, config: &Value) -> Result<Box<dyn Algorithm>, AlgorithmError> {
    let entry = lookup(name)?;
    (entry.build)(config)
}

/// The default config of the algorithm registered as `name`.
pub fn default_config(name: &str) -> Result<Value, AlgorithmError> {
    Ok((lookup(name)?.default_config)())
}

/// The documented keys of the config of the algorithm registered as `name`; an algorithm
/// registered without them has none.
pub fn config_key_docs(name: &str) -> Result<Vec<KeyDoc>, AlgorithmError> {
    match lookup(name)?.key_docs {
        Some(f) => Ok(f()?),
        None => Ok(Vec::new()),
    }
}

/// The config reference (`docs/config.md`) of every registered algorithm: its keys, their
/// types, defaults and doc lines. An algorithm whose keys have no docs is listed with its
/// top-level keys marked undocumented.
pub fn config_reference() -> Result<String, AlgorithmError> {
    let entries = registered_algorithms()
        .into_iter()
        .map(|name| {
            let default_config = default_config(&name)?;
            let key_docs = match config_key_docs(&name) {
                Ok(docs) if !docs.is_empty() => docs,
                _ => undocumented(&default_config),
            };
            Ok(ReferenceEntry {
                default_config,
                key_docs,
                algorithm: name,
            })
        })
        .collect::<Result<Vec<_>, AlgorithmError>>()?;
    Ok(reference::render(&entries))
}

/// The top-level keys of a config without docs.
fn undocumented(default_config: &Value) -> Vec<KeyDoc> {
    let keys = default_config
        .as_object()
        .into_iter()
        .flat_map(|m| m.keys());
    keys.map(|k| KeyDoc {
        key: k.clone(),
        ty: "?".into(),
        doc: "(undocumented: the config sets no `AlgoConfig::KEY_DOCS_SOURCE`)".into(),
        section: false,
    })
    .collect()
}

/// Builds an algorithm from a checkpoint directory, whichever registered algorithm wrote
/// it (`metadata.json` names it).
pub fn algorithm_from_checkpoint(dir: &Path) -> Result<Box<dyn Algorithm>, AlgorithmError> {
    let reader = CheckpointReader::open(dir)?;
    let name = reader.metadata().algorithm.clone();
    let entry = lookup(&name)?;
    let load = entry.from_checkpoint.ok_or_else(|| {
        AlgorithmError::Config(ConfigError(format!(
            "algorithm {name:?} was registered without a checkpoint loader"
        )))
    })?;
    load(dir)
}

/// Reads the acting module of the checkpoint open in `reader`, whichever registered
/// algorithm wrote it.
pub fn load_acting_module(reader: &CheckpointReader) -> Result<Box<dyn RLModule>, AlgorithmError> {
    let name = reader.metadata().algorithm.clone();
    let entry = lookup(&name)?;
    let load = entry.load_module.ok_or_else(|| {
        AlgorithmError::Config(ConfigError(format!(
            "algorithm {name:?} was registered without a module loader"
        )))
    })?;
    load(reader)
}

/// The names of the registered algorithms, sorted.
pub fn registered_algorithms() -> Vec<String> {
    let map = registry().read().unwrap_or_else(|e| e.into_inner());
    map.keys().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_registered_ones() {
        register_algorithm(
            AlgorithmRegistration::new("RegistryTestAlgo", |_| {
                Err(AlgorithmError::Config(ConfigError("not buildable".into())))
            })
            .default_config(|| serde_json::json!({"lr": 0.1})),
        );
        let e = build_algorithm("NoSuchAlgo", &Value::Null).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("NoSuchAlgo") && msg.contains("RegistryTestAlgo"),
            "{msg}"
        );
        assert_eq!(
            default_config("RegistryTestAlgo").unwrap(),
            serde_json::json!({"lr": 0.1})
        );
        assert!(registered_algorithms().contains(&"RegistryTestAlgo".to_string()));
        let reference = config_reference().unwrap();
        assert!(
            reference.contains("## RegistryTestAlgo") && reference.contains("| `lr` | `?` |"),
            "{reference}"
        );
        let e = build_algorithm("RegistryTestAlgo", &Value::Null).unwrap_err();
        assert!(e.to_string().contains("not buildable"));
    }
}
