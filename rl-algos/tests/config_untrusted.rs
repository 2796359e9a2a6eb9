//! Config values from a file cannot smuggle in NaN or infinity (TOML can write them), nor
//! sizes that would exhaust memory; parsing arbitrary text never panics.

use proptest::prelude::*;
use rl_algos::PPOConfig;

/// Every float key of the config (found from the defaults' JSON, so keys added later are
/// covered too), plus the optional ones whose default is `None`.
fn float_keys() -> Vec<String> {
    let json: serde_json::Value = serde_json::from_str(&PPOConfig::new().to_json()).unwrap();
    let mut keys: Vec<String> = json
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.is_f64())
        .map(|(k, _)| k.clone())
        .collect();
    keys.push("grad_clip".into());
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn nan_and_infinity_are_refused_for_every_float_key() {
    let keys = float_keys();
    for k in [
        "kl_coeff",
        "entropy_coeff",
        "vf_loss_coeff",
        "lr",
        "sample_timeout_s",
    ] {
        assert!(keys.iter().any(|x| x == k), "{k} missing from {keys:?}");
    }
    for key in &keys {
        for bad in ["nan", "inf", "-inf"] {
            let text = format!("env = \"CartPole-v1\"\n{key} = {bad}\n");
            let config = PPOConfig::from_toml(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let err = config
                .validate()
                .expect_err(&format!("{key} = {bad} was accepted"))
                .to_string();
            assert!(err.contains(key.as_str()), "{key} = {bad}: {err}");
        }
    }
    for key in ["lr_schedule", "entropy_coeff_schedule"] {
        let text = format!("env = \"CartPole-v1\"\n{key} = [[0, 0.1], [100, nan]]\n");
        let err = PPOConfig::from_toml(&text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{err}");
    }
}

#[test]
fn sizes_are_bounded() {
    for (key, value) in [
        ("num_env_runners", "100000"),
        ("num_envs_per_env_runner", "1000000000"),
        ("train_batch_size", "100000000000"),
        ("metrics_num_episodes_for_smoothing", "100000000000"),
        ("evaluation_duration", "100000000000"),
    ] {
        let text = format!("env = \"CartPole-v1\"\n{key} = {value}\n");
        let err = PPOConfig::from_toml(&text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains(key) && err.contains("exceeds"), "{err}");
    }
    let text = "env = \"CartPole-v1\"\n[model_config]\nfcnet_hiddens = [100000000, 4]\n";
    let err = PPOConfig::from_toml(text)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("fcnet_hiddens"), "{err}");
}

/// 10,000 cases in the suite; `RL_PROPTEST_CASES=N` runs a longer campaign.
fn cases() -> u32 {
    std::env::var("RL_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Arbitrary JSON and TOML text (mutations of a real config among them) gives a config
    /// or an error, never a panic; a parsed config validates or errors, never panics.
    #[test]
    fn parsing_arbitrary_config_text_never_panics(
        base in prop_oneof![Just(PPOConfig::new().environment("CartPole-v1").to_json()),
                            Just(PPOConfig::new().environment("CartPole-v1").to_toml().unwrap())],
        cut in 0usize..4000,
        edits in proptest::collection::vec((0usize..4000, any::<u8>()), 0..6),
        noise in ".{0,40}",
    ) {
        let mut bytes = base.into_bytes();
        for (at, b) in edits {
            if !bytes.is_empty() {
                let i = at % bytes.len();
                bytes[i] = b;
            }
        }
        bytes.truncate(cut.max(1));
        bytes.extend_from_slice(noise.as_bytes());
        let text = String::from_utf8_lossy(&bytes);
        for c in [PPOConfig::from_json(&text), PPOConfig::from_toml(&text)].into_iter().flatten() {
            let _ = c.validate();
        }
    }
}
