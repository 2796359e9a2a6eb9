//! Conformance of the classic-control envs with Gymnasium 1.2.2's trajectories
//! (`$RL_CONFORMANCE_DIR` or `../shared/conformance`, `*_trajectories.json`).
//!
//! Each case starts the env from Gymnasium's `initial_state_f64` (our RNG differs from
//! NumPy's, so reset seeds are not comparable), applies the recorded actions and compares
//! the observation (float32), reward (float64), `terminated` and `truncated` of every step.
//!
//! Tolerance: none. Every comparison is exact (bit equality of the float32 observations
//! and float64 rewards): the envs use the C library's `sin`/`cos` as NumPy does, keep
//! Python's evaluation order, and reproduce NumPy 2's float32 arithmetic where Gymnasium
//! has float32 operands (MountainCarContinuous's state, Pendulum's torque).

mod conformance {
    use rl_core::env::{Env, TimeLimit, Value};
    use rl_core::testing::load_conformance_json;
    use rl_envs::{AcrobotEnv, CartPoleEnv, ContinuousMountainCarEnv, MountainCarEnv, PendulumEnv};
    use serde_json::Value as Json;

    fn f64s(v: &Json) -> Vec<f64> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_f64().expect("number"))
            .collect()
    }

    fn f32s(v: &Json) -> Vec<f32> {
        f64s(v).into_iter().map(|x| x as f32).collect()
    }

    fn action(v: &Json) -> Value {
        if let Some(i) = v.as_i64() {
            Value::Discrete(i)
        } else {
            Value::Box(f32s(v))
        }
    }

    fn same_f32(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    /// Runs every case of `file` on envs built by `make_env`, which sets the physics state
    /// and returns the observation of that state. Checks `step` and `step_into` alike.
    fn run<E: Env>(
        file: &str,
        name: &str,
        build: impl Fn() -> E,
        set_state: impl Fn(&mut E, &[f64]) -> Value,
    ) {
        rl_envs::register_builtins();
        let data = load_conformance_json(file);
        assert_eq!(data["env"].as_str(), Some(name), "{file} holds another env");
        let max_steps = data["max_episode_steps"]
            .as_u64()
            .expect("max_episode_steps");
        let registered = rl_core::env::registration(name).expect("registered");
        assert_eq!(
            registered.max_episode_steps,
            Some(max_steps),
            "{name}: our registry's time limit differs from Gymnasium's"
        );
        let cases = data["cases"].as_array().expect("cases");
        assert!(!cases.is_empty(), "{file} has no cases");
        let mut steps_checked = 0usize;
        for (ci, case) in cases.iter().enumerate() {
            for use_step_into in [false, true] {
                let mut env = TimeLimit::new(build(), max_steps).unwrap();
                let obs0 = set_state(env.inner_mut(), &f64s(&case["initial_state_f64"]));
                env.start_episode();
                let want0 = f32s(&case["initial_obs_f32"]);
                assert!(
                    same_f32(obs0.as_box().unwrap(), &want0),
                    "{name} case {ci}: initial obs {obs0:?} != {want0:?}"
                );
                let steps = case["steps"].as_array().expect("steps");
                let mut buf = vec![0.0f32; env.observation_space().flat_dim()];
                for (t, st) in steps.iter().enumerate() {
                    let a = action(&st["action"]);
                    let (obs, reward, terminated, truncated) = if use_step_into {
                        let o = env
                            .step_into(&a, &mut buf)
                            .unwrap_or_else(|e| panic!("{name} case {ci} step {t}: {e}"));
                        (buf.clone(), o.reward, o.terminated, o.truncated)
                    } else {
                        let r = env
                            .step(&a)
                            .unwrap_or_else(|e| panic!("{name} case {ci} step {t}: {e}"));
                        (
                            r.obs.as_box().unwrap().to_vec(),
                            r.reward,
                            r.terminated,
                            r.truncated,
                        )
                    };
                    let want = f32s(&st["obs"]);
                    let ctx = format!(
                        "{name} case {ci} (step_into: {use_step_into}) step {t} action {a:?}"
                    );
                    assert!(same_f32(&obs, &want), "{ctx}: obs {obs:?} != {want:?}");
                    let want_r = st["reward"].as_f64().unwrap();
                    assert_eq!(
                        reward.to_bits(),
                        want_r.to_bits(),
                        "{ctx}: reward {reward:e} != {want_r:e}"
                    );
                    assert_eq!(
                        terminated,
                        st["terminated"].as_bool().unwrap(),
                        "{ctx}: terminated"
                    );
                    assert_eq!(
                        truncated,
                        st["truncated"].as_bool().unwrap(),
                        "{ctx}: truncated"
                    );
                    steps_checked += 1;
                }
                if let Some(last) = steps.last() {
                    if last["terminated"].as_bool().unwrap() || last["truncated"].as_bool().unwrap()
                    {
                        assert!(
                            env.step(&action(&last["action"])).is_err(),
                            "{name}: step after done must fail"
                        );
                    }
                }
            }
        }
        assert!(steps_checked > 0);
    }

    #[test]
    fn cartpole_v1_matches_gymnasium() {
        run(
            "cartpole_v1_trajectories.json",
            "CartPole-v1",
            CartPoleEnv::default,
            |e, s| e.set_state(s).unwrap(),
        );
    }

    #[test]
    fn acrobot_v1_matches_gymnasium() {
        run(
            "acrobot_v1_trajectories.json",
            "Acrobot-v1",
            AcrobotEnv::default,
            |e, s| e.set_state(s).unwrap(),
        );
    }

    #[test]
    fn mountaincar_v0_matches_gymnasium() {
        run(
            "mountaincar_v0_trajectories.json",
            "MountainCar-v0",
            MountainCarEnv::default,
            |e, s| e.set_state(s).unwrap(),
        );
    }

    #[test]
    fn mountaincarcontinuous_v0_matches_gymnasium() {
        run(
            "mountaincarcontinuous_v0_trajectories.json",
            "MountainCarContinuous-v0",
            ContinuousMountainCarEnv::default,
            |e, s| e.set_state(s).unwrap(),
        );
    }

    #[test]
    fn pendulum_v1_matches_gymnasium() {
        run(
            "pendulum_v1_trajectories.json",
            "Pendulum-v1",
            PendulumEnv::default,
            |e, s| e.set_state(s).unwrap(),
        );
    }
}
