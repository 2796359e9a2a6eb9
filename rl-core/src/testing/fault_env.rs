//! An env that fails on purpose, for fault-tolerance tests: it panics, returns an error,
//! emits a NaN observation or reward, or sleeps past a timeout, at chosen steps of chosen
//! env instances.
//!
//! Faults are pinned to an *instance* (the order in which the registration's factory built
//! the env: runners build their envs in a fixed order, so this is deterministic) and to a
//! step of that instance's life (counted over all its episodes, from 1). A runner rebuilt
//! after a failure builds new instances, which do not repeat the fault unless planned.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng as _, SeedableRng};

use crate::env::Env;
use crate::env::{register, EnvError, EnvRegistration, Info, Space, StepResult, Value};
use crate::Rng;

/// What goes wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// `step` panics.
    Panic,
    /// `step` returns an error.
    Error,
    /// The step's observation is NaN.
    NanObs,
    /// The step's reward is NaN.
    NanReward,
    /// `step` sleeps this long first (past a `sample_timeout_s`), then steps normally.
    Hang(Duration),
}

/// One planned fault.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fault {
    /// The env instance (0 for the first one the factory built).
    pub instance: usize,
    /// The step of that instance's life (from 1, over all its episodes).
    pub at_step: u64,
    /// What goes wrong.
    pub kind: FaultKind,
}

/// A fault-injecting env's recipe.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultEnvSpec {
    /// Episode length (terminated after it); `None`: episodes never end.
    pub episode_len: Option<u64>,
    /// Planned faults.
    pub faults: Vec<Fault>,
}

/// A walk on a line: action 1 moves right, 0 left, with a little noise from the env's RNG;
/// reward 1 per step plus the position. Observations: `[position, steps / 1000]`.
#[derive(Debug)]
pub struct FaultEnv {
    spec: FaultEnvSpec,
    instance: usize,
    lifetime_steps: u64,
    episode_steps: u64,
    pos: f32,
    rng: Rng,
    running: bool,
    obs_space: Space,
    act_space: Space,
}

impl FaultEnv {
    /// Instance `instance` of the env described by `spec`.
    pub fn new(spec: FaultEnvSpec, instance: usize) -> Result<Self, EnvError> {
        Ok(FaultEnv {
            spec,
            instance,
            lifetime_steps: 0,
            episode_steps: 0,
            pos: 0.0,
            rng: Rng::seed_from_u64(0),
            running: false,
            obs_space: Space::box_uniform(-1e6, 1e6, vec![2])?,
            act_space: Space::discrete(2)?,
        })
    }

    fn obs(&self) -> Vec<f32> {
        vec![self.pos, self.episode_steps as f32 / 1000.0]
    }
}

impl Env for FaultEnv {
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
        if let Some(seed) = seed {
            self.rng = Rng::seed_from_u64(seed);
        }
        self.pos = self.rng.gen_range(-0.05..0.05);
        self.episode_steps = 0;
        self.running = true;
        Ok((Value::Box(self.obs()), Info::new()))
    }

    fn step(&mut self, action: &Value) -> Result<StepResult, EnvError> {
        if !self.running {
            return Err(EnvError::StepAfterDone);
        }
        let a = match action {
            Value::Discrete(a @ 0..=1) => *a,
            other => {
                return Err(EnvError::InvalidAction {
                    action: other.clone(),
                    space: self.act_space.clone(),
                })
            }
        };
        self.lifetime_steps += 1;
        self.episode_steps += 1;
        let fault = self
            .spec
            .faults
            .iter()
            .find(|f| f.instance == self.instance && f.at_step == self.lifetime_steps)
            .map(|f| f.kind);
        match fault {
            // Panicking on purpose is what this test env is for.
            Some(FaultKind::Panic) => panic!(
                "FaultEnv instance {} panics at step {} (planned)",
                self.instance, self.lifetime_steps
            ),
            Some(FaultKind::Error) => {
                return Err(EnvError::Other(format!(
                    "FaultEnv instance {} fails at step {} (planned)",
                    self.instance, self.lifetime_steps
                )))
            }
            Some(FaultKind::Hang(d)) => std::thread::sleep(d),
            _ => {}
        }
        let noise: f32 = self.rng.gen_range(-0.01..0.01);
        self.pos += if a == 1 { 0.02 } else { -0.02 } + noise;
        let mut obs = self.obs();
        let mut reward = 1.0 + f64::from(self.pos);
        match fault {
            Some(FaultKind::NanObs) => obs[0] = f32::NAN,
            Some(FaultKind::NanReward) => reward = f64::NAN,
            _ => {}
        }
        let terminated = self
            .spec
            .episode_len
            .is_some_and(|n| self.episode_steps >= n);
        self.running = !terminated;
        Ok(StepResult {
            obs: Value::Box(obs),
            reward,
            terminated,
            truncated: false,
            info: Info::new(),
        })
    }
}

/// Registers `name` as a [`FaultEnv`] following `spec` (its own instance counter: use a
/// name per test). `max_episode_steps` wraps it in a time limit, as any registration.
pub fn register_fault_env(name: &str, spec: FaultEnvSpec, max_episode_steps: Option<u64>) {
    let counter = Arc::new(AtomicUsize::new(0));
    let mut reg = EnvRegistration::new(name, move |_config| {
        let instance = counter.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(FaultEnv::new(spec.clone(), instance)?) as Box<dyn Env>)
    });
    if let Some(n) = max_episode_steps {
        reg = reg.max_episode_steps(n);
    }
    register(reg);
}
