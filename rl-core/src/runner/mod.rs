//! The sampling wing: env runners and the group that runs them on threads.

pub mod env_runner;
pub mod group;

pub use env_runner::{EnvRunner, EnvRunnerSpec, EnvRunnerState, SampleOutput};
pub use group::{fault_tolerance_keys, EnvRunnerGroup, FaultTolerance};

use crate::connectors::ConnectorError;
use crate::env::EnvError;
use crate::module::ModuleError;

/// Errors while sampling.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// An env failed.
    #[error("env: {0}")]
    Env(#[from] EnvError),
    /// A connector failed.
    #[error("connector: {0}")]
    Connector(#[from] ConnectorError),
    /// The module failed.
    #[error("module: {0}")]
    Module(#[from] ModuleError),
    /// The env and the module do not fit together.
    #[error("{0}")]
    Mismatch(String),
    /// An env runner panicked (in its env, connectors or policy); caught and reported
    /// instead of propagated.
    #[error("env runner {index} panicked: {message}")]
    Panicked {
        /// The runner's index.
        index: usize,
        /// The panic's message.
        message: String,
    },
    /// An env produced a NaN or infinite reward or observation.
    #[error("env `{env}` (env runner {runner}, sub-env {sub_env}) returned a non-finite {what} ({value}) at step {step} of the sample call; fix the env (envs must return finite numbers)")]
    NonFinite {
        /// The env's registered name.
        env: String,
        /// The runner's index.
        runner: usize,
        /// The sub-env.
        sub_env: usize,
        /// `"reward"`, `"observation"`, `"final observation"` or `"reset observation"`.
        what: &'static str,
        /// The value.
        value: f64,
        /// Vector steps taken in the sample call when it happened (0: at reset).
        step: usize,
    },
    /// A sample call ran past `sample_timeout_s`.
    #[error("env `{env}` (env runner {runner}): the sample call ran past sample_timeout_s = {timeout_s} s after {steps} env steps; raise sample_timeout_s or lower rollout_fragment_length if the env is just slow")]
    SampleTimeout {
        /// The env's registered name.
        env: String,
        /// The runner's index.
        runner: usize,
        /// Env steps taken in the call.
        steps: usize,
        /// The timeout.
        timeout_s: f64,
    },
    /// Evaluation by episodes in which no episode ended within the timeout: the env's
    /// episodes apparently never end.
    #[error("env `{env}` (evaluation env runner {runner}): no episode ended within {timeout_s} s ({steps} env steps), so evaluation by episodes would never end; register the env with a time limit (EnvRegistration::max_episode_steps, or `max_episode_steps` in env_config), or evaluate by timesteps (evaluation_duration_unit = \"timesteps\")")]
    EpisodeNeverEnds {
        /// The env's registered name.
        env: String,
        /// The runner's index.
        runner: usize,
        /// Env steps taken.
        steps: usize,
        /// The timeout.
        timeout_s: f64,
    },
    /// Env runners failed in more consecutive sample calls than tolerated.
    #[error("env runners failed in {failures} consecutive sample calls (num_consecutive_env_runner_failures_tolerance = {tolerance}); the last failure: {last}")]
    TooManyFailures {
        /// Consecutive calls with a failure.
        failures: usize,
        /// The tolerance.
        tolerance: usize,
        /// The last failure.
        last: String,
    },
    /// Every env runner failed and none could be rebuilt.
    #[error("no healthy env runner is left (restart_failed_env_runners = {restart}, max_num_env_runner_restarts = {max_restarts}); the last failure: {last}")]
    NoHealthyEnvRunners {
        /// Whether failed runners are rebuilt.
        restart: bool,
        /// Rebuilds allowed per runner.
        max_restarts: usize,
        /// The last failure.
        last: String,
    },
}

impl RunnerError {
    /// Whether retrying with a rebuilt runner cannot help (an env whose episodes never
    /// end), so fault tolerance passes the error on at once.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            RunnerError::EpisodeNeverEnds { .. }
                | RunnerError::TooManyFailures { .. }
                | RunnerError::NoHealthyEnvRunners { .. }
        )
    }
}
