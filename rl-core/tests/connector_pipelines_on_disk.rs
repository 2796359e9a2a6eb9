//! Connector pipelines written before connectors took their names and states from their
//! kind's trait (commit 8b1de9b: the default pipelines, a MeanStdFilter with statistics,
//! GAE with explicit γ/λ) still read, keep their names and state, and write the same JSON:
//! checkpoints and configs on disk stay loadable.

use rl_core::connectors::env_to_module::MeanStdFilter;
use rl_core::connectors::{Connector, EnvToModule, LearnerConnector, ModuleToEnv, Pipeline};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/connector_pipelines_8b1de9b.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Reads `json` as a pipeline, checks it writes the same JSON back, and that every
/// connector's name is the tag it is stored under; returns it.
fn reads_back<C>(json: &Value) -> Pipeline<C>
where
    C: ?Sized + Connector,
    Pipeline<C>: Serialize + DeserializeOwned,
{
    let pipeline: Pipeline<C> = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&serde_json::to_value(&pipeline).unwrap(), json);
    let tags: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(pipeline.names(), tags, "names are the stored type tags");
    pipeline
}

#[test]
fn pipelines_written_before_still_read_with_the_same_names_state_and_json() {
    let all = fixture();
    let e2m = reads_back::<dyn EnvToModule>(&all["env_to_module_connector"]);
    assert_eq!(e2m.names(), ["BatchObservations", "MeanStdFilter"]);
    let state = e2m.state_entries()[1].state.clone().unwrap();
    let filter: MeanStdFilter = serde_json::from_value(state).unwrap();
    assert_eq!((filter.synced.count, filter.delta.count), (2, 1));
    assert_eq!(filter.synced.mean, [2.0, -0.75]);
    assert!(
        e2m.state_entries()[0].state.is_none(),
        "batching is stateless"
    );

    let m2e = reads_back::<dyn ModuleToEnv>(&all["module_to_env_connector"]);
    assert_eq!(m2e.names(), ["GetActions", "NormalizeAndClipActions"]);

    let mut learner = reads_back::<dyn LearnerConnector>(&all["learner_connector"]);
    assert_eq!(
        learner.names(),
        [
            "AddOneTsToEpisodesAndTruncate",
            "AddColumnsFromEpisodesToTrainBatch",
            "GeneralAdvantageEstimation"
        ]
    );
    // Its explicit γ = 0.99, λ = 0.95 agree with such a config and contradict another.
    learner
        .configure(&serde_json::json!({"gamma": 0.99, "lambda_": 0.95}))
        .unwrap();
    assert!(learner
        .configure(&serde_json::json!({"gamma": 0.9, "lambda_": 0.95}))
        .is_err());
}
