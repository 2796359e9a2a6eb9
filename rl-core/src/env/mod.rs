//! The environment wing: spaces, the [`Env`] trait (Gymnasium's contract), the time limit,
//! the registry, vectorized envs and the env checker.

#![warn(missing_docs)]

pub mod checker;
pub mod registry;
pub mod space;
pub mod time_limit;
pub mod vector;

pub use checker::{check_env, Violation};
pub use registry::{
    make, register, register_env, registered_envs, registration, EnvRegistration, EnvSpec,
    RegistrationInfo,
};
pub use space::{Space, Value};
pub use time_limit::TimeLimit;
pub use vector::{SyncVectorEnv, VectorEnv, VectorReset, VectorStep};

/// Extra information an env returns from `reset` and `step`, as Gymnasium's `info` dict.
/// An empty map does not allocate.
pub type Info = serde_json::Map<String, serde_json::Value>;

/// What one [`Env::step`] returns, as Gymnasium's `(obs, reward, terminated, truncated, info)`.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    /// The observation after the step.
    pub obs: Value,
    /// The reward for the step (float64, as Gymnasium).
    pub reward: f64,
    /// The episode reached a terminal state of the MDP (no bootstrapping past it).
    pub terminated: bool,
    /// The episode was cut short from outside the MDP, e.g. by the time limit.
    /// Both flags may be true on the same step.
    pub truncated: bool,
    /// Extra information.
    pub info: Info,
}

/// What [`Env::step_into`] returns besides the observation it writes: a [`StepResult`]
/// without its `obs`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepOutcome {
    /// The reward for the step (float64, as Gymnasium).
    pub reward: f64,
    /// The episode reached a terminal state of the MDP.
    pub terminated: bool,
    /// The episode was cut short from outside the MDP, e.g. by the time limit.
    pub truncated: bool,
    /// Extra information.
    pub info: Info,
}

impl StepOutcome {
    /// The full [`StepResult`] with the observation `obs` (what [`Env::step`] returns).
    pub fn with_obs(self, obs: Value) -> StepResult {
        StepResult {
            obs,
            reward: self.reward,
            terminated: self.terminated,
            truncated: self.truncated,
            info: self.info,
        }
    }
}

/// Errors from environments: misuse of the contract or bad input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// `step` was called before the first `reset`.
    #[error("step() called before reset(): call reset() first to start an episode")]
    StepBeforeReset,
    /// `step` was called after the episode had terminated or been truncated.
    #[error("step() called after the episode ended (terminated or truncated): call reset() to start a new one")]
    StepAfterDone,
    /// The action is not an element of the action space.
    #[error("action {action:?} is not in the action space {space:?}")]
    InvalidAction {
        /// The action given.
        action: Value,
        /// The env's action space.
        space: Space,
    },
    /// A constructor argument or option is invalid.
    #[error("invalid argument `{name}`: {reason}")]
    InvalidArgument {
        /// The argument's name.
        name: String,
        /// What was wrong and how to fix it.
        reason: String,
    },
    /// No env is registered under this name.
    #[error("no env registered as `{name}`; registered names: {registered:?}")]
    UnknownEnv {
        /// The name asked for.
        name: String,
        /// Every registered name.
        registered: Vec<String>,
    },
    /// The env does not support an optional operation (e.g. saving its state).
    #[error("{0} is not supported by this env")]
    Unsupported(String),
    /// Any other failure, with a message that says what went wrong.
    #[error("{0}")]
    Other(String),
}

/// A reinforcement-learning environment with Gymnasium's contract.
///
/// `reset` starts an episode; `step` advances it. Calling `step` before `reset`, after the
/// episode ended, or with an action outside the action space returns an [`EnvError`], never
/// panics. Continuous actions outside a `Box` action space are clipped, as Gymnasium's envs do.
pub trait Env: Send {
    /// The space observations live in.
    fn observation_space(&self) -> &Space;
    /// The space actions live in.
    fn action_space(&self) -> &Space;
    /// Starts a new episode. `Some(seed)` reseeds the env's RNG first (as Gymnasium's
    /// `reset(seed=...)`); `None` continues from the current RNG state.
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
    ) -> Result<(Value, Info), EnvError>;
    /// Takes one step with `action`.
    fn step(&mut self, action: &Value) -> Result<StepResult, EnvError>;
    /// Allocation-free form of [`Env::step`]: takes one step with `action` and writes the
    /// observation, flattened as [`Space::flatten_into`] does (one-hot for `Discrete`), into
    /// `obs_out`, whose length must be `observation_space().flat_dim()`.
    ///
    /// The default calls [`Env::step`] and flattens its observation; envs on a hot path
    /// override it to skip the observation's allocation. Both must behave identically
    /// ([`check_env`] compares them).
    fn step_into(&mut self, action: &Value, obs_out: &mut [f32]) -> Result<StepOutcome, EnvError> {
        let r = self.step(action)?;
        self.observation_space().flatten_into(&r.obs, obs_out)?;
        Ok(StepOutcome {
            reward: r.reward,
            terminated: r.terminated,
            truncated: r.truncated,
            info: r.info,
        })
    }
    /// Allocation-free form of [`Env::reset`]: writes the flattened first observation into
    /// `obs_out` (length `observation_space().flat_dim()`) and returns the info.
    fn reset_into(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
        obs_out: &mut [f32],
    ) -> Result<Info, EnvError> {
        let (obs, info) = self.reset(seed, options)?;
        self.observation_space().flatten_into(&obs, obs_out)?;
        Ok(info)
    }
    /// The env's full internal state (physics and RNG), for checkpoints.
    /// Envs that cannot save themselves keep this default.
    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        Err(EnvError::Unsupported("save_state".into()))
    }
    /// Restores a state returned by [`Env::save_state`].
    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        let _ = state;
        Err(EnvError::Unsupported("load_state".into()))
    }
}

impl<E: Env + ?Sized> Env for Box<E> {
    fn observation_space(&self) -> &Space {
        (**self).observation_space()
    }
    fn action_space(&self) -> &Space {
        (**self).action_space()
    }
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
    ) -> Result<(Value, Info), EnvError> {
        (**self).reset(seed, options)
    }
    fn step(&mut self, action: &Value) -> Result<StepResult, EnvError> {
        (**self).step(action)
    }
    fn step_into(&mut self, action: &Value, obs_out: &mut [f32]) -> Result<StepOutcome, EnvError> {
        (**self).step_into(action, obs_out)
    }
    fn reset_into(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
        obs_out: &mut [f32],
    ) -> Result<Info, EnvError> {
        (**self).reset_into(seed, options, obs_out)
    }
    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        (**self).save_state()
    }
    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        (**self).load_state(state)
    }
}

/// Serializes an env's RNG for [`Env::save_state`]. `Pcg64` holds 128-bit integers, which
/// `serde_json::Value` cannot, so the RNG is stored as a JSON string.
pub fn rng_to_json(rng: &crate::Rng) -> Result<serde_json::Value, EnvError> {
    serde_json::to_string(rng)
        .map(serde_json::Value::String)
        .map_err(|e| EnvError::Other(format!("could not serialize the RNG: {e}")))
}

/// Restores an RNG saved by [`rng_to_json`].
pub fn rng_from_json(value: &serde_json::Value) -> Result<crate::Rng, EnvError> {
    let s = value.as_str().ok_or_else(|| EnvError::InvalidArgument {
        name: "rng".into(),
        reason: format!("expected the string rng_to_json returns, got {value}"),
    })?;
    serde_json::from_str(s).map_err(|e| EnvError::InvalidArgument {
        name: "rng".into(),
        reason: format!("not an RNG saved by rng_to_json: {e}"),
    })
}
