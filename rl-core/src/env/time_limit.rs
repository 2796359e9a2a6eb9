//! The time limit `gymnasium.make` wraps every registered env in (`max_episode_steps`).

use super::{Env, EnvError, Info, Space, StepOutcome, StepResult, Value};

/// Truncates episodes after `max_episode_steps` steps, as Gymnasium's `TimeLimit` wrapper
/// that `gymnasium.make` applies: the step that reaches the limit returns `truncated = true`
/// (and may also return `terminated = true`, when the MDP ended on that very step).
///
/// It also enforces the order of calls as Gymnasium's `OrderEnforcing` does: `step` before
/// the first `reset`, or after a step that returned `terminated` or `truncated`, is an error.
#[derive(Debug, Clone)]
pub struct TimeLimit<E> {
    env: E,
    max_episode_steps: u64,
    elapsed_steps: u64,
    needs_reset: bool,
}

impl<E: Env> TimeLimit<E> {
    /// Wraps `env` so its episodes end (truncated) after `max_episode_steps` steps.
    ///
    /// Errors when `max_episode_steps` is 0.
    pub fn new(env: E, max_episode_steps: u64) -> Result<Self, EnvError> {
        if max_episode_steps == 0 {
            return Err(EnvError::InvalidArgument {
                name: "max_episode_steps".into(),
                reason: "must be at least 1; to run without a time limit, do not wrap the env"
                    .into(),
            });
        }
        Ok(Self {
            env,
            max_episode_steps,
            elapsed_steps: 0,
            needs_reset: true,
        })
    }

    /// The step limit.
    pub fn max_episode_steps(&self) -> u64 {
        self.max_episode_steps
    }

    /// Steps taken in the current episode.
    pub fn elapsed_steps(&self) -> u64 {
        self.elapsed_steps
    }

    /// The wrapped env.
    pub fn inner(&self) -> &E {
        &self.env
    }

    /// The wrapped env, mutably (e.g. to set a built-in env's physics state). Changing the
    /// episode from under the wrapper does not reset its step count.
    pub fn inner_mut(&mut self) -> &mut E {
        &mut self.env
    }

    /// Unwraps the env.
    pub fn into_inner(self) -> E {
        self.env
    }

    /// Marks an episode as started without calling `reset` on the inner env (step count
    /// 0), e.g. after setting a built-in env's state directly for a conformance test.
    pub fn start_episode(&mut self) {
        self.elapsed_steps = 0;
        self.needs_reset = false;
    }

    #[inline]
    fn before_step(&self) -> Result<(), EnvError> {
        if self.needs_reset {
            if self.elapsed_steps == 0 {
                return Err(EnvError::StepBeforeReset);
            }
            return Err(EnvError::StepAfterDone);
        }
        Ok(())
    }

    #[inline]
    fn after_step(&mut self, terminated: bool, truncated: &mut bool) {
        self.elapsed_steps += 1;
        if self.elapsed_steps >= self.max_episode_steps {
            *truncated = true;
        }
        if terminated || *truncated {
            self.needs_reset = true;
        }
    }
}

impl<E: Env> Env for TimeLimit<E> {
    fn observation_space(&self) -> &Space {
        self.env.observation_space()
    }

    fn action_space(&self) -> &Space {
        self.env.action_space()
    }

    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
    ) -> Result<(Value, Info), EnvError> {
        let out = self.env.reset(seed, options)?;
        self.start_episode();
        Ok(out)
    }

    fn step(&mut self, action: &Value) -> Result<StepResult, EnvError> {
        self.before_step()?;
        let mut r = self.env.step(action)?;
        self.after_step(r.terminated, &mut r.truncated);
        Ok(r)
    }

    #[inline]
    fn step_into(&mut self, action: &Value, obs_out: &mut [f32]) -> Result<StepOutcome, EnvError> {
        self.before_step()?;
        let mut r = self.env.step_into(action, obs_out)?;
        self.after_step(r.terminated, &mut r.truncated);
        Ok(r)
    }

    fn reset_into(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
        obs_out: &mut [f32],
    ) -> Result<Info, EnvError> {
        let info = self.env.reset_into(seed, options, obs_out)?;
        self.start_episode();
        Ok(info)
    }

    /// `{"time_limit": {...}, "env": <the inner env's state>}`.
    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        Ok(serde_json::json!({
            "time_limit": {
                "max_episode_steps": self.max_episode_steps,
                "elapsed_steps": self.elapsed_steps,
                "needs_reset": self.needs_reset,
            },
            "env": self.env.save_state()?,
        }))
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        let bad = |what: &str| EnvError::InvalidArgument {
            name: "state".into(),
            reason: format!("{what}; pass a value returned by TimeLimit::save_state"),
        };
        let tl = state
            .get("time_limit")
            .ok_or_else(|| bad("missing `time_limit`"))?;
        let elapsed = tl
            .get("elapsed_steps")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| bad("missing or non-integer `time_limit.elapsed_steps`"))?;
        let needs_reset = tl
            .get("needs_reset")
            .and_then(|v| v.as_bool())
            .ok_or_else(|| bad("missing or non-boolean `time_limit.needs_reset`"))?;
        let inner = state.get("env").ok_or_else(|| bad("missing `env`"))?;
        self.env.load_state(inner)?;
        self.elapsed_steps = elapsed;
        self.needs_reset = needs_reset;
        Ok(())
    }
}
