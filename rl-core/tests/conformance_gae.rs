//! GAE value targets and advantage standardization against RLlib's own
//! `compute_value_targets` (`ppo_rllib_loss.json`, `gae_cases`).

mod conformance {
    use rl_core::connectors::learner::gae::{compute_value_targets, standardize};
    use rl_core::testing::load_conformance_json;

    fn floats(v: &serde_json::Value) -> Vec<f32> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_f64().expect("number") as f32)
            .collect()
    }

    fn flags(v: &serde_json::Value) -> Vec<bool> {
        floats(v).into_iter().map(|x| x != 0.0).collect()
    }

    /// RLlib computes in float32 NumPy; we compute in f64 and round once, so the two
    /// differ by float32 rounding of a short recursion: 1e-5 relative covers it.
    fn assert_close(ours: &[f32], theirs: &[f32], what: &str) {
        assert_eq!(ours.len(), theirs.len(), "{what}: length");
        for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
            let tol = 1e-5 * b.abs().max(1.0);
            assert!((a - b).abs() <= tol, "{what}[{i}]: ours {a}, RLlib {b}");
        }
    }

    #[test]
    fn gae_matches_rllib() {
        let data = load_conformance_json("ppo_rllib_loss.json");
        let cases = data["gae_cases"].as_array().expect("gae_cases");
        assert!(!cases.is_empty());
        for case in cases {
            let values = floats(&case["values"]);
            let targets = compute_value_targets(
                &values,
                &floats(&case["rewards"]),
                &flags(&case["terminateds"]),
                &flags(&case["truncateds"]),
                case["gamma"].as_f64().unwrap() as f32,
                case["lambda"].as_f64().unwrap() as f32,
            )
            .expect("equal lengths");
            assert_close(&targets, &floats(&case["value_targets"]), "value_targets");
            let mut adv: Vec<f32> = targets.iter().zip(&values).map(|(t, v)| t - v).collect();
            assert_close(&adv, &floats(&case["advantages"]), "advantages");
            standardize(&mut adv);
            assert_close(
                &adv,
                &floats(&case["standardized_advantages"]),
                "standardized",
            );
        }
    }
}
