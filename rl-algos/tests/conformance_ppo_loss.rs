//! Conformance: PPO's module outputs, loss, logged statistics and every parameter gradient
//! against RLlib 2.60's own `PPOTorchLearner.compute_loss_for_module`
//! (`ppo_rllib_loss.json` in `$RL_CONFORMANCE_DIR`; the tests fail when it is absent).

mod conformance {
    use ndarray::{Array1, Array2};
    use rand::SeedableRng;
    use rl_algos::ppo::loss::{ppo_loss, LossHyperparameters};
    use rl_algos::ppo::module::{PPOModule, PPOModuleConfig};
    use rl_core::learner::TrainBatch;
    use rl_core::testing::load_conformance_json;
    use rl_nn::{ActionDistKind, Grads, Rng, Tape};
    use serde_json::Value;

    /// Relative tolerance (the issue asks for 1e-4 or tighter).
    const RTOL: f64 = 1e-4;
    /// Absolute floor for entries near zero. A gradient entry is a float32 sum over the
    /// 24 rows of products of magnitude up to ~1e-2; torch and we add them in different
    /// orders (different kernels), so results differ by a few float32 ulps of the *terms*
    /// (~1e-9), not of the result. An entry that cancels down to ~1e-5 then has only ~1e-4
    /// relative precision in either implementation (measured: one critic weight gradient
    /// of 1.5e-5 differs by 3.4e-9). 1e-8 covers that and nothing larger; every other entry
    /// matches within 1e-6 relative + 2e-6 absolute.
    const ATOL: f64 = 1e-8;

    fn close(got: f64, want: f64) -> bool {
        (got - want).abs() <= ATOL + RTOL * want.abs()
    }

    fn flat(v: &Value) -> Vec<f64> {
        match v {
            Value::Array(a) => a.iter().flat_map(flat).collect(),
            Value::Number(n) => vec![n.as_f64().unwrap()],
            Value::Bool(b) => vec![if *b { 1.0 } else { 0.0 }],
            other => panic!("unexpected JSON value {other}"),
        }
    }

    fn rows(v: &Value) -> usize {
        v.as_array().unwrap().len()
    }

    fn mat(v: &Value) -> Array2<f32> {
        let r = rows(v);
        let f: Vec<f32> = flat(v).into_iter().map(|x| x as f32).collect();
        let c = f.len() / r;
        Array2::from_shape_vec((r, c), f).unwrap()
    }

    fn col(v: &Value) -> Array1<f32> {
        flat(v).into_iter().map(|x| x as f32).collect()
    }

    fn shape(v: &Value) -> Vec<usize> {
        v["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect()
    }

    fn assert_close(what: &str, got: &[f32], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (k, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                close(g as f64, w),
                "{what}[{k}]: ours {g}, RLlib {w} (diff {:e})",
                (g as f64 - w).abs()
            );
        }
    }

    fn run_case(env: &str) {
        let data = load_conformance_json("ppo_rllib_loss.json");
        let case = data["ppo_loss_cases"]
            .as_array()
            .expect("ppo_loss_cases")
            .iter()
            .find(|c| c["env"] == env)
            .unwrap_or_else(|| panic!("no case for {env}"));
        let params = case["parameters"].as_object().unwrap();
        let batch_json = &case["batch"];

        // Architecture from the parameters' shapes.
        let w0 = shape(&params["encoder.actor_encoder.net.mlp.0.weight"]);
        let w2 = shape(&params["encoder.actor_encoder.net.mlp.2.weight"]);
        let pi = shape(&params["pi.net.mlp.0.weight"]);
        let (obs_dim, dist_dim) = (w0[1], pi[0]);
        let discrete = env.starts_with("CartPole");
        let (kind, action_dim) = if discrete {
            (ActionDistKind::Categorical, dist_dim)
        } else {
            (ActionDistKind::DiagGaussian, dist_dim / 2)
        };
        let mut cfg = PPOModuleConfig::new(obs_dim, kind, action_dim);
        cfg.hiddens = vec![w0[0], w2[0]];
        let mut module = PPOModule::new(&cfg, &mut Rng::seed_from_u64(0)).unwrap();
        assert_eq!(
            params.len(),
            module.params().len(),
            "number of parameter tensors"
        );
        for (name, p) in params {
            let values: Vec<f32> = flat(&p["value"]).into_iter().map(|x| x as f32).collect();
            module
                .params_mut()
                .load(name, &shape(p), &values)
                .unwrap_or_else(|e| panic!("loading {name}: {e}"));
        }
        let n_params = case["logged_stats"]["default_policy/num_trainable_parameters"]
            .as_f64()
            .unwrap();
        assert_eq!(module.params().num_scalars() as f64, n_params);

        // The minibatch, as the learner holds it.
        let obs = mat(&batch_json["obs"]);
        let b = obs.nrows();
        let actions = if discrete {
            col(&batch_json["actions"])
                .into_shape_with_order((b, 1))
                .unwrap()
        } else {
            mat(&batch_json["actions"])
        };
        let batch = TrainBatch {
            obs,
            actions,
            action_logp: col(&batch_json["action_logp"]),
            action_dist_inputs: mat(&batch_json["action_dist_inputs"]),
            advantages: col(&batch_json["advantages"]),
            value_targets: col(&batch_json["value_targets"]),
            loss_mask: batch_json["loss_mask"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_bool().unwrap())
                .collect(),
            ..Default::default()
        };
        let h = &case["hyperparameters"];
        let hp = LossHyperparameters {
            clip_param: h["clip_param"].as_f64().unwrap() as f32,
            vf_clip_param: h["vf_clip_param"].as_f64().unwrap() as f32,
            vf_loss_coeff: h["vf_loss_coeff"].as_f64().unwrap() as f32,
            entropy_coeff: h["entropy_coeff"].as_f64().unwrap() as f32,
            curr_kl_coeff: case["curr_kl_coeff"].as_f64().unwrap() as f32,
            use_kl_loss: h["use_kl_loss"].as_bool().unwrap(),
        };

        let mut tape = Tape::new();
        let mut grads = Grads::new(module.params());
        // Twice on one tape: the second pass reuses the first's buffers and must agree.
        for pass in 0..2 {
            tape.reset();
            grads.zero();
            let out = ppo_loss(&mut tape, &module, &batch, &hp).unwrap();
            tape.backward(out.total_loss, &mut grads);
            let tag = |s: &str| format!("{env} pass {pass}: {s}");

            let fwd = &case["forward_train"];
            assert_close(
                &tag("action_dist_inputs"),
                tape.value(out.action_dist_inputs).as_slice().unwrap(),
                &flat(&fwd["action_dist_inputs"]),
            );
            assert_close(
                &tag("values"),
                tape.value(out.values).as_slice().unwrap(),
                &flat(&fwd["values"]),
            );
            assert_close(
                &tag("total_loss"),
                &[tape.scalar(out.total_loss)],
                &[case["total_loss"].as_f64().unwrap()],
            );
            let s = out.stats;
            let logged = &case["logged_stats"];
            for (key, ours) in [
                ("policy_loss", s.policy_loss),
                ("vf_loss", s.vf_loss),
                ("vf_loss_unclipped", s.vf_loss_unclipped),
                ("vf_explained_var", s.vf_explained_var),
                ("entropy", s.entropy),
                ("mean_kl_loss", s.mean_kl_loss),
            ] {
                let want = logged[format!("default_policy/{key}")]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{key} missing"));
                assert_close(&tag(key), &[ours], &[want]);
            }
            assert_eq!(s.total_loss, tape.scalar(out.total_loss));

            let g = case["gradients"].as_object().unwrap();
            assert_eq!(g.len(), module.params().len());
            for (name, gj) in g {
                let id = module
                    .params()
                    .id(name)
                    .unwrap_or_else(|| panic!("unknown gradient {name}"));
                let want = flat(gj.get("value").unwrap_or(gj));
                assert_close(
                    &tag(&format!("grad {name}")),
                    grads.get(id).as_slice().unwrap(),
                    &want,
                );
            }
        }
        // Through the generic no-grad path too.
        let d = module.forward_dist_inputs(batch.obs.view());
        assert_close(
            "no-grad dist inputs",
            d.as_slice().unwrap(),
            &flat(&case["forward_train"]["action_dist_inputs"]),
        );
        let v = module.forward_values(batch.obs.view());
        assert_close(
            "no-grad values",
            v.as_slice().unwrap(),
            &flat(&case["forward_train"]["values"]),
        );
    }

    #[test]
    fn ppo_loss_matches_rllib_discrete_cartpole() {
        run_case("CartPole-v1");
    }

    #[test]
    fn ppo_loss_matches_rllib_box_pendulum() {
        run_case("Pendulum-v1");
    }
}
