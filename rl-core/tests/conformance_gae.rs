//! GAE value targets and advantage standardization against RLlib's own
//! `compute_value_targets` (`ppo_rllib_loss.json`, `gae_cases`): the kernel on the file's
//! flags, and the whole learner pipeline (bootstrap steps, batching, GAE) on episode chunks
//! rebuilt from the case, which must produce RLlib's flags, targets and advantages.

mod conformance {
    use ndarray::{Array1, Array2, ArrayView2};
    use rl_core::connectors::learner::gae::{compute_value_targets, standardize};
    use rl_core::connectors::{LearnerContext, LearnerData, Pipeline};
    use rl_core::episode::Episode;
    use rl_core::policy::{Policy, PolicyError};
    use rl_core::testing::load_conformance_json;
    use rl_nn::{ActionDistKind, ParamStore, Tape, Var};

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
    #[derive(Clone)]
    struct ValueTable(Vec<f32>, ParamStore);

    impl Policy for ValueTable {
        fn dist_kind(&self) -> ActionDistKind {
            ActionDistKind::Categorical
        }
        fn obs_dim(&self) -> usize {
            1
        }
        fn dist_dim(&self) -> usize {
            2
        }
        fn forward_inference(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, PolicyError> {
            Ok(Array2::zeros((obs.nrows(), 2)))
        }
        fn forward_exploration(
            &mut self,
            obs: ArrayView2<f32>,
        ) -> Result<Array2<f32>, PolicyError> {
            Ok(Array2::zeros((obs.nrows(), 2)))
        }
        fn compute_values(&mut self, obs: ArrayView2<f32>) -> Result<Array1<f32>, PolicyError> {
            Ok(obs.column(0).mapv(|row| self.0[row as usize]))
        }
        fn forward_train(&self, tape: &mut Tape, obs: Var) -> (Var, Var) {
            let b = tape.shape(obs).0;
            let logits = tape.constant(Array2::zeros((b, 2)).view());
            (logits, obs)
        }
        fn params(&self) -> &ParamStore {
            &self.1
        }
        fn params_mut(&mut self) -> &mut ParamStore {
            &mut self.1
        }
        fn clone_policy(&self) -> Box<dyn Policy> {
            Box::new(self.clone())
        }
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
                for t in start..e {
                    // The observation after the last real step is the extra step's.
                    let next = if t + 1 == e { e } else { t + 1 };
                    ep.add_step(&[0.0], -0.7, &[0.0, 0.0], rewards[t], &[next as f32]);
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
                let mut policy = ValueTable(floats(&case["values"]), ParamStore::new());
                let mut learner_data = LearnerData {
                    episodes: chunks(case, time_limit),
                    ..Default::default()
                };
                Pipeline::default_ppo_learner(gamma, lambda)
                    .run(
                        &mut learner_data,
                        &mut LearnerContext {
                            policy: &mut policy,
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
