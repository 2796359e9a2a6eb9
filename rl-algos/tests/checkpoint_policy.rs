//! Policy export: the policy loaded alone from a checkpoint acts as the trained algorithm
//! does — greedy and exploring, one observation or a batch, observation filter included.

use rl_algos::ppo::checkpoint::load_module;
use rl_algos::ppo::InferencePolicy;
use rl_algos::{Algorithm, PPOConfig};
use rl_core::env::{Env, Value};
use rl_core::metrics::get_path;
use rl_core::seeding::derive_seed;

const SEED: u64 = 5;

fn config(filter: &str) -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(0).observation_filter(filter))
        .training(|t| {
            t.train_batch_size(400)
                .minibatch_size(64)
                .num_epochs(4)
                .lr(1e-3)
        })
        .rl_module(|m| m.fcnet_hiddens(vec![32, 32]))
        .evaluation(|e| e.evaluation_duration(1))
        .debugging(Some(SEED))
}

/// Observations from a random walk in CartPole.
fn observations(n: usize) -> Vec<Value> {
    let mut env = rl_envs::make("CartPole-v1", &serde_json::json!({})).unwrap();
    let (mut obs, _) = env.reset(Some(1), None).unwrap();
    let mut out = Vec::new();
    for t in 0..n {
        out.push(obs.clone());
        let r = env.step(&Value::Discrete((t % 3 == 0) as i64)).unwrap();
        obs = if r.terminated || r.truncated {
            env.reset(None, None).unwrap().0
        } else {
            r.obs
        };
    }
    out
}

fn exported_equals_trained(filter: &str) {
    let dir = std::env::temp_dir().join(format!("rl-ckpt-policy-{filter}-{}", std::process::id()));
    let mut algo = config(filter).build().unwrap();
    for _ in 0..3 {
        algo.train().unwrap();
    }
    algo.save_to_path(&dir).unwrap();

    let mut exported = InferencePolicy::from_checkpoint(&dir).unwrap();
    let mut live = algo.get_policy().unwrap();
    assert_eq!(
        exported.module().params(),
        algo.learner().module().params(),
        "weights load bit for bit"
    );
    assert_eq!(
        load_module(&dir).unwrap().params(),
        algo.learner().module().params()
    );

    let obs = observations(200);
    // Greedy: one at a time, as a batch, and as the live algorithm's policy.
    let single: Vec<Value> = obs
        .iter()
        .map(|o| exported.compute_single_action(o, false).unwrap())
        .collect();
    assert_eq!(exported.compute_actions(&obs, false).unwrap(), single);
    assert_eq!(live.compute_actions(&obs, false).unwrap(), single);
    assert!(
        single.iter().any(|a| a == &Value::Discrete(0))
            && single.iter().any(|a| a == &Value::Discrete(1)),
        "a trained policy uses both actions"
    );
    // Exploring: same seed, same samples, whether in a batch or one by one.
    exported.seed(9);
    let sampled: Vec<Value> = obs
        .iter()
        .map(|o| exported.compute_single_action(o, true).unwrap())
        .collect();
    exported.seed(9);
    assert_eq!(exported.compute_actions(&obs, true).unwrap(), sampled);
    live.seed(9);
    assert_eq!(live.compute_actions(&obs, true).unwrap(), sampled);

    // The trained algorithm's greedy evaluation episode, replayed by the exported policy
    // in an env seeded as the evaluation env runner seeds its env: same return, same length.
    let eval = algo.evaluate().unwrap();
    let ret = get_path(&eval, "env_runners/episode_return_mean")
        .unwrap()
        .as_f64()
        .unwrap();
    let len = get_path(&eval, "env_runners/episode_len_mean")
        .unwrap()
        .as_f64()
        .unwrap();
    let env_seed = derive_seed(
        derive_seed(SEED, &["evaluation"]),
        &["env_runner_envs", "0"],
    );
    let mut env = rl_envs::make("CartPole-v1", &serde_json::json!({})).unwrap();
    let (mut o, _) = env.reset(Some(env_seed), None).unwrap();
    let (mut total, mut steps) = (0.0, 0);
    loop {
        let a = exported.compute_single_action(&o, false).unwrap();
        let r = env.step(&a).unwrap();
        total += r.reward;
        steps += 1;
        if r.terminated || r.truncated {
            break;
        }
        o = r.obs;
    }
    assert_eq!((total, steps as f64), (ret, len));

    // Bad input is an error, not a panic.
    assert!(exported
        .compute_single_action(&Value::Box(vec![0.0; 3]), false)
        .is_err());
    assert!(exported
        .compute_single_action(&Value::Discrete(1), false)
        .is_err());
    assert!(exported.compute_actions(&[], false).unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exported_policy_acts_as_the_trained_algorithm() {
    exported_equals_trained("NoFilter");
}

#[test]
fn exported_policy_applies_the_observation_filter() {
    exported_equals_trained("MeanStdFilter");
}
