//! CartPole, ported from Gymnasium 1.2's `gymnasium/envs/classic_control/cartpole.py`.

use rl_core::env::registry::kwargs;
use rl_core::env::{Env, EnvError, Info, Space, StepOutcome, StepResult, Value};
use rl_core::Rng;

use crate::common::{self, Phase};

const GRAVITY: f64 = 9.8;
const MASSCART: f64 = 1.0;
const MASSPOLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASSPOLE + MASSCART;
const LENGTH: f64 = 0.5; // half the pole's length
const POLEMASS_LENGTH: f64 = MASSPOLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
/// 12 degrees, computed as Gymnasium does (`12 * 2 * math.pi / 360`).
const THETA_THRESHOLD_RADIANS: f64 = 24.0 * std::f64::consts::PI / 360.0;
const X_THRESHOLD: f64 = 2.4;

/// The cart-pole balancing task (Barto, Sutton and Anderson 1983) with Gymnasium 1.2's
/// physics (Euler integration, τ = 0.02 s), observation space `Box(4)` (cart position,
/// cart velocity, pole angle, pole angular velocity; float32), action space `Discrete(2)`
/// (push left, push right), reward +1 per step including the terminating one (or
/// Sutton–Barto's 0 / −1 with `sutton_barto_reward`), termination when |x| > 2.4 or
/// |θ| > 12°, and reset state uniform in (−0.05, 0.05)⁴ (reset options `low`/`high`).
///
/// Registered as `CartPole-v1` (500-step limit) and `CartPole-v0` (200). The physics state
/// is float64, as in Gymnasium; observations are its float32 rounding.
#[derive(Debug, Clone)]
pub struct CartPoleEnv {
    state: [f64; 4],
    rng: Rng,
    phase: Phase,
    sutton_barto_reward: bool,
    obs_space: Space,
    act_space: Space,
}

impl Default for CartPoleEnv {
    fn default() -> Self {
        Self::new(false)
    }
}

impl CartPoleEnv {
    /// A CartPole env; `sutton_barto_reward` selects the reward of the original
    /// implementation (0 per step, −1 on termination). Its RNG is seeded from OS entropy
    /// until `reset(Some(seed))`.
    pub fn new(sutton_barto_reward: bool) -> Self {
        Self::with_rng(sutton_barto_reward, common::new_rng(None))
    }

    /// A CartPole env whose resets draw from `rng`.
    pub fn with_rng(sutton_barto_reward: bool, rng: Rng) -> Self {
        let high = [
            (X_THRESHOLD * 2.0) as f32,
            f32::INFINITY,
            (THETA_THRESHOLD_RADIANS * 2.0) as f32,
            f32::INFINITY,
        ];
        let low = high.map(|h| -h);
        Self {
            state: [0.0; 4],
            rng,
            phase: Phase::NeedsReset,
            sutton_barto_reward,
            obs_space: Space::Box {
                low: low.to_vec(),
                high: high.to_vec(),
                shape: vec![4],
            },
            act_space: Space::Discrete { n: 2, start: 0 },
        }
    }

    /// Builds the env from `gymnasium.make` keyword arguments: `sutton_barto_reward`
    /// (bool) and `render_mode` (must be null).
    pub fn from_kwargs(kw: &serde_json::Value) -> Result<Self, EnvError> {
        kwargs::check_keys("CartPole", kw, &["sutton_barto_reward", "render_mode"])?;
        kwargs::no_render_mode("CartPole", kw)?;
        Ok(Self::new(kwargs::bool_or(
            kw,
            "sutton_barto_reward",
            false,
        )?))
    }

    /// The float64 physics state `[x, x_dot, theta, theta_dot]`.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Sets the float64 physics state `[x, x_dot, theta, theta_dot]` and starts an episode
    /// from it (as if `reset` had produced it); returns its observation. Errors when the
    /// state does not have 4 finite numbers.
    pub fn set_state(&mut self, state: &[f64]) -> Result<Value, EnvError> {
        common::check_state("CartPole", state, 4)?;
        self.state.copy_from_slice(state);
        self.phase = Phase::Running;
        Ok(Value::Box(self.obs().to_vec()))
    }

    #[inline]
    fn obs(&self) -> [f32; 4] {
        self.state.map(|v| v as f32)
    }

    #[inline]
    fn do_reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
    ) -> Result<(), EnvError> {
        let (low, high) = common::reset_bounds(options, -0.05, 0.05)?;
        if let Some(s) = seed {
            self.rng = common::new_rng(Some(s));
        }
        for v in self.state.iter_mut() {
            *v = common::uniform(&mut self.rng, low, high);
        }
        self.phase = Phase::Running;
        Ok(())
    }

    /// One step of the physics; returns (reward, terminated).
    #[inline(always)]
    fn physics(&mut self, action: i64) -> (f64, bool) {
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 { FORCE_MAG } else { -FORCE_MAG };
        let costheta = theta.cos();
        let sintheta = theta.sin();
        let temp = (force + POLEMASS_LENGTH * (theta_dot * theta_dot) * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (LENGTH * (4.0 / 3.0 - MASSPOLE * (costheta * costheta) / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;

        let x = x + TAU * x_dot;
        let x_dot = x_dot + TAU * xacc;
        let theta = theta + TAU * theta_dot;
        let theta_dot = theta_dot + TAU * thetaacc;
        self.state = [x, x_dot, theta, theta_dot];

        // Gymnasium's comparisons, kept as written (`!range.contains` differs on NaN).
        #[allow(clippy::manual_range_contains)]
        let terminated = x < -X_THRESHOLD
            || x > X_THRESHOLD
            || theta < -THETA_THRESHOLD_RADIANS
            || theta > THETA_THRESHOLD_RADIANS;
        let reward = match (terminated, self.sutton_barto_reward) {
            (false, false) => 1.0,
            (false, true) => 0.0,
            (true, false) => 1.0,
            (true, true) => -1.0,
        };
        if terminated {
            self.phase = Phase::Done;
        }
        (reward, terminated)
    }
}

impl Env for CartPoleEnv {
    common::flat_env_io!(4);

    #[inline(always)]
    fn step_into(&mut self, action: &Value, obs_out: &mut [f32]) -> Result<StepOutcome, EnvError> {
        self.phase.check_step()?;
        let a = common::discrete_action(action, 2, &self.act_space)?;
        if obs_out.len() != 4 {
            return Err(common::obs_len_error(obs_out.len(), 4));
        }
        let (reward, terminated) = self.physics(a);
        obs_out.copy_from_slice(&self.obs());
        Ok(StepOutcome {
            reward,
            terminated,
            truncated: false,
            info: Info::new(),
        })
    }

    #[inline]
    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        common::save(
            "CartPole",
            (self.state, self.sutton_barto_reward),
            self.phase,
            &self.rng,
        )
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        let ((s, sb), phase, rng): (([f64; 4], bool), _, _) = common::load("CartPole", state)?;
        self.state = s;
        self.sutton_barto_reward = sb;
        self.phase = phase;
        self.rng = rng;
        Ok(())
    }
}
