//! A config cannot say two things at once. A connector pipeline in the config may carry a
//! setting the config has a key for; then the two must agree, or the config is refused when
//! it is validated, before anything is built:
//! - the learner pipeline's connectors take what the config owns (GAE's γ and λ) from it
//!   ([`LearnerConnector::configure`]) and refuse a value of their own that differs;
//! - an env→module pipeline has a `MeanStdFilter` exactly when `observation_filter` says
//!   `"MeanStdFilter"`;
//! - a module→env pipeline's `NormalizeAndClipActions` has the config's
//!   `normalize_actions` and `clip_actions`.
//!
//! [`LearnerConnector::configure`]: crate::connectors::LearnerConnector::configure

use serde_json::Value;

use super::{AlgoConfig, AlgorithmConfig, ConfigError};

/// Checks that the config's connector pipelines, if any, agree with its keys (see the
/// module docs). Call it from [`AlgoConfig::validate`].
pub fn check_connectors<C: AlgoConfig>(config: &C) -> Result<(), ConfigError> {
    let base = config.base();
    check_filter(base)?;
    check_action_settings(base)?;
    let Some(pipeline) = &base.learner_connector else {
        return Ok(());
    };
    let json = serde_json::to_value(config)
        .map_err(|e| ConfigError(format!("the config does not serialize: {e}")))?;
    let mut copy = pipeline
        .try_clone()
        .map_err(|e| ConfigError(format!("learner_connector: {e}")))?;
    copy.configure(&json)
        .map_err(|e| ConfigError(format!("learner_connector: {e}")))
}

fn check_filter(base: &AlgorithmConfig) -> Result<(), ConfigError> {
    let Some(pipeline) = &base.env_to_module_connector else {
        return Ok(());
    };
    let has = pipeline.names().contains(&"MeanStdFilter");
    let says = base.observation_filter == "MeanStdFilter";
    match (has, says) {
        (true, false) => Err(ConfigError(format!(
            "env_to_module_connector has a MeanStdFilter but observation_filter = {:?}: a config cannot say two things; set observation_filter = \"MeanStdFilter\" or remove the filter from the pipeline",
            base.observation_filter
        ))),
        (false, true) => Err(ConfigError(
            "observation_filter = \"MeanStdFilter\" but env_to_module_connector has no MeanStdFilter: a config cannot say two things; add the filter to the pipeline or set observation_filter = \"NoFilter\"".into(),
        )),
        _ => Ok(()),
    }
}

fn check_action_settings(base: &AlgorithmConfig) -> Result<(), ConfigError> {
    let Some(pipeline) = &base.module_to_env_connector else {
        return Ok(());
    };
    let json = serde_json::to_value(pipeline)
        .map_err(|e| ConfigError(format!("module_to_env_connector: {e}")))?;
    let connectors = json.as_array().map(Vec::as_slice).unwrap_or_default();
    for c in connectors
        .iter()
        .filter(|c| c["type"] == "NormalizeAndClipActions")
    {
        for (key, wanted) in [
            ("normalize_actions", base.normalize_actions),
            ("clip_actions", base.clip_actions),
        ] {
            if c.get(key).and_then(Value::as_bool) != Some(wanted) {
                return Err(ConfigError(format!(
                    "module_to_env_connector's NormalizeAndClipActions has {key} = {} but the config's {key} = {wanted}: a config cannot say two things; make them equal",
                    c[key]
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::cartpole;
    use super::*;
    use crate::connectors::Pipeline;

    #[test]
    fn pipelines_must_agree_with_the_keys_they_duplicate() {
        let mut c = cartpole();
        c.env_to_module_connector = Some(Pipeline::default_env_to_module(true));
        let e = check_filter(&c).unwrap_err();
        assert!(
            e.0.contains("has a MeanStdFilter but observation_filter = \"NoFilter\""),
            "{e}"
        );
        c.observation_filter = "MeanStdFilter".into();
        check_filter(&c).unwrap();
        c.env_to_module_connector = Some(Pipeline::default_env_to_module(false));
        assert!(check_filter(&c)
            .unwrap_err()
            .0
            .contains("has no MeanStdFilter"));

        c.module_to_env_connector = Some(Pipeline::default_module_to_env(true, false));
        check_action_settings(&c).unwrap();
        c.module_to_env_connector = Some(Pipeline::default_module_to_env(false, false));
        let e = check_action_settings(&c).unwrap_err();
        assert!(
            e.0.contains("normalize_actions = false but the config's normalize_actions = true"),
            "{e}"
        );
    }
}
