//! Loading PPO configs: unknown keys are refused with the nearest known key named (JSON,
//! TOML, `set`, the registry), type errors name their key (and TOML line), `env_config` takes
//! any key, and GAE's γ/λ come from the config alone.

use rl_algos::ppo::learner::{configurable_learner_pipeline, default_learner_pipeline};
use rl_algos::{Algorithm, PPOConfig};
use rl_core::algorithm::{build_algorithm, ConfigError};
use rl_core::connectors::learner::GeneralAdvantageEstimation;
use rl_core::connectors::{LearnerConnector, Pipeline};
use serde_json::json;

fn small() -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(0))
        .training(|t| t.train_batch_size(64).minibatch_size(32).num_epochs(2))
        .rl_module(|m| m.fcnet_hiddens(vec![8]))
        .debugging(Some(3))
}

#[test]
fn a_typo_is_refused_with_the_key_it_meant_in_json_toml_set_and_the_registry() {
    let want = "unknown key `minibatchsize`; did you mean `minibatch_size`?";
    let e = PPOConfig::from_json(r#"{"env": "CartPole-v1", "minibatchsize": 64}"#).unwrap_err();
    assert_eq!(e.0, want);
    let e = PPOConfig::from_value(&json!({"minibatchsize": 64})).unwrap_err();
    assert_eq!(e.0, want);
    let e = PPOConfig::from_toml("env = \"CartPole-v1\"\nminibatchsize = 64\n").unwrap_err();
    assert_eq!(e.0, format!("line 2: {want}"));
    let e = small().set("minibatchsize", json!(64)).unwrap_err();
    assert_eq!(e.0, want);
    rl_algos::register_builtins();
    let e = build_algorithm("PPO", &json!({"env": "CartPole-v1", "minibatchsize": 64}))
        .err()
        .unwrap();
    assert!(e.to_string().contains(want), "{e}");
    // PPO's own keys too, and RLlib's older names point to the new ones.
    let e = PPOConfig::from_json(r#"{"clip_parm": 0.2}"#).unwrap_err();
    assert_eq!(e.0, "unknown key `clip_parm`; did you mean `clip_param`?");
    let e = PPOConfig::from_json(r#"{"sgd_minibatch_size": 64}"#).unwrap_err();
    assert!(e.0.contains("did you mean `minibatch_size`?"), "{e}");
}

#[test]
fn nested_sections_are_checked_but_env_config_and_pipelines_are_free() {
    let e = PPOConfig::from_json(r#"{"model_config": {"fcnet_hidens": [8]}}"#).unwrap_err();
    assert_eq!(
        e.0,
        "unknown key `model_config/fcnet_hidens`; did you mean `model_config/fcnet_hiddens`?"
    );
    let e = PPOConfig::from_toml("[model_config]\nfcnet_activaton = \"relu\"\n").unwrap_err();
    assert!(
        e.0.starts_with("line 2: unknown key `model_config/fcnet_activaton`"),
        "{e}"
    );
    // The env's keyword arguments and connector pipelines are not the config's to check.
    let mut config = small();
    config.base.env_config = json!({"max_episode_steps": 20, "anything": {"nested": 1}});
    config.base.env_to_module_connector = Some(Pipeline::default_env_to_module(true));
    config.base.observation_filter = "MeanStdFilter".into();
    config.base.learner_connector = Some(configurable_learner_pipeline());
    let back = PPOConfig::from_json(&config.to_json()).unwrap();
    assert_eq!(back, config);
    assert_eq!(
        PPOConfig::from_toml(&config.to_toml().unwrap()).unwrap(),
        config
    );
    // Several unknown keys are all listed.
    let e = PPOConfig::from_json(r#"{"lrr": 1, "gama": 0.9}"#).unwrap_err();
    assert_eq!(e.0.lines().count(), 2, "{e}");
}

#[test]
fn type_errors_name_the_key_and_in_toml_the_line() {
    let toml = "env = \"CartPole-v1\"\nlr = 0.001\nminibatch_size = \"big\"\n";
    let e = PPOConfig::from_toml(toml).unwrap_err();
    assert!(
        e.0.starts_with("`minibatch_size` (line 3): invalid type: string \"big\""),
        "{e}"
    );
    let toml = "lr = 0.001\n\n[model_config]\nfcnet_hiddens = [64, -1]\n";
    let e = PPOConfig::from_toml(toml).unwrap_err();
    assert!(
        e.0.starts_with("`model_config/fcnet_hiddens` (line 4):"),
        "{e}"
    );
    let e = PPOConfig::from_json(r#"{"lambda_": "high"}"#).unwrap_err();
    assert!(e.0.starts_with("`lambda_`: invalid type"), "{e}");
    let e = PPOConfig::from_toml("lr = = 1\n").unwrap_err();
    assert!(e.0.contains("line 1"), "{e}");
}

#[test]
fn env_config_keys_are_settable_and_reach_the_env() {
    let mut config = small();
    config
        .set("env_config/max_episode_steps", json!(20))
        .unwrap();
    assert_eq!(config.get("env_config/max_episode_steps"), Some(json!(20)));
    let mut algo = config.build().unwrap();
    let out = algo.env_runners_mut().sample(200).unwrap();
    let end = |e: &rl_core::episode::Episode| e.t_started + e.len();
    assert!(out.episodes.iter().all(|e| end(e) <= 20));
    assert!(
        out.episodes.iter().any(|e| end(e) == 20 && e.is_truncated),
        "CartPole under a random policy lasts past 20 steps sometimes; the limit cut it"
    );
}

fn learner_stats(config: PPOConfig) -> serde_json::Value {
    let mut algo = config.build().unwrap();
    let result = algo.train().unwrap();
    result["learners"]["default_policy"].clone()
}

#[test]
fn gae_takes_gamma_and_lambda_from_the_config() {
    let with_default_pipeline = |gamma: f64, lambda: f64| {
        let mut c = small();
        c.base.gamma = gamma;
        c.lambda_ = lambda;
        c
    };
    let mut custom = with_default_pipeline(0.9, 0.8);
    custom.base.learner_connector = Some(configurable_learner_pipeline());
    assert!(custom.validate().is_ok());
    // The configurable pipeline trains exactly as PPO's default one with the same γ and λ…
    let default_stats = learner_stats(with_default_pipeline(0.9, 0.8));
    assert_eq!(learner_stats(custom.clone()), default_stats);
    // …and a sweep over gamma reaches it.
    custom.set("gamma", json!(0.5)).unwrap();
    assert_ne!(learner_stats(custom), default_stats);

    // A pipeline that fixes γ/λ to the config's values is fine (pipelines written before
    // γ/λ came from the config do); one that contradicts the config is refused.
    let mut agreeing = with_default_pipeline(0.99, 0.95);
    agreeing.base.learner_connector = Some(default_learner_pipeline(0.99, 0.95));
    assert!(agreeing.validate().is_ok());
    let mut contradicting = with_default_pipeline(0.99, 0.95);
    contradicting.base.learner_connector = Some(default_learner_pipeline(0.9, 0.95));
    let err: ConfigError = contradicting.validate().unwrap_err();
    assert!(
        err.0
            .contains("`gamma` = 0.9 contradicts the config's `gamma` = 0.99"),
        "{err}"
    );
    assert!(contradicting.build().is_err());
    let mut pipeline: Pipeline<dyn LearnerConnector> = configurable_learner_pipeline();
    pipeline
        .replace(
            "GeneralAdvantageEstimation",
            Box::new(GeneralAdvantageEstimation {
                gamma: None,
                lambda: Some(0.5),
                standardize_real_rows_only: false,
            }),
        )
        .unwrap();
    contradicting.base.learner_connector = Some(pipeline);
    let err = contradicting.validate().unwrap_err();
    assert!(
        err.0
            .contains("`lambda` = 0.5 contradicts the config's `lambda_` = 0.95"),
        "{err}"
    );
}

#[test]
fn env_and_action_pipelines_must_agree_with_the_keys_they_duplicate() {
    let mut config = small();
    config.base.env_to_module_connector = Some(Pipeline::default_env_to_module(true));
    let err = config.validate().unwrap_err();
    assert!(err.0.contains("observation_filter"), "{err}");
    config
        .set("observation_filter", json!("MeanStdFilter"))
        .unwrap();
    config.validate().unwrap();
    config.base.module_to_env_connector = Some(Pipeline::default_module_to_env(true, true));
    let err = config.validate().unwrap_err();
    assert!(
        err.0
            .contains("clip_actions = true but the config's clip_actions = false"),
        "{err}"
    );
    config.set("clip_actions", json!(true)).unwrap();
    config.validate().unwrap();
}
