//! A config cannot say two things at once: settings that a connector could carry as well as
//! the config (GAE's γ and λ) come from the config, and a connector that says otherwise is
//! refused when the config is validated, before anything is built.

use super::{AlgoConfig, ConfigError};

/// Checks that the config's `learner_connector` pipeline, if any, agrees with the config:
/// each connector is given the config ([`LearnerConnector::configure`]) as the learner will
/// give it, on a copy. Call it from [`AlgoConfig::validate`].
///
/// [`LearnerConnector::configure`]: crate::connectors::LearnerConnector::configure
pub fn check_learner_connector<C: AlgoConfig>(config: &C) -> Result<(), ConfigError> {
    let Some(pipeline) = &config.base().learner_connector else {
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
