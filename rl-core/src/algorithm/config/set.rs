//! Reading and setting one key of a config by its name, as a sweep tool builds trials.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use super::keys::unknown_keys;
use super::ConfigError;

/// Sets one key of any serializable config from a JSON value, the way the sweep tool
/// builds trials (`set_by_key(&mut config, "minibatch_size", json!(256))`). `/` or `.`
/// reaches into a section (`"model_config/fcnet_hiddens"`), including free-form ones
/// (`"env_config/max_episode_steps"` adds the key when it is not there yet).
///
/// An unknown key is refused with the nearest known one named, a value of the wrong type
/// with the key's name; the config is left as it was.
pub fn set_by_key<T>(config: &mut T, key: &str, value: Value) -> Result<(), ConfigError>
where
    T: Serialize + DeserializeOwned,
{
    let mut json = serde_json::to_value(&*config).map_err(|e| ConfigError(e.to_string()))?;
    let path: Vec<&str> = key.split(['/', '.']).collect();
    if path.iter().any(|s| s.is_empty()) {
        return Err(ConfigError(format!(
            "config key `{key}` has an empty part; write sections as `model_config/fcnet_hiddens`"
        )));
    }
    let (last, sections) = path.split_last().expect("split yields at least one part");
    let mut node = &mut json;
    for (depth, seg) in sections.iter().enumerate() {
        let Value::Object(map) = node else {
            return Err(ConfigError(format!(
                "config key `{}` in `{key}` is not a section",
                path[..depth].join("/")
            )));
        };
        let child = map
            .entry(seg.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if child.is_null() {
            // An unset optional section: setting one of its keys sets it.
            *child = Value::Object(Map::new());
        }
        node = child;
    }
    let Value::Object(map) = node else {
        return Err(ConfigError(format!(
            "config key `{}` in `{key}` is not a section",
            sections.join("/")
        )));
    };
    map.insert(last.to_string(), value);
    let updated: T = serde_json::from_value(json.clone())
        .map_err(|e| ConfigError(format!("cannot set `{key}`: {e}")))?;
    let canon = serde_json::to_value(&updated).map_err(|e| ConfigError(e.to_string()))?;
    if let Some(unknown) = unknown_keys(&json, &canon).first() {
        return Err(ConfigError(unknown.message()));
    }
    *config = updated;
    Ok(())
}

/// Reads one key of a serializable config by name (`/` or `.` reaches into sections).
pub fn get_by_key<T: Serialize>(config: &T, key: &str) -> Option<Value> {
    let json = serde_json::to_value(config).ok()?;
    key.split(['/', '.'])
        .try_fold(&json, |v, seg| v.get(seg))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::super::tests::cartpole;
    use super::super::FragmentLength;
    use super::*;
    use serde_json::json;

    #[test]
    fn set_by_key_sets_and_checks_types() {
        let mut c = cartpole();
        set_by_key(&mut c, "minibatch_size", json!(256)).unwrap();
        assert_eq!(c.minibatch_size, 256);
        set_by_key(&mut c, "model_config/fcnet_hiddens", json!([64, 64])).unwrap();
        assert_eq!(c.model_config.fcnet_hiddens, vec![64, 64]);
        set_by_key(&mut c, "rollout_fragment_length", json!(50)).unwrap();
        assert_eq!(c.rollout_fragment_length, FragmentLength::Steps(50));
        set_by_key(&mut c, "rollout_fragment_length", json!("auto")).unwrap();
        assert_eq!(c.rollout_fragment_length, FragmentLength::Auto);
        let e = set_by_key(&mut c, "minibatch_sise", json!(1)).unwrap_err();
        assert_eq!(
            e.0,
            "unknown key `minibatch_sise`; did you mean `minibatch_size`?"
        );
        let e = set_by_key(&mut c, "model_config/fcnet_hidens", json!([1])).unwrap_err();
        assert_eq!(
            e.0,
            "unknown key `model_config/fcnet_hidens`; did you mean `model_config/fcnet_hiddens`?"
        );
        let e = set_by_key(&mut c, "minibatch_size", json!("big")).unwrap_err();
        assert!(e.0.contains("minibatch_size"), "{e}");
        assert!(set_by_key(&mut c, "lr/x", json!(1)).is_err());
        assert!(set_by_key(&mut c, "model_config//x", json!(1)).is_err());
        assert_eq!(
            c.minibatch_size, 256,
            "a failed set leaves the config as it was"
        );
        assert_eq!(
            get_by_key(&c, "model_config.fcnet_hiddens"),
            Some(json!([64, 64]))
        );
    }

    #[test]
    fn env_config_keys_are_settable_even_when_new() {
        let mut c = cartpole();
        set_by_key(&mut c, "env_config/max_episode_steps", json!(100)).unwrap();
        set_by_key(&mut c, "env_config/reward_scale", json!(0.5)).unwrap();
        assert_eq!(
            c.env_config,
            json!({"max_episode_steps": 100, "reward_scale": 0.5})
        );
        set_by_key(&mut c, "env_config/max_episode_steps", json!(200)).unwrap();
        assert_eq!(
            get_by_key(&c, "env_config/max_episode_steps"),
            Some(json!(200))
        );
    }
}
