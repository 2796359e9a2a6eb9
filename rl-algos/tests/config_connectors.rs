//! A user-written connector travels inside the serialized config and runs in training.

use rl_algos::{Algorithm, PPOConfig};
use rl_core::connectors::{
    ConnectorContext, ConnectorError, EnvToModule, EnvToModuleBatch, Pipeline,
};
use serde::{Deserialize, Serialize};

/// Clips observations to ±`limit` (a user's plugin, not a built-in).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ClipObs {
    limit: f32,
}
#[typetag::serde]
impl EnvToModule for ClipObs {
    fn process(
        &mut self,
        batch: &mut EnvToModuleBatch,
        _ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        batch.obs.mapv_inplace(|x| x.clamp(-self.limit, self.limit));
        Ok(())
    }
}

#[test]
fn custom_connector_serializes_with_the_config_and_trains() {
    let mut e2m = Pipeline::default_env_to_module(false);
    e2m.append(Box::new(ClipObs { limit: 0.05 }));
    let config = PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(0).env_to_module_connector(Some(e2m)))
        .training(|t| t.train_batch_size(64).minibatch_size(32).num_epochs(1))
        .rl_module(|m| m.fcnet_hiddens(vec![8]));
    let json = config.to_json();
    assert!(json.contains("\"ClipObs\""), "{json}");
    let back = PPOConfig::from_json(&json).unwrap();
    assert_eq!(back, config);
    assert_eq!(
        back.base.env_to_module_connector.as_ref().unwrap().names(),
        ["BatchObservations", "ClipObs"]
    );
    let mut algo = back.build().unwrap();
    algo.train().unwrap();
    // The runners built from the config clip: every stored observation is within ±0.05
    // (CartPole's velocities exceed that within a few steps).
    let out = algo.env_runners_mut().sample(50).unwrap();
    let max = out
        .episodes
        .iter()
        .flat_map(|e| e.observations.iter())
        .fold(0.0f32, |m, &x| m.max(x.abs()));
    assert!(max <= 0.05 && max > 0.04, "max |obs| = {max}");
}

/// A connector whose JSON does not read back: it writes its limit as a string.
#[derive(Clone, Debug, Deserialize)]
struct BrokenJson {
    limit: f32,
}
impl Serialize for BrokenJson {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("BrokenJson", 1)?;
        st.serialize_field("limit", &self.limit.to_string())?;
        st.end()
    }
}
#[typetag::serde]
impl EnvToModule for BrokenJson {
    fn process(
        &mut self,
        _batch: &mut EnvToModuleBatch,
        _ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        Ok(())
    }
}

#[test]
fn a_connector_that_does_not_round_trip_is_a_config_error_not_a_panic() {
    let mut e2m = Pipeline::default_env_to_module(false);
    e2m.append(Box::new(BrokenJson { limit: 1.0 }));
    assert!(e2m.try_clone().is_err());
    let config = PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(0).env_to_module_connector(Some(e2m)));
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("BrokenJson") && err.contains("round-trip"),
        "{err}"
    );
    assert!(config.build().is_err());
}
