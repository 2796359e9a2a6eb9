//! An env built from arbitrary bytes, for property tests and fuzzing of [`check_env`]:
//! its spaces (possibly invalid), observations (possibly of the wrong kind, length or
//! range, NaN), rewards (possibly NaN or infinite), flags, panics and errors all come
//! from the bytes. Every episode ends after the scripted steps, so the checker's search
//! for an episode's end is short.
//!
//! [`check_env`]: crate::env::check_env

use crate::env::{Env, EnvError, Info, Space, StepResult, Value};

/// Reads bytes; zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn f32(&mut self) -> f32 {
        const PICKS: [f32; 10] = [
            0.0,
            1.0,
            -1.0,
            0.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            1e30,
            -1e30,
            f32::MIN_POSITIVE,
        ];
        PICKS[usize::from(self.u8()) % PICKS.len()]
    }

    fn space(&mut self) -> Space {
        match self.u8() % 3 {
            0 => Space::Discrete {
                n: i64::from(self.u8()) - 2,
                start: i64::from(self.u8() as i8),
            },
            _ => {
                let dim = usize::from(self.u8() % 5);
                let low: Vec<f32> = (0..dim).map(|_| self.f32()).collect();
                let high: Vec<f32> = (0..dim).map(|_| self.f32()).collect();
                let shape = match self.u8() % 4 {
                    0 => vec![dim + 1],
                    1 => vec![dim, 1],
                    _ => vec![dim],
                };
                Space::Box { low, high, shape }
            }
        }
    }

    fn value(&mut self) -> Value {
        match self.u8() % 3 {
            0 => Value::Discrete(i64::from(self.u8() as i8)),
            _ => {
                let len = usize::from(self.u8() % 6);
                Value::Box((0..len).map(|_| self.f32()).collect())
            }
        }
    }
}

/// What one scripted step does.
#[derive(Clone, Debug)]
enum Outcome {
    Step(StepResult),
    Panic,
    Error,
}

/// The env [`ScriptedEnv::from_bytes`] builds.
#[derive(Clone, Debug)]
pub struct ScriptedEnv {
    obs_space: Space,
    act_space: Space,
    reset_obs: Value,
    reset_fails: bool,
    steps: Vec<Outcome>,
    at: usize,
    started: bool,
    saves_state: bool,
}

impl ScriptedEnv {
    /// The env these bytes describe (any bytes describe one).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut b = Bytes(bytes);
        let obs_space = b.space();
        let act_space = b.space();
        let reset_obs = b.value();
        let flags = b.u8();
        let n = 1 + usize::from(b.u8() % 24);
        let steps = (0..n)
            .map(|_| match b.u8() % 16 {
                0 => Outcome::Panic,
                1 => Outcome::Error,
                _ => {
                    let reward = f64::from(b.f32());
                    let bits = b.u8();
                    Outcome::Step(StepResult {
                        obs: b.value(),
                        reward,
                        terminated: bits & 1 != 0,
                        truncated: bits & 2 != 0,
                        info: Info::new(),
                    })
                }
            })
            .collect();
        ScriptedEnv {
            obs_space,
            act_space,
            reset_obs,
            reset_fails: flags & 1 != 0 && flags & 2 != 0,
            steps,
            at: 0,
            started: false,
            saves_state: flags & 4 != 0,
        }
    }
}

impl Env for ScriptedEnv {
    fn observation_space(&self) -> &Space {
        &self.obs_space
    }

    fn action_space(&self) -> &Space {
        &self.act_space
    }

    fn reset(
        &mut self,
        _seed: Option<u64>,
        _options: Option<&serde_json::Value>,
    ) -> Result<(Value, Info), EnvError> {
        if self.reset_fails {
            return Err(EnvError::Other("scripted reset failure".into()));
        }
        self.at = 0;
        self.started = true;
        Ok((self.reset_obs.clone(), Info::new()))
    }

    fn step(&mut self, _action: &Value) -> Result<StepResult, EnvError> {
        if !self.started {
            return Err(EnvError::StepBeforeReset);
        }
        let i = self.at;
        self.at += 1;
        match self.steps.get(i) {
            // The script is over: the episode ends here.
            None => Ok(StepResult {
                obs: self.reset_obs.clone(),
                reward: 0.0,
                terminated: true,
                truncated: false,
                info: Info::new(),
            }),
            Some(Outcome::Step(r)) => Ok(r.clone()),
            Some(Outcome::Error) => Err(EnvError::Other("scripted step failure".into())),
            // A scripted panic is what this env is for: the checker must catch it.
            Some(Outcome::Panic) => panic!("scripted panic at step {}", i + 1),
        }
    }

    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        if self.saves_state {
            Ok(serde_json::json!(self.at))
        } else {
            Err(EnvError::Unsupported("save_state".into()))
        }
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        match state.as_u64() {
            Some(at) if self.saves_state => {
                self.at = usize::try_from(at).unwrap_or(usize::MAX);
                Ok(())
            }
            _ => Err(EnvError::Unsupported("load_state".into())),
        }
    }
}
