//! A small test env with switchable bugs, shared by the env tests.

#![allow(dead_code)]

use rand::{Rng as _, SeedableRng};
use rl_core::env::{Env, EnvError, Info, Space, StepResult, Value};
use rl_core::Rng;

/// Deliberate contract violations.
#[derive(Clone, Copy, Debug, Default)]
pub struct Bugs {
    pub obs_out_of_space: bool,
    pub panic_on_bad_action: bool,
    pub ignores_seed: bool,
    pub nan_reward: bool,
    pub truncates_at_once: bool,
    pub step_before_reset_ok: bool,
    pub wrong_obs_len: bool,
    pub nondeterministic_step: bool,
    pub step_after_done_ok: bool,
    pub load_state_noop: bool,
}

/// A walk on `0..len`: action 1 moves right, 0 left; reaching `len − 1` terminates with
/// reward 1, every other step gives −0.1. Observations are `Box(2)`: position / len and a
/// noise term drawn from the env's RNG at each step. The start is random in `0..len/2`.
#[derive(Clone, Debug)]
pub struct Walk {
    pub len: i64,
    pos: i64,
    noise: f32,
    rng: Rng,
    started: bool,
    done: bool,
    obs_space: Space,
    act_space: Space,
    pub bugs: Bugs,
    counter: u64,
}

impl Walk {
    pub fn new(len: i64) -> Self {
        Self::buggy(len, Bugs::default())
    }

    pub fn buggy(len: i64, bugs: Bugs) -> Self {
        Self {
            len,
            pos: 0,
            noise: 0.0,
            rng: Rng::seed_from_u64(0),
            started: false,
            done: false,
            obs_space: Space::box_(vec![0.0, -1.0], vec![1.0, 1.0], vec![2]).unwrap(),
            act_space: Space::discrete(2).unwrap(),
            bugs,
            counter: 0,
        }
    }

    fn obs(&self) -> Value {
        let mut v = vec![self.pos as f32 / self.len as f32, self.noise];
        if self.bugs.obs_out_of_space {
            v[0] += 5.0;
        }
        if self.bugs.wrong_obs_len {
            v.push(0.0);
        }
        Value::Box(v)
    }
}

impl Env for Walk {
    fn observation_space(&self) -> &Space {
        &self.obs_space
    }

    fn action_space(&self) -> &Space {
        &self.act_space
    }

    fn reset(
        &mut self,
        seed: Option<u64>,
        _options: Option<&serde_json::Value>,
    ) -> Result<(Value, Info), EnvError> {
        self.counter += 1;
        match seed {
            Some(s) if !self.bugs.ignores_seed => self.rng = Rng::seed_from_u64(s),
            Some(_) => self.rng = Rng::seed_from_u64(self.counter),
            None => {}
        }
        self.pos = self.rng.gen_range(0..self.len / 2);
        self.noise = self.rng.gen_range(-1.0..1.0);
        self.started = true;
        self.done = false;
        Ok((self.obs(), Info::new()))
    }

    fn step(&mut self, action: &Value) -> Result<StepResult, EnvError> {
        if !self.started && !self.bugs.step_before_reset_ok {
            return Err(EnvError::StepBeforeReset);
        }
        if self.done && !self.bugs.step_after_done_ok {
            return Err(EnvError::StepAfterDone);
        }
        let a = match action {
            Value::Discrete(a) if (0..2).contains(a) => *a,
            _ if self.bugs.panic_on_bad_action => panic!("bad action {action:?}"),
            _ => {
                return Err(EnvError::InvalidAction {
                    action: action.clone(),
                    space: self.act_space.clone(),
                })
            }
        };
        self.counter += 1;
        self.pos = (self.pos + if a == 1 { 1 } else { -1 }).clamp(0, self.len - 1);
        self.noise = if self.bugs.nondeterministic_step {
            (self.counter as f32 * 0.37).sin()
        } else {
            self.rng.gen_range(-1.0..1.0)
        };
        let terminated = self.pos == self.len - 1;
        self.done = terminated;
        let mut reward = if terminated { 1.0 } else { -0.1 };
        if self.bugs.nan_reward {
            reward = f64::NAN;
        }
        let truncated = self.bugs.truncates_at_once;
        self.done |= truncated;
        Ok(StepResult {
            obs: self.obs(),
            reward,
            terminated,
            truncated,
            info: Info::new(),
        })
    }

    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        Ok(serde_json::json!({
            "pos": self.pos, "noise": self.noise, "started": self.started, "done": self.done,
            "rng": rl_core::env::rng_to_json(&self.rng)?,
        }))
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        if self.bugs.load_state_noop {
            return Ok(());
        }
        let bad = || EnvError::InvalidArgument {
            name: "state".into(),
            reason: "not a Walk state".into(),
        };
        self.pos = state["pos"].as_i64().ok_or_else(bad)?;
        self.noise = state["noise"].as_f64().ok_or_else(bad)? as f32;
        self.started = state["started"].as_bool().ok_or_else(bad)?;
        self.done = state["done"].as_bool().ok_or_else(bad)?;
        self.rng = rl_core::env::rng_from_json(&state["rng"])?;
        Ok(())
    }
}
