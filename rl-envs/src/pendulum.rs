//! Pendulum, ported from Gymnasium 1.2's `gymnasium/envs/classic_control/pendulum.py`.

use std::f64::consts::PI;

use rl_core::env::registry::kwargs;
use rl_core::env::{Env, EnvError, Info, Space, StepOutcome, StepResult, Value};
use rl_core::Rng;

use crate::common::{self, Phase};

const MAX_SPEED: f64 = 8.0;
const MAX_TORQUE: f32 = 2.0;
const DT: f64 = 0.05;
const M: f64 = 1.0;
const L: f64 = 1.0;
const DEFAULT_X: f64 = PI;
const DEFAULT_Y: f64 = 1.0;

/// NumPy's float64 `%` (Python's modulo: the result has the divisor's sign).
#[inline]
fn py_mod(a: f64, b: f64) -> f64 {
    let m = a % b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m + b
        } else {
            m
        }
    } else {
        0.0f64.copysign(b)
    }
}

/// `angle_normalize` of Gymnasium's pendulum.py: `((x + π) mod 2π) − π`.
#[inline]
fn angle_normalize(x: f64) -> f64 {
    py_mod(x + PI, 2.0 * PI) - PI
}

/// The inverted-pendulum swing-up task with Gymnasium 1.2's dynamics (`g` default 10),
/// observation space `Box(3)` (cos θ, sin θ, θ̇ in [−8, 8]; float32), action space
/// `Box(−2, 2, (1,))` (the torque, clipped), reward `−(θ² + 0.1·θ̇² + 0.001·u²)` with θ
/// normalized to [−π, π), no termination, reset state uniform in [−π, π] × [−1, 1] (reset
/// options `x_init`/`y_init`).
///
/// Registered as `Pendulum-v1` (200-step limit). As in Gymnasium under NumPy 2, the clipped
/// torque is a float32 scalar, so `0.001·u²` and `3/(m l²)·u` are computed in float32.
#[derive(Debug, Clone)]
pub struct PendulumEnv {
    state: [f64; 2],
    g: f64,
    rng: Rng,
    phase: Phase,
    obs_space: Space,
    act_space: Space,
}

impl Default for PendulumEnv {
    fn default() -> Self {
        Self::new(10.0)
    }
}

impl PendulumEnv {
    /// A Pendulum env with gravity `g` (Gymnasium's default is 10.0), its RNG seeded from
    /// OS entropy until `reset(Some(seed))`.
    pub fn new(g: f64) -> Self {
        Self::with_rng(g, common::new_rng(None))
    }

    /// A Pendulum env whose resets draw from `rng`.
    pub fn with_rng(g: f64, rng: Rng) -> Self {
        let high = [1.0f32, 1.0, MAX_SPEED as f32];
        Self {
            state: [0.0; 2],
            g,
            rng,
            phase: Phase::NeedsReset,
            obs_space: Space::Box {
                low: high.map(|h| -h).to_vec(),
                high: high.to_vec(),
                shape: vec![3],
            },
            act_space: Space::Box {
                low: vec![-MAX_TORQUE],
                high: vec![MAX_TORQUE],
                shape: vec![1],
            },
        }
    }

    /// Builds the env from `gymnasium.make` keyword arguments: `g` (number) and
    /// `render_mode` (null).
    pub fn from_kwargs(kw: &serde_json::Value) -> Result<Self, EnvError> {
        kwargs::check_keys("Pendulum", kw, &["g", "render_mode"])?;
        kwargs::no_render_mode("Pendulum", kw)?;
        let g = kwargs::f64_or(kw, "g", 10.0)?;
        if !g.is_finite() {
            return Err(EnvError::InvalidArgument {
                name: "g".into(),
                reason: format!("gravity must be finite, got {g}"),
            });
        }
        Ok(Self::new(g))
    }

    /// The float64 state `[theta, theta_dot]`.
    pub fn state(&self) -> [f64; 2] {
        self.state
    }

    /// Sets the float64 state `[theta, theta_dot]` and starts an episode from it (as if
    /// `reset` had produced it); returns its observation.
    pub fn set_state(&mut self, state: &[f64]) -> Result<Value, EnvError> {
        common::check_state("Pendulum", state, 2)?;
        self.state.copy_from_slice(state);
        self.phase = Phase::Running;
        Ok(Value::Box(self.obs().to_vec()))
    }

    #[inline]
    fn obs(&self) -> [f32; 3] {
        let [theta, thetadot] = self.state;
        [theta.cos() as f32, theta.sin() as f32, thetadot as f32]
    }

    fn do_reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
    ) -> Result<(), EnvError> {
        let x = common::reset_option(options, "x_init", DEFAULT_X)?;
        let y = common::reset_option(options, "y_init", DEFAULT_Y)?;
        if let Some(s) = seed {
            self.rng = common::new_rng(Some(s));
        }
        // np_random.uniform(low=-high, high=high) with high = [x, y]
        let th = common::uniform(&mut self.rng, -x, x);
        let thdot = common::uniform(&mut self.rng, -y, y);
        self.state = [th, thdot];
        self.phase = Phase::Running;
        Ok(())
    }

    /// Gymnasium's step; returns the reward.
    fn physics(&mut self, action0: f32) -> f64 {
        let [th, thdot] = self.state;
        // u = np.clip(u, -max_torque, max_torque)[0]: a float32 scalar.
        let u = action0.clamp(-MAX_TORQUE, MAX_TORQUE);
        let an = angle_normalize(th);
        // 0.001 * (u**2) is float32 (NEP 50: the Python float takes u's type).
        let torque_cost = 0.001f32 * (u * u);
        let costs = an * an + 0.1 * (thdot * thdot) + torque_cost as f64;
        // 3.0 / (m * l**2) * u is float32 as well.
        let torque_acc = (3.0 / (M * (L * L))) as f32 * u;
        let newthdot = thdot + (3.0 * self.g / (2.0 * L) * th.sin() + torque_acc as f64) * DT;
        let newthdot = newthdot.clamp(-MAX_SPEED, MAX_SPEED);
        let newth = th + newthdot * DT;
        self.state = [newth, newthdot];
        -costs
    }
}

impl Env for PendulumEnv {
    common::flat_env_io!(3);

    fn step_into(&mut self, action: &Value, obs_out: &mut [f32]) -> Result<StepOutcome, EnvError> {
        self.phase.check_step()?;
        let a = common::box1_action(action, &self.act_space)?;
        if a.is_nan() {
            return Err(EnvError::InvalidAction {
                action: action.clone(),
                space: self.act_space.clone(),
            });
        }
        if obs_out.len() != 3 {
            return Err(common::obs_len_error(obs_out.len(), 3));
        }
        let reward = self.physics(a);
        obs_out.copy_from_slice(&self.obs());
        Ok(StepOutcome {
            reward,
            terminated: false,
            truncated: false,
            info: Info::new(),
        })
    }

    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        common::save("Pendulum", (self.state, self.g), self.phase, &self.rng)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        let ((s, g), phase, rng): (([f64; 2], f64), _, _) = common::load("Pendulum", state)?;
        self.state = s;
        self.g = g;
        self.phase = phase;
        self.rng = rng;
        Ok(())
    }
}
