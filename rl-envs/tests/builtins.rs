//! The built-in envs: registry entries, `check_env`, kwargs, options, save/load, vectorized.

use rl_core::env::{check_env, Env, EnvError, EnvSpec, Space, Value, VectorEnv};
use rl_envs::{
    AcrobotEnv, CartPoleEnv, ContinuousMountainCarEnv, MountainCarEnv, PendulumEnv, BUILTIN_ENVS,
};

#[test]
fn registry_has_gymnasium_names_and_limits() {
    rl_envs::register_builtins();
    rl_envs::register_builtins(); // idempotent
    let want = [
        ("CartPole-v1", 500, Some(475.0)),
        ("CartPole-v0", 200, Some(195.0)),
        ("Acrobot-v1", 500, Some(-100.0)),
        ("MountainCar-v0", 200, Some(-110.0)),
        ("MountainCarContinuous-v0", 999, Some(90.0)),
        ("Pendulum-v1", 200, None),
    ];
    for (name, steps, thr) in want {
        let r = rl_core::env::registration(name).unwrap();
        assert_eq!(r.max_episode_steps, Some(steps), "{name}");
        assert_eq!(r.reward_threshold, thr, "{name}");
    }
    let e = rl_envs::make("CartPole-v2", &serde_json::Value::Null)
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("CartPole-v1") && e.contains("Pendulum-v1"),
        "{e}"
    );
}

#[test]
fn check_env_passes_on_every_builtin() {
    for name in BUILTIN_ENVS {
        let mut env = rl_envs::make(name, &serde_json::Value::Null).unwrap();
        let v = check_env(&mut *env);
        assert!(v.is_empty(), "{name}: {v:#?}");
    }
    let raw: Vec<Box<dyn Env>> = vec![
        Box::new(CartPoleEnv::default()),
        Box::new(AcrobotEnv::default()),
        Box::new(MountainCarEnv::default()),
        Box::new(ContinuousMountainCarEnv::default()),
        Box::new(PendulumEnv::default()),
    ];
    for mut env in raw {
        let v = check_env(&mut *env);
        assert!(v.is_empty(), "{v:#?}");
    }
}

#[test]
fn spaces_are_gymnasiums() {
    let env = rl_envs::make("CartPole-v1", &serde_json::Value::Null).unwrap();
    assert_eq!(env.action_space(), &Space::discrete(2).unwrap());
    match env.observation_space() {
        Space::Box { low, high, shape } => {
            assert_eq!(shape, &vec![4]);
            assert_eq!(high[0], 4.8f32);
            assert_eq!(high[1], f32::INFINITY);
            assert_eq!(high[2], (24.0 * std::f64::consts::PI / 360.0 * 2.0) as f32);
            assert_eq!(low[0], -4.8f32);
        }
        s => panic!("{s:?}"),
    }
    let env = rl_envs::make("Pendulum-v1", &serde_json::Value::Null).unwrap();
    assert_eq!(
        env.action_space(),
        &Space::box_uniform(-2.0, 2.0, vec![1]).unwrap()
    );
    assert_eq!(env.observation_space().flat_dim(), 3);
    let env = rl_envs::make("Acrobot-v1", &serde_json::Value::Null).unwrap();
    assert_eq!(env.observation_space().flat_dim(), 6);
    assert_eq!(env.action_space().flat_dim(), 3);
}

#[test]
fn cartpole_episode_lasts_at_most_500_steps_and_errors_after() {
    let mut env = rl_envs::make("CartPole-v1", &serde_json::Value::Null).unwrap();
    assert!(matches!(
        env.step(&Value::Discrete(0)),
        Err(EnvError::StepBeforeReset)
    ));
    env.reset(Some(0), None).unwrap();
    // Alternate pushes keep the pole up for long: the limit must cut the episode at 500.
    let mut t = 0;
    loop {
        t += 1;
        let theta_dot_sign = {
            let r = env.step(&Value::Discrete((t % 2) as i64)).unwrap();
            if r.terminated || r.truncated {
                assert!(t <= 500);
                if r.truncated {
                    assert_eq!(t, 500);
                }
                break;
            }
            r.obs.as_box().unwrap()[3] > 0.0
        };
        let _ = theta_dot_sign;
    }
    assert!(matches!(
        env.step(&Value::Discrete(0)),
        Err(EnvError::StepAfterDone)
    ));
    assert!(matches!(
        env.step(&Value::Discrete(2)),
        Err(EnvError::StepAfterDone)
    ));
    env.reset(None, None).unwrap();
    assert!(matches!(
        env.step(&Value::Discrete(2)),
        Err(EnvError::InvalidAction { .. })
    ));
    assert!(matches!(
        env.step(&Value::Box(vec![1.0])),
        Err(EnvError::InvalidAction { .. })
    ));
}

#[test]
fn balancing_policy_reaches_truncation() {
    // A simple PD controller keeps CartPole up: the episode must end truncated at step 500.
    let mut env = rl_envs::make("CartPole-v1", &serde_json::Value::Null).unwrap();
    let (obs, _) = env.reset(Some(3), None).unwrap();
    let mut o = obs.as_box().unwrap().to_vec();
    for t in 1..=500 {
        let a = (o[2] + 0.5 * o[3] + 0.01 * o[0] + 0.1 * o[1] > 0.0) as i64;
        let r = env.step(&Value::Discrete(a)).unwrap();
        o = r.obs.as_box().unwrap().to_vec();
        assert!(!r.terminated, "fell at {t}");
        assert_eq!(r.truncated, t == 500);
    }
}

#[test]
fn kwargs_and_reset_options() {
    let mut env = rl_envs::make(
        "CartPole-v1",
        &serde_json::json!({"sutton_barto_reward": true}),
    )
    .unwrap();
    env.reset(Some(0), None).unwrap();
    assert_eq!(env.step(&Value::Discrete(0)).unwrap().reward, 0.0);
    let e = rl_envs::make("CartPole-v1", &serde_json::json!({"render_mode": "human"}))
        .err()
        .unwrap();
    assert!(e.to_string().contains("render_mode"), "{e}");
    assert!(rl_envs::make("CartPole-v1", &serde_json::json!({"render_mode": null})).is_ok());
    let e = rl_envs::make("Pendulum-v1", &serde_json::json!({"gravity": 9.81}))
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("`g`") || e.to_string().contains("[\"g\""),
        "{e}"
    );
    let mut p = rl_envs::make(
        "Pendulum-v1",
        &serde_json::json!({"g": 9.81, "max_episode_steps": 3}),
    )
    .unwrap();
    p.reset(Some(0), None).unwrap();
    for t in 1..=3 {
        assert_eq!(p.step(&Value::Box(vec![0.0])).unwrap().truncated, t == 3);
    }

    // Reset options: CartPole's low/high, Pendulum's x_init/y_init.
    let (o, _) = env
        .reset(Some(1), Some(&serde_json::json!({"low": 0.2, "high": 0.3})))
        .unwrap();
    assert!(
        o.as_box()
            .unwrap()
            .iter()
            .all(|&x| (0.2..=0.3).contains(&x)),
        "{o:?}"
    );
    assert!(env
        .reset(None, Some(&serde_json::json!({"low": 1.0, "high": 0.0})))
        .is_err());
    assert!(env
        .reset(None, Some(&serde_json::json!({"low": "a"})))
        .is_err());
    let (o, _) = p
        .reset(
            Some(1),
            Some(&serde_json::json!({"x_init": 0.0, "y_init": 0.0})),
        )
        .unwrap();
    assert_eq!(o, Value::Box(vec![1.0, 0.0, 0.0]));
}

#[test]
fn same_seed_same_reset_and_continuous_actions_are_clipped() {
    let mut a = rl_envs::make("Pendulum-v1", &serde_json::Value::Null).unwrap();
    let mut b = rl_envs::make("Pendulum-v1", &serde_json::Value::Null).unwrap();
    assert_eq!(
        a.reset(Some(5), None).unwrap(),
        b.reset(Some(5), None).unwrap()
    );
    let ra = a.step(&Value::Box(vec![100.0])).unwrap();
    let rb = b.step(&Value::Box(vec![2.0])).unwrap();
    assert_eq!(ra, rb, "an action above the bound acts as the bound");
    assert!(a.step(&Value::Box(vec![f32::NAN])).is_err());
    assert!(a.step(&Value::Box(vec![0.0, 0.0])).is_err());
}

#[test]
fn save_and_load_state_reproduce_the_future() {
    for name in BUILTIN_ENVS {
        let mut env = rl_envs::make(name, &serde_json::Value::Null).unwrap();
        let space = env.action_space().clone();
        env.reset(Some(11), None).unwrap();
        let mut rng = <rl_core::Rng as rand::SeedableRng>::seed_from_u64(0);
        let actions: Vec<Value> = (0..300).map(|_| space.sample(&mut rng)).collect();
        for a in &actions[..5] {
            env.step(a).unwrap();
        }
        let saved = env.save_state().unwrap();
        // Round trip through text, as a checkpoint would.
        let saved: serde_json::Value = serde_json::from_str(&saved.to_string()).unwrap();
        let run = |env: &mut Box<dyn Env>| {
            let mut out = Vec::new();
            for a in &actions[5..] {
                let r = env.step(a).unwrap();
                let done = r.terminated || r.truncated;
                out.push(r);
                if done {
                    out.push(rl_core::env::StepResult {
                        obs: env.reset(None, None).unwrap().0,
                        reward: 0.0,
                        terminated: false,
                        truncated: false,
                        info: Default::default(),
                    });
                }
            }
            out
        };
        let first = run(&mut env);
        let mut other = rl_envs::make(name, &serde_json::Value::Null).unwrap();
        other.load_state(&saved).unwrap();
        assert_eq!(first, run(&mut other), "{name}");
    }
    let mut cp = rl_envs::make("CartPole-v1", &serde_json::Value::Null).unwrap();
    let acro = rl_envs::make("Acrobot-v1", &serde_json::Value::Null).unwrap();
    assert!(cp.load_state(&acro.save_state().unwrap()).is_err());
    assert!(cp.load_state(&serde_json::json!({"nonsense": 1})).is_err());
}

#[test]
fn set_state_validates() {
    let mut e = CartPoleEnv::default();
    assert!(e.set_state(&[0.0; 3]).is_err());
    assert!(e.set_state(&[0.0, f64::NAN, 0.0, 0.0]).is_err());
    assert_eq!(
        e.set_state(&[0.5, 0.0, 0.0, 0.0]).unwrap(),
        Value::Box(vec![0.5, 0.0, 0.0, 0.0])
    );
    assert_eq!(e.state(), [0.5, 0.0, 0.0, 0.0]);
}

#[test]
fn vectorized_cartpole_from_env_spec() {
    rl_envs::register_builtins();
    let spec: EnvSpec =
        serde_json::from_str(r#"{"name": "CartPole-v1", "env_config": {"max_episode_steps": 20}}"#)
            .unwrap();
    let mut venv = rl_core::env::SyncVectorEnv::from_fn(8, |_| spec.make()).unwrap();
    let r = venv.reset(Some(0), None).unwrap();
    assert_eq!(r.obs.len(), 8 * 4);
    let mut truncations = 0;
    let mut obs = r.obs.to_vec();
    for _ in 0..100 {
        // The PD controller of `balancing_policy_reaches_truncation`, per row.
        let actions: Vec<Value> = obs
            .chunks(4)
            .map(|o| Value::Discrete((o[2] + 0.5 * o[3] + 0.01 * o[0] + 0.1 * o[1] > 0.0) as i64))
            .collect();
        let r = venv.step(&actions).unwrap();
        obs = r.obs.to_vec();
        for i in 0..8 {
            if r.truncated[i] {
                truncations += 1;
                let f = r.final_obs(i).unwrap();
                assert_ne!(f, r.obs_row(i), "final obs and reset obs differ");
                assert!(
                    r.obs_row(i).iter().all(|x| x.abs() <= 0.05),
                    "reset obs {:?}",
                    r.obs_row(i)
                );
            }
        }
    }
    assert_eq!(truncations, 8 * 5, "every sub-env truncated every 20 steps");
}
