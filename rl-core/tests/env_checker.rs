//! `check_env` on a correct env and on deliberately broken ones.

mod env_common;

use env_common::{Bugs, Walk};
use rl_core::env::{check_env, Env, EnvError, Info, Space, StepResult, Value, Violation};

fn checks(v: &[Violation]) -> Vec<&'static str> {
    let mut c: Vec<_> = v.iter().map(|v| v.check).collect();
    c.dedup();
    c
}

#[test]
fn correct_env_passes() {
    let v = check_env(&mut Walk::new(6));
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn correct_env_passes_under_time_limit() {
    let mut env = rl_core::env::TimeLimit::new(Walk::new(50), 10).unwrap();
    let v = check_env(&mut env);
    assert!(v.is_empty(), "{v:#?}");
}

fn expect(bugs: Bugs, check: &str) {
    let v = check_env(&mut Walk::buggy(6, bugs));
    assert!(
        v.iter().any(|v| v.check == check),
        "{bugs:?}: expected a `{check}` violation, got {:?}",
        checks(&v)
    );
    for x in &v {
        assert!(!x.message.is_empty());
        assert!(x.to_string().contains(x.check));
    }
}

#[test]
fn obs_out_of_space() {
    let b = Bugs {
        obs_out_of_space: true,
        ..Default::default()
    };
    expect(b, "reset_obs_in_space");
    expect(b, "step_obs_in_space");
}

#[test]
fn wrong_obs_len() {
    expect(
        Bugs {
            wrong_obs_len: true,
            ..Default::default()
        },
        "reset_obs_in_space",
    );
}

#[test]
fn panics_on_bad_action() {
    expect(
        Bugs {
            panic_on_bad_action: true,
            ..Default::default()
        },
        "invalid_action_errors",
    );
}

#[test]
fn ignores_seed() {
    expect(
        Bugs {
            ignores_seed: true,
            ..Default::default()
        },
        "reset_seed_determinism",
    );
}

/// One bug, one line: an observation out of space at every step of the 100-step
/// trajectory is reported once per check, with its count and first step.
#[test]
fn each_violation_kind_is_reported_once_with_count_and_first_step() {
    let bugs = Bugs {
        obs_out_of_space: true,
        nan_reward: true,
        ..Default::default()
    };
    let v = check_env(&mut Walk::buggy(1000, bugs));
    let mut kinds: Vec<_> = v.iter().map(|v| v.check).collect();
    let n = kinds.len();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), n, "a check reported twice: {v:#?}");
    let step = v.iter().find(|v| v.check == "step_obs_in_space").unwrap();
    assert!(step.count >= 50, "{step:?}");
    assert_eq!(step.first_step, Some(1));
    assert!(
        step.to_string().contains("times, first at step 1"),
        "{step}"
    );
    let reward = v.iter().find(|v| v.check == "reward_finite").unwrap();
    assert_eq!(reward.first_step, Some(1));
    assert_eq!(reward.count, step.count);
}

#[test]
fn nan_reward() {
    expect(
        Bugs {
            nan_reward: true,
            ..Default::default()
        },
        "reward_finite",
    );
}

#[test]
fn truncates_at_once() {
    expect(
        Bugs {
            truncates_at_once: true,
            ..Default::default()
        },
        "not_truncated_after_one_step",
    );
}

#[test]
fn step_before_reset_ok() {
    expect(
        Bugs {
            step_before_reset_ok: true,
            ..Default::default()
        },
        "step_before_reset_errors",
    );
}

#[test]
fn step_after_done_ok() {
    expect(
        Bugs {
            step_after_done_ok: true,
            ..Default::default()
        },
        "step_after_done_errors",
    );
}

#[test]
fn nondeterministic_step() {
    expect(
        Bugs {
            nondeterministic_step: true,
            ..Default::default()
        },
        "step_determinism",
    );
}

#[test]
fn load_state_noop() {
    expect(
        Bugs {
            load_state_noop: true,
            ..Default::default()
        },
        "save_load_state",
    );
}

/// An env with an invalid space, a `step_into` that disagrees with `step`, and a Box
/// action space that rejects out-of-bounds actions instead of clipping them.
struct Inconsistent {
    obs: Space,
    act: Space,
}

impl Env for Inconsistent {
    fn observation_space(&self) -> &Space {
        &self.obs
    }
    fn action_space(&self) -> &Space {
        &self.act
    }
    fn reset(
        &mut self,
        _: Option<u64>,
        _: Option<&serde_json::Value>,
    ) -> Result<(Value, Info), EnvError> {
        Ok((Value::Discrete(0), Info::new()))
    }
    fn step(&mut self, action: &Value) -> Result<StepResult, EnvError> {
        if !self.act.contains(action) {
            return Err(EnvError::InvalidAction {
                action: action.clone(),
                space: self.act.clone(),
            });
        }
        Ok(StepResult {
            obs: Value::Discrete(1),
            reward: 0.0,
            terminated: false,
            truncated: false,
            info: Info::new(),
        })
    }
    fn step_into(
        &mut self,
        _: &Value,
        obs_out: &mut [f32],
    ) -> Result<rl_core::env::StepOutcome, EnvError> {
        obs_out.fill(0.0);
        Ok(Default::default())
    }
}

#[test]
fn inconsistent_env() {
    let mut env = Inconsistent {
        obs: Space::discrete(3).unwrap(),
        act: Space::box_uniform(-1.0, 1.0, vec![1]).unwrap(),
    };
    let c = checks(&check_env(&mut env));
    assert!(c.contains(&"step_before_reset_errors"), "{c:?}");
    assert!(c.contains(&"step_into_matches_step"), "{c:?}");
    assert!(c.contains(&"box_action_clipped"), "{c:?}");
}

#[test]
fn invalid_space() {
    let mut env = Inconsistent {
        obs: Space::Discrete { n: 0, start: 0 },
        act: Space::discrete(2).unwrap(),
    };
    assert_eq!(
        checks(&check_env(&mut env)),
        vec!["observation_space_valid"]
    );
}
