//! The environment wing: spaces, the [`Env`] trait (Gymnasium's contract), the time limit,
//! the registry, vectorized envs and the env checker.

pub mod space;

pub use space::{Space, Value};

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
