//! GAE value targets and advantage standardization against RLlib's own
//! `compute_value_targets` (`ppo_rllib_loss.json`, `gae_cases`): the kernel on the file's
//! flags, and the whole learner pipeline (bootstrap steps, batching, GAE) on episode chunks
//! rebuilt from the case, which must produce RLlib's flags, targets and advantages.

mod module_common;

mod conformance {
    use super::module_common::ObsValueModule;
    use rl_core::connectors::learner::gae::{compute_value_targets, standardize};
    use rl_core::connectors::learner::{
        AddColumnsFromEpisodesToTrainBatch, AddOneTsToEpisodesAndTruncate,
        GeneralAdvantageEstimation,
    };
    use rl_core::connectors::{LearnerConnector, LearnerContext, LearnerData, Pipeline};
    use rl_core::episode::Episode;
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

    /// A module whose value of an observation is the case's value at the batch row the
    /// observation names (observations are row indices).
    fn value_table(values: Vec<f32>) -> ObsValueModule {
        ObsValueModule::new(move |row| values[row as usize])
    }

    /// The case's chunks as env runners return them: the real steps before each extra
    /// step, ending terminated where the file says so, else truncated (`time_limit`) or
    /// cut by the rollout (neither flag: the chunk is still running).
    fn chunks(case: &serde_json::Value, time_limit: bool) -> Vec<Episode> {
        let rewards = floats(&case["rewards"]);
        let terminateds = flags(&case["terminateds"]);
        let extra: Vec<usize> = case["extra_steps"]
            .as_array()
            .expect("extra_steps")
            .iter()
            .map(|x| x.as_u64().expect("an index") as usize)
            .collect();
        assert_eq!(
            extra.last().map(|&e| e + 1),
            Some(rewards.len()),
            "the batch ends in an extra step"
        );
        let mut start = 0;
        extra
            .iter()
            .enumerate()
            .map(|(id, &e)| {
                let mut ep = Episode::new(id as u64, 0, &[start as f32], 1, 2);
                // Observations name batch rows; the one after the last real step is the
                // extra step's (row `e`).
                for (t, &r) in rewards.iter().enumerate().take(e).skip(start) {
                    ep.add_step(&[0.0], -0.7, &[0.0, 0.0], r, &[(t + 1) as f32]);
                }
                ep.is_terminated = terminateds[e - 1];
                ep.is_truncated = !ep.is_terminated && time_limit;
                start = e + 1;
                ep
            })
            .collect()
    }

    #[test]
    fn learner_pipeline_matches_rllib() {
        let data = load_conformance_json("ppo_rllib_loss.json");
        for case in data["gae_cases"].as_array().expect("gae_cases") {
            for time_limit in [false, true] {
                let gamma = case["gamma"].as_f64().unwrap() as f32;
                let lambda = case["lambda"].as_f64().unwrap() as f32;
                let mut policy = value_table(floats(&case["values"]));
                let mut learner_data = LearnerData {
                    episodes: chunks(case, time_limit),
                    ..Default::default()
                };
                // RLlib's PPO learner pipeline (rl-algos' `default_learner_pipeline`).
                Pipeline::<dyn LearnerConnector>::new(vec![
                    Box::new(AddOneTsToEpisodesAndTruncate),
                    Box::new(AddColumnsFromEpisodesToTrainBatch),
                    Box::new(GeneralAdvantageEstimation::with(gamma, lambda)),
                ])
                .run(
                    &mut learner_data,
                    &mut LearnerContext {
                        module: &mut policy,
                    },
                )
                .expect("the pipeline runs");
                let b = &learner_data.batch;
                assert_eq!(
                    b.terminateds.to_vec(),
                    flags(&case["terminateds"]),
                    "terminateds"
                );
                assert_eq!(
                    b.truncateds.to_vec(),
                    flags(&case["truncateds"]),
                    "truncateds"
                );
                assert_eq!(b.rewards.to_vec(), floats(&case["rewards"]), "rewards");
                let extra: Vec<usize> = (0..b.len()).filter(|&t| !b.loss_mask[t]).collect();
                let want: Vec<usize> = case["extra_steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap() as usize)
                    .collect();
                assert_eq!(extra, want, "masked rows = the extra steps");
                assert_close(
                    &b.value_targets.to_vec(),
                    &floats(&case["value_targets"]),
                    "value_targets",
                );
                assert_close(
                    &b.advantages.to_vec(),
                    &floats(&case["standardized_advantages"]),
                    "standardized advantages",
                );
            }
        }
    }
}
