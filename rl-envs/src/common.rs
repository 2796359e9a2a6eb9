//! Pieces shared by the classic-control envs.

use rand::{Rng as _, SeedableRng};
use serde::{Deserialize, Serialize};

use rl_core::env::{EnvError, Space, Value};
use rl_core::Rng;

/// Where an env is in its episode, to turn misuse into errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Phase {
    /// Never reset.
    NeedsReset,
    /// An episode is running.
    Running,
    /// The episode terminated; `reset` must come next.
    Done,
}

impl Phase {
    #[inline(always)]
    pub(crate) fn check_step(self) -> Result<(), EnvError> {
        match self {
            Phase::Running => Ok(()),
            Phase::NeedsReset => Err(EnvError::StepBeforeReset),
            Phase::Done => Err(EnvError::StepAfterDone),
        }
    }
}

/// A fresh RNG: from `seed` if given, else from OS entropy (as Gymnasium's unseeded
/// `np_random`).
pub(crate) fn new_rng(seed: Option<u64>) -> Rng {
    match seed {
        Some(s) => Rng::seed_from_u64(s),
        None => Rng::from_entropy(),
    }
}

/// `np_random.uniform(low, high)`: `low + (high − low) · U[0, 1)` in float64.
#[inline]
pub(crate) fn uniform(rng: &mut Rng, low: f64, high: f64) -> f64 {
    low + (high - low) * rng.gen::<f64>()
}

/// The integer of a `Discrete(n)` action, or `InvalidAction`.
#[inline(always)]
pub(crate) fn discrete_action(action: &Value, n: i64, space: &Space) -> Result<i64, EnvError> {
    match action {
        Value::Discrete(a) if (0..n).contains(a) => Ok(*a),
        _ => Err(EnvError::InvalidAction {
            action: action.clone(),
            space: space.clone(),
        }),
    }
}

/// The single float of a `Box` action of shape `(1,)`, unclipped, or `InvalidAction`.
#[inline]
pub(crate) fn box1_action(action: &Value, space: &Space) -> Result<f32, EnvError> {
    match action {
        Value::Box(v) if v.len() == 1 => Ok(v[0]),
        _ => Err(EnvError::InvalidAction {
            action: action.clone(),
            space: space.clone(),
        }),
    }
}

/// The error for an observation buffer of the wrong length.
#[cold]
pub(crate) fn obs_len_error(got: usize, want: usize) -> EnvError {
    EnvError::InvalidArgument {
        name: "obs_out".into(),
        reason: format!(
            "the observation buffer has length {got} but this env's observations have {want} elements; pass a slice of length observation_space().flat_dim()"
        ),
    }
}

/// Copies `obs` into `out`, checking the length.
#[inline]
pub(crate) fn write_obs(out: &mut [f32], obs: &[f32]) -> Result<(), EnvError> {
    if out.len() != obs.len() {
        return Err(obs_len_error(out.len(), obs.len()));
    }
    out.copy_from_slice(obs);
    Ok(())
}

/// A number from a reset option, as Gymnasium's `utils.verify_number_and_cast`.
fn option_number(options: &serde_json::Value, key: &str, default: f64) -> Result<f64, EnvError> {
    match options.get(key) {
        None => Ok(default),
        Some(v) => v.as_f64().ok_or_else(|| EnvError::InvalidArgument {
            name: key.into(),
            reason: format!("reset option `{key}` must be a number, got {v}"),
        }),
    }
}

/// Gymnasium's `utils.maybe_parse_reset_bounds`: the reset options `low` and `high`.
pub(crate) fn reset_bounds(
    options: Option<&serde_json::Value>,
    default_low: f64,
    default_high: f64,
) -> Result<(f64, f64), EnvError> {
    let Some(options) = options else {
        return Ok((default_low, default_high));
    };
    if options.is_null() {
        return Ok((default_low, default_high));
    }
    if !options.is_object() {
        return Err(EnvError::InvalidArgument {
            name: "options".into(),
            reason: format!("reset options must be a JSON object such as {{\"low\": -0.1, \"high\": 0.1}}, got {options}"),
        });
    }
    let low = option_number(options, "low", default_low)?;
    let high = option_number(options, "high", default_high)?;
    if low > high {
        return Err(EnvError::InvalidArgument {
            name: "low".into(),
            reason: format!(
                "reset option low ({low}) is greater than high ({high}); pass low <= high"
            ),
        });
    }
    Ok((low, high))
}

/// Reads one reset option number (for Pendulum's `x_init` / `y_init`).
pub(crate) fn reset_option(
    options: Option<&serde_json::Value>,
    key: &str,
    default: f64,
) -> Result<f64, EnvError> {
    match options {
        None | Some(serde_json::Value::Null) => Ok(default),
        Some(o) if o.is_object() => option_number(o, key, default),
        Some(o) => Err(EnvError::InvalidArgument {
            name: "options".into(),
            reason: format!("reset options must be a JSON object, got {o}"),
        }),
    }
}

/// Checks a state vector's length for `set_state`, and that it is finite.
pub(crate) fn check_state(env: &str, state: &[f64], len: usize) -> Result<(), EnvError> {
    if state.len() != len {
        return Err(EnvError::InvalidArgument {
            name: "state".into(),
            reason: format!("{env} has a state of {len} numbers, got {}", state.len()),
        });
    }
    if let Some(i) = state.iter().position(|x| !x.is_finite()) {
        return Err(EnvError::InvalidArgument {
            name: "state".into(),
            reason: format!("state[{i}] = {} is not finite", state[i]),
        });
    }
    Ok(())
}

/// A state saved by `save_state`, common to the classic-control envs.
#[derive(Serialize, Deserialize)]
pub(crate) struct Saved<S> {
    pub(crate) env: String,
    pub(crate) state: S,
    pub(crate) phase: Phase,
    pub(crate) rng: serde_json::Value,
}

pub(crate) fn save<S: Serialize>(
    env: &str,
    state: S,
    phase: Phase,
    rng: &Rng,
) -> Result<serde_json::Value, EnvError> {
    let saved = Saved {
        env: env.to_string(),
        state,
        phase,
        rng: rl_core::env::rng_to_json(rng)?,
    };
    serde_json::to_value(saved)
        .map_err(|e| EnvError::Other(format!("could not serialize the {env} state: {e}")))
}

pub(crate) fn load<S: serde::de::DeserializeOwned>(
    env: &str,
    value: &serde_json::Value,
) -> Result<(S, Phase, Rng), EnvError> {
    let saved: Saved<S> =
        serde_json::from_value(value.clone()).map_err(|e| EnvError::InvalidArgument {
            name: "state".into(),
            reason: format!("not a {env} state saved by save_state: {e}"),
        })?;
    if saved.env != env {
        return Err(EnvError::InvalidArgument {
            name: "state".into(),
            reason: format!("this state was saved by {}, not {env}", saved.env),
        });
    }
    let rng = rl_core::env::rng_from_json(&saved.rng)?;
    Ok((saved.state, saved.phase, rng))
}

/// The [`Env`](rl_core::env::Env) methods every classic-control env writes alike, for an
/// env with `obs_space` and `act_space` fields, `do_reset(seed, options)` and
/// `obs() -> [f32; N]`: the spaces, `reset` and `reset_into` (through `do_reset`), and `step`
/// (through the env's own `step_into`). Each env then writes only `step_into` and its state.
macro_rules! flat_env_io {
    ($n:literal) => {
        fn observation_space(&self) -> &Space {
            &self.obs_space
        }

        fn action_space(&self) -> &Space {
            &self.act_space
        }

        fn reset(
            &mut self,
            seed: Option<u64>,
            options: Option<&serde_json::Value>,
        ) -> Result<(Value, Info), EnvError> {
            self.do_reset(seed, options)?;
            Ok((Value::Box(self.obs().to_vec()), Info::new()))
        }

        fn step(&mut self, action: &Value) -> Result<StepResult, EnvError> {
            let mut obs = [0.0f32; $n];
            let out = self.step_into(action, &mut obs)?;
            Ok(out.with_obs(Value::Box(obs.to_vec())))
        }

        #[inline]
        fn reset_into(
            &mut self,
            seed: Option<u64>,
            options: Option<&serde_json::Value>,
            obs_out: &mut [f32],
        ) -> Result<Info, EnvError> {
            self.do_reset(seed, options)?;
            common::write_obs(obs_out, &self.obs())?;
            Ok(Info::new())
        }
    };
}
pub(crate) use flat_env_io;
