//! The time limit, the registry and the vectorized env.

mod env_common;

use env_common::Walk;
use rl_core::env::{
    make, register, register_env, registered_envs, registration, Env, EnvError, EnvRegistration,
    EnvSpec, SyncVectorEnv, TimeLimit, Value, VectorEnv,
};

#[test]
fn time_limit_truncates_and_enforces_order() {
    let mut env = TimeLimit::new(Walk::new(1000), 3).unwrap();
    assert!(matches!(
        env.step(&Value::Discrete(1)),
        Err(EnvError::StepBeforeReset)
    ));
    env.reset(Some(0), None).unwrap();
    for t in 1..=3 {
        let r = env.step(&Value::Discrete(0)).unwrap();
        assert_eq!(r.truncated, t == 3, "step {t}");
        assert!(!r.terminated);
    }
    assert!(matches!(
        env.step(&Value::Discrete(0)),
        Err(EnvError::StepAfterDone)
    ));
    env.reset(None, None).unwrap();
    assert_eq!(env.elapsed_steps(), 0);
    assert!(env.step(&Value::Discrete(0)).is_ok());
    assert!(TimeLimit::new(Walk::new(3), 0).is_err());
}

#[test]
fn terminated_and_truncated_on_the_same_step() {
    // A walk of length 3 started at 0 reaches the end in exactly 2 right moves.
    let mut env = TimeLimit::new(Walk::new(3), 2).unwrap();
    env.reset(None, None).unwrap(); // the start is random in 0..1, i.e. always 0
    let r1 = env.step(&Value::Discrete(1)).unwrap();
    assert!(!r1.terminated && !r1.truncated);
    let r2 = env.step(&Value::Discrete(1)).unwrap();
    assert!(r2.terminated && r2.truncated);
}

#[test]
fn time_limit_save_load() {
    let mut env = TimeLimit::new(Walk::new(1000), 5).unwrap();
    env.reset(Some(1), None).unwrap();
    env.step(&Value::Discrete(1)).unwrap();
    let s = env.save_state().unwrap();
    let a: Vec<_> = (0..4)
        .map(|_| env.step(&Value::Discrete(1)).unwrap())
        .collect();
    env.load_state(&s).unwrap();
    let b: Vec<_> = (0..4)
        .map(|_| env.step(&Value::Discrete(1)).unwrap())
        .collect();
    assert_eq!(a, b);
    assert!(b[3].truncated);
}

#[test]
fn registry_make_kwargs_and_unknown_names() {
    register(
        EnvRegistration::new("TestWalk-v0", |kw| {
            rl_core::env::registry::kwargs::check_keys("TestWalk", kw, &["len"])?;
            let len = kw.get("len").and_then(|v| v.as_i64()).unwrap_or(8);
            Ok(Box::new(Walk::new(len)) as Box<dyn Env>)
        })
        .max_episode_steps(4)
        .reward_threshold(1.0),
    );
    let info = registration("TestWalk-v0").unwrap();
    assert_eq!(info.max_episode_steps, Some(4));
    assert!(registered_envs().contains(&"TestWalk-v0".to_string()));

    let mut env = make("TestWalk-v0", &serde_json::Value::Null).unwrap();
    env.reset(Some(0), None).unwrap();
    let mut n = 0;
    loop {
        n += 1;
        let r = env.step(&Value::Discrete(0)).unwrap();
        if r.terminated || r.truncated {
            assert!(r.truncated);
            break;
        }
    }
    assert_eq!(n, 4);

    // max_episode_steps override, and kwargs reaching the factory.
    let mut env = make(
        "TestWalk-v0",
        &serde_json::json!({"max_episode_steps": 2, "len": 100}),
    )
    .unwrap();
    env.reset(Some(0), None).unwrap();
    assert!(!env.step(&Value::Discrete(0)).unwrap().truncated);
    assert!(env.step(&Value::Discrete(0)).unwrap().truncated);

    // Unknown kwarg, bad max_episode_steps, non-object kwargs.
    let e = make("TestWalk-v0", &serde_json::json!({"lenght": 3}))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("lenght") && e.contains("len"), "{e}");
    assert!(make("TestWalk-v0", &serde_json::json!({"max_episode_steps": 0})).is_err());
    assert!(make("TestWalk-v0", &serde_json::json!([1])).is_err());

    // Unknown name lists the registered ones.
    match make("NoSuchEnv-v9", &serde_json::Value::Null) {
        Err(EnvError::UnknownEnv { name, registered }) => {
            assert_eq!(name, "NoSuchEnv-v9");
            assert!(registered.contains(&"TestWalk-v0".to_string()));
        }
        other => panic!("expected UnknownEnv, got {:?}", other.map(|_| ())),
    }
    let msg = make("NoSuchEnv-v9", &serde_json::Value::Null)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("TestWalk-v0"), "{msg}");
}

#[test]
fn env_spec_round_trips_and_rebuilds() {
    register_env("TestWalkSpec-v0", |_| {
        Ok(Box::new(Walk::new(5)) as Box<dyn Env>)
    });
    let spec = EnvSpec::with_config(
        "TestWalkSpec-v0",
        serde_json::json!({"max_episode_steps": 7}),
    );
    let text = serde_json::to_string(&spec).unwrap();
    let back: EnvSpec = serde_json::from_str(&text).unwrap();
    assert_eq!(back, spec);
    let mut env = back.make().unwrap();
    assert!(env.reset(Some(0), None).is_ok());
    let minimal: EnvSpec = serde_json::from_str(r#"{"name": "TestWalkSpec-v0"}"#).unwrap();
    assert!(minimal.make().is_ok());
}

#[test]
fn vector_env_seeds_each_sub_env_with_seed_plus_i() {
    let mut venv = SyncVectorEnv::from_fn(3, |_| Ok(Walk::new(50))).unwrap();
    let r = venv.reset(Some(10), None).unwrap();
    assert_eq!(r.obs_dim, 2);
    let obs = r.obs.to_vec();
    for i in 0..3 {
        let mut e = Walk::new(50);
        let (o, _) = e.reset(Some(10 + i as u64), None).unwrap();
        assert_eq!(&obs[i * 2..i * 2 + 2], o.as_box().unwrap());
    }
}

#[test]
fn vector_env_autoresets_in_the_same_step_and_keeps_final_obs() {
    let n = 4;
    let mut venv = SyncVectorEnv::from_fn(n, |_| TimeLimit::new(Walk::new(6), 5)).unwrap();
    // Shadow envs stepped by hand, to predict what the vector env must return.
    let mut shadow: Vec<_> = (0..n)
        .map(|_| TimeLimit::new(Walk::new(6), 5).unwrap())
        .collect();
    assert!(matches!(
        venv.step(&vec![Value::Discrete(0); n]),
        Err(EnvError::StepBeforeReset)
    ));
    venv.reset(Some(3), None).unwrap();
    for (i, e) in shadow.iter_mut().enumerate() {
        e.reset(Some(3 + i as u64), None).unwrap();
    }
    let mut ended = 0;
    for t in 0..40 {
        let actions: Vec<Value> = (0..n)
            .map(|i| Value::Discrete(((t + i) % 3 != 0) as i64))
            .collect();
        let r = venv.step(&actions).unwrap();
        assert_eq!(r.num_envs(), n);
        for i in 0..n {
            let s = shadow[i].step(&actions[i]).unwrap();
            assert_eq!(r.rewards[i], s.reward);
            assert_eq!(r.terminated[i], s.terminated);
            assert_eq!(r.truncated[i], s.truncated);
            if s.terminated || s.truncated {
                ended += 1;
                assert_eq!(r.final_obs(i).unwrap(), s.obs.as_box().unwrap());
                assert!(r.final_info(i).is_some());
                let (o, _) = shadow[i].reset(None, None).unwrap();
                assert_eq!(
                    r.obs_row(i),
                    o.as_box().unwrap(),
                    "row {i} holds the reset obs"
                );
            } else {
                assert!(r.final_obs(i).is_none());
                assert_eq!(r.obs_row(i), s.obs.as_box().unwrap());
            }
        }
    }
    assert!(ended > 4, "the test should see episodes end");
    let e = venv.step(&[Value::Discrete(0)]).err().unwrap().to_string();
    assert!(e.contains("one action per sub-env"), "{e}");
}

#[test]
fn vector_env_rejects_mismatched_spaces_and_empty() {
    assert!(SyncVectorEnv::<Walk>::new(vec![]).is_err());
    let envs: Vec<Box<dyn Env>> = vec![Box::new(Walk::new(5)), Box::new(Inconsistent)];
    assert!(SyncVectorEnv::new(envs).is_err());
}

struct Inconsistent;
impl Env for Inconsistent {
    fn observation_space(&self) -> &rl_core::env::Space {
        static S: std::sync::OnceLock<rl_core::env::Space> = std::sync::OnceLock::new();
        S.get_or_init(|| rl_core::env::Space::discrete(2).unwrap())
    }
    fn action_space(&self) -> &rl_core::env::Space {
        self.observation_space()
    }
    fn reset(
        &mut self,
        _: Option<u64>,
        _: Option<&serde_json::Value>,
    ) -> Result<(Value, rl_core::env::Info), EnvError> {
        Ok((Value::Discrete(0), Default::default()))
    }
    fn step(&mut self, _: &Value) -> Result<rl_core::env::StepResult, EnvError> {
        Err(EnvError::Other("never".into()))
    }
}
