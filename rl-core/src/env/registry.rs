//! The env registry: `make("CartPole-v1", kwargs)` as `gymnasium.make`, and users' own envs
//! registered by name with a factory closure.
//!
//! The registry is global to the process. `rl_envs::register_builtins()` adds Gymnasium's
//! classic-control envs (and `rl_envs::make` calls it for you).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use serde::{Deserialize, Serialize};

use super::{Env, EnvError, TimeLimit};

/// A factory building an env from its keyword arguments (`env_config`, a JSON object;
/// `null` when none were given).
pub type EnvFactory =
    Arc<dyn Fn(&serde_json::Value) -> Result<Box<dyn Env>, EnvError> + Send + Sync + 'static>;

/// A factory that also receives the time limit to apply (`None` for none), so that it can
/// wrap a concrete env type in [`TimeLimit`] itself (see [`with_time_limit`]) and spare a
/// dynamic dispatch per step.
pub type LimitedEnvFactory = Arc<
    dyn Fn(&serde_json::Value, Option<u64>) -> Result<Box<dyn Env>, EnvError>
        + Send
        + Sync
        + 'static,
>;

/// Boxes `env`, wrapped in a [`TimeLimit`] of `max_episode_steps` when that is `Some`.
/// Errors when the limit is 0.
pub fn with_time_limit<E: Env + 'static>(
    env: E,
    max_episode_steps: Option<u64>,
) -> Result<Box<dyn Env>, EnvError> {
    Ok(match max_episode_steps {
        Some(n) => Box::new(TimeLimit::new(env, n)?),
        None => Box::new(env),
    })
}

/// One registry entry, as a `gymnasium.register(id, entry_point, max_episode_steps, …)` call.
#[derive(Clone)]
pub struct EnvRegistration {
    id: String,
    factory: LimitedEnvFactory,
    max_episode_steps: Option<u64>,
    reward_threshold: Option<f64>,
}

impl std::fmt::Debug for EnvRegistration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvRegistration")
            .field("id", &self.id)
            .field("max_episode_steps", &self.max_episode_steps)
            .field("reward_threshold", &self.reward_threshold)
            .finish_non_exhaustive()
    }
}

impl EnvRegistration {
    /// An entry named `id` built by `factory` (which receives the kwargs that
    /// [`make`] did not consume itself), with no time limit.
    pub fn new<F>(id: impl Into<String>, factory: F) -> Self
    where
        F: Fn(&serde_json::Value) -> Result<Box<dyn Env>, EnvError> + Send + Sync + 'static,
    {
        Self::new_limited(id, move |kwargs, limit| {
            with_time_limit(factory(kwargs)?, limit)
        })
    }

    /// An entry whose factory applies the time limit itself (it receives the limit
    /// [`make`] settled on, `None` for none; use [`with_time_limit`]). The built-in envs
    /// register this way so that a `TimeLimit<CartPoleEnv>` steps without a second dynamic
    /// dispatch.
    pub fn new_limited<F>(id: impl Into<String>, factory: F) -> Self
    where
        F: Fn(&serde_json::Value, Option<u64>) -> Result<Box<dyn Env>, EnvError>
            + Send
            + Sync
            + 'static,
    {
        Self {
            id: id.into(),
            factory: Arc::new(factory),
            max_episode_steps: None,
            reward_threshold: None,
        }
    }

    /// Wraps the env in a [`TimeLimit`] of `steps` steps, as Gymnasium's `max_episode_steps`.
    pub fn max_episode_steps(mut self, steps: u64) -> Self {
        self.max_episode_steps = Some(steps);
        self
    }

    /// The return at which the task counts as solved (informational, as Gymnasium's).
    pub fn reward_threshold(mut self, threshold: f64) -> Self {
        self.reward_threshold = Some(threshold);
        self
    }

    /// What the entry says, without the factory.
    pub fn info(&self) -> RegistrationInfo {
        RegistrationInfo {
            id: self.id.clone(),
            max_episode_steps: self.max_episode_steps,
            reward_threshold: self.reward_threshold,
        }
    }
}

/// The public facts of a registry entry (Gymnasium's `EnvSpec` without the entry point).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegistrationInfo {
    /// The name, e.g. `"CartPole-v1"`.
    pub id: String,
    /// The time limit [`make`] applies, if any.
    pub max_episode_steps: Option<u64>,
    /// The return at which the task counts as solved, if known.
    pub reward_threshold: Option<f64>,
}

fn registry() -> &'static RwLock<BTreeMap<String, EnvRegistration>> {
    static REGISTRY: OnceLock<RwLock<BTreeMap<String, EnvRegistration>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(BTreeMap::new()))
}

/// Adds `registration` to the global registry, replacing any entry of the same name (as
/// Gymnasium does, which warns). Returns `true` when an entry was replaced.
pub fn register(registration: EnvRegistration) -> bool {
    let mut map = registry().write().unwrap_or_else(|e| e.into_inner());
    map.insert(registration.id.clone(), registration).is_some()
}

/// Registers a user env by name with a factory closure taking its `env_config` (a JSON
/// object, or `null`), without a time limit; use [`register`] with
/// [`EnvRegistration::max_episode_steps`] for one. Replaces an entry of the same name.
///
/// ```
/// use rl_core::env::{register_env, make};
/// # use rl_core::env::{Env, EnvError, Info, Space, StepResult, Value};
/// # struct MyEnv(Space, Space);
/// # impl Env for MyEnv {
/// #   fn observation_space(&self) -> &Space { &self.0 }
/// #   fn action_space(&self) -> &Space { &self.1 }
/// #   fn reset(&mut self, _: Option<u64>, _: Option<&serde_json::Value>) -> Result<(Value, Info), EnvError> { Ok((Value::Discrete(0), Info::new())) }
/// #   fn step(&mut self, _: &Value) -> Result<StepResult, EnvError> { unimplemented!() }
/// # }
/// register_env("MyEnv-v0", |_config| {
///     Ok(Box::new(MyEnv(Space::discrete(1)?, Space::discrete(2)?)) as Box<dyn Env>)
/// });
/// let env = make("MyEnv-v0", &serde_json::Value::Null).unwrap();
/// ```
pub fn register_env<F>(name: &str, factory: F) -> bool
where
    F: Fn(&serde_json::Value) -> Result<Box<dyn Env>, EnvError> + Send + Sync + 'static,
{
    register(EnvRegistration::new(name, factory))
}

/// The registered names, sorted.
pub fn registered_envs() -> Vec<String> {
    let map = registry().read().unwrap_or_else(|e| e.into_inner());
    map.keys().cloned().collect()
}

/// The public facts of the entry named `name`, if registered.
pub fn registration(name: &str) -> Option<RegistrationInfo> {
    let map = registry().read().unwrap_or_else(|e| e.into_inner());
    map.get(name).map(EnvRegistration::info)
}

/// Builds the env registered as `name`, as `gymnasium.make(name, **kwargs)`.
///
/// `kwargs` is a JSON object (or `null` for none). The key `max_episode_steps` overrides the
/// entry's time limit (`null` removes it); every other key goes to the env's factory, which
/// rejects keys it does not know. The env comes wrapped in a [`TimeLimit`] when the entry
/// (or the override) has a step limit, so `truncated` means what it means in Gymnasium.
///
/// Errors: [`EnvError::UnknownEnv`] listing the registered names when `name` is unknown;
/// [`EnvError::InvalidArgument`] for bad kwargs.
pub fn make(name: &str, kwargs: &serde_json::Value) -> Result<Box<dyn Env>, EnvError> {
    let (factory, mut max_steps) = {
        let map = registry().read().unwrap_or_else(|e| e.into_inner());
        match map.get(name) {
            Some(r) => (r.factory.clone(), r.max_episode_steps),
            None => {
                return Err(EnvError::UnknownEnv {
                    name: name.to_string(),
                    registered: map.keys().cloned().collect(),
                })
            }
        }
    };
    let env_kwargs = match kwargs {
        serde_json::Value::Null => serde_json::Value::Null,
        serde_json::Value::Object(obj) => {
            let mut obj = obj.clone();
            if let Some(v) = obj.remove("max_episode_steps") {
                max_steps = match v {
                    serde_json::Value::Null => None,
                    v => Some(v.as_u64().filter(|&n| n > 0).ok_or_else(|| EnvError::InvalidArgument {
                        name: "max_episode_steps".into(),
                        reason: format!("expected a positive integer or null, got {v}"),
                    })?),
                };
            }
            serde_json::Value::Object(obj)
        }
        other => {
            return Err(EnvError::InvalidArgument {
                name: "kwargs".into(),
                reason: format!(
                    "expected a JSON object of keyword arguments (or null), got {other}; e.g. {{\"max_episode_steps\": 100}}"
                ),
            })
        }
    };
    factory(&env_kwargs, max_steps)
}

/// A serializable recipe for an env: a registered name and its keyword arguments, as
/// RLlib's `config.environment(env=..., env_config=...)`. Configs store it and rebuild the
/// env from it with [`EnvSpec::make`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvSpec {
    /// The registered name, e.g. `"CartPole-v1"`.
    pub name: String,
    /// Keyword arguments for [`make`] (a JSON object; `null` for none).
    #[serde(default)]
    pub env_config: serde_json::Value,
}

impl EnvSpec {
    /// A spec for `name` with no keyword arguments.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            env_config: serde_json::Value::Null,
        }
    }

    /// A spec for `name` with keyword arguments `env_config`.
    pub fn with_config(name: impl Into<String>, env_config: serde_json::Value) -> Self {
        Self {
            name: name.into(),
            env_config,
        }
    }

    /// Builds the env through the global registry ([`make`]). The name must be registered
    /// (for built-ins, call `rl_envs::register_builtins()` first).
    pub fn make(&self) -> Result<Box<dyn Env>, EnvError> {
        make(&self.name, &self.env_config)
    }
}

/// Helpers for factories: reading keyword arguments with errors that say what was wrong.
pub mod kwargs {
    use super::EnvError;

    /// Checks that `kwargs` is `null` or an object whose keys are all in `allowed`.
    pub fn check_keys(
        env: &str,
        kwargs: &serde_json::Value,
        allowed: &[&str],
    ) -> Result<(), EnvError> {
        match kwargs {
            serde_json::Value::Null => Ok(()),
            serde_json::Value::Object(obj) => {
                for k in obj.keys() {
                    if !allowed.contains(&k.as_str()) {
                        return Err(EnvError::InvalidArgument {
                            name: k.clone(),
                            reason: format!(
                                "{env} does not take the keyword argument `{k}`; it takes {allowed:?} (and `max_episode_steps`, handled by make)"
                            ),
                        });
                    }
                }
                Ok(())
            }
            other => Err(EnvError::InvalidArgument {
                name: "kwargs".into(),
                reason: format!("{env} expects a JSON object of keyword arguments, got {other}"),
            }),
        }
    }

    /// The float `key` of `kwargs`, or `default` when absent or null.
    pub fn f64_or(kwargs: &serde_json::Value, key: &str, default: f64) -> Result<f64, EnvError> {
        match kwargs.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| EnvError::InvalidArgument {
                name: key.into(),
                reason: format!("expected a number, got {v}"),
            }),
        }
    }

    /// The boolean `key` of `kwargs`, or `default` when absent or null.
    pub fn bool_or(kwargs: &serde_json::Value, key: &str, default: bool) -> Result<bool, EnvError> {
        match kwargs.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| EnvError::InvalidArgument {
                name: key.into(),
                reason: format!("expected true or false, got {v}"),
            }),
        }
    }

    /// Rejects a `render_mode` other than null: rendering is not supported.
    pub fn no_render_mode(env: &str, kwargs: &serde_json::Value) -> Result<(), EnvError> {
        match kwargs.get("render_mode") {
            None | Some(serde_json::Value::Null) => Ok(()),
            Some(v) => Err(EnvError::InvalidArgument {
                name: "render_mode".into(),
                reason: format!(
                    "{env} cannot render (got render_mode = {v}); leave render_mode unset or null"
                ),
            }),
        }
    }
}
