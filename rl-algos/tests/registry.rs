//! Algorithms built by name from JSON configs, driven through `dyn Algorithm`, saved and
//! loaded back by whatever algorithm wrote the checkpoint — what Tune and the CLI do.

use rl_core::algorithm::{algorithm_from_checkpoint, build_algorithm, default_config};
use serde_json::json;

#[test]
fn ppo_by_name_trains_saves_and_loads() {
    rl_algos::register_builtins();
    let defaults = default_config("PPO").unwrap();
    assert_eq!(defaults["lr"], json!(5e-5), "RLlib's PPO default lr");
    let config = json!({
        "env": "CartPole-v1",
        "num_env_runners": 0,
        "train_batch_size": 64,
        "minibatch_size": 32,
        "num_epochs": 1,
        "model_config": {"fcnet_hiddens": [8]},
        "seed": 5,
    });
    let mut algo = build_algorithm("PPO", &config).unwrap();
    assert_eq!(algo.name(), "PPO");
    assert_eq!(algo.config_json()["train_batch_size"], json!(64));
    let first = algo.train().unwrap();
    assert_eq!(first["training_iteration"], json!(1));
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("registry_ppo_ckpt");
    algo.save_to_path(&dir).unwrap();
    let mut loaded = algorithm_from_checkpoint(&dir).unwrap();
    assert_eq!(loaded.name(), "PPO");
    assert_eq!(loaded.iteration(), 1);
    let a = algo.train().unwrap();
    let b = loaded.train().unwrap();
    assert_eq!(
        a["learners"]["default_policy"]["policy_loss"],
        b["learners"]["default_policy"]["policy_loss"],
        "the loaded algorithm continues exactly"
    );
    let e = build_algorithm("PPO", &json!({"env": "CartPole-v1", "lr": -1.0}))
        .err()
        .unwrap();
    assert!(e.to_string().contains("lr"), "{e}");
}
