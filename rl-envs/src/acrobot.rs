//! Acrobot, ported from Gymnasium 1.2's `gymnasium/envs/classic_control/acrobot.py`.

use std::f64::consts::PI;

use rl_core::env::registry::kwargs;
use rl_core::env::{Env, EnvError, Info, Space, StepOutcome, StepResult, Value};
use rl_core::Rng;

use crate::common::{self, Phase};

const DT: f64 = 0.2;
const LINK_LENGTH_1: f64 = 1.0;
const LINK_MASS_1: f64 = 1.0;
const LINK_MASS_2: f64 = 1.0;
const LINK_COM_POS_1: f64 = 0.5;
const LINK_COM_POS_2: f64 = 0.5;
const LINK_MOI: f64 = 1.0;
const MAX_VEL_1: f64 = 4.0 * PI;
const MAX_VEL_2: f64 = 9.0 * PI;
const AVAIL_TORQUE: [f64; 3] = [-1.0, 0.0, 1.0];

/// The two-link underactuated robot swing-up task (Sutton 1996) with Gymnasium 1.2's
/// dynamics ("book" equations, RK4 over dt = 0.2 s in float64), observation space `Box(6)`
/// (cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂; float32), action space `Discrete(3)` (torque
/// −1, 0, +1), reward −1 per step and 0 on the terminating step, termination when the tip
/// rises above the bar (−cos θ₁ − cos(θ₁ + θ₂) > 1), reset state uniform in (−0.1, 0.1)⁴
/// rounded to float32 (reset options `low`/`high`).
///
/// Registered as `Acrobot-v1` (500-step limit).
#[derive(Debug, Clone)]
pub struct AcrobotEnv {
    state: [f64; 4],
    rng: Rng,
    phase: Phase,
    obs_space: Space,
    act_space: Space,
}

impl Default for AcrobotEnv {
    fn default() -> Self {
        Self::new()
    }
}

/// `wrap(x, m, M)` of Gymnasium's acrobot.py.
#[inline]
fn wrap(mut x: f64, m: f64, big_m: f64) -> f64 {
    let diff = big_m - m;
    while x > big_m {
        x -= diff;
    }
    while x < m {
        x += diff;
    }
    x
}

/// `bound(x, m, M)` = Python's `min(max(x, m), M)`.
#[inline]
fn bound(x: f64, m: f64, big_m: f64) -> f64 {
    let y = if m > x { m } else { x };
    if big_m < y {
        big_m
    } else {
        y
    }
}

/// `_dsdt` of Gymnasium's acrobot.py ("book" dynamics); `s` is the state augmented with
/// the torque. Each expression keeps Python's evaluation order, for bit-exact results.
#[inline]
fn dsdt(s: &[f64; 5]) -> [f64; 5] {
    let m1 = LINK_MASS_1;
    let m2 = LINK_MASS_2;
    let l1 = LINK_LENGTH_1;
    let lc1 = LINK_COM_POS_1;
    let lc2 = LINK_COM_POS_2;
    let i1 = LINK_MOI;
    let i2 = LINK_MOI;
    let g = 9.8;
    let a = s[4];
    let theta1 = s[0];
    let theta2 = s[1];
    let dtheta1 = s[2];
    let dtheta2 = s[3];
    let cos_t2 = theta2.cos();
    let sin_t2 = theta2.sin();
    let d1 = m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * cos_t2) + i1 + i2;
    let d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos_t2) + i2;
    let phi2 = m2 * lc2 * g * (theta1 + theta2 - PI / 2.0).cos();
    let phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin_t2
        - 2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin_t2
        + (m1 * lc1 + m2 * l1) * g * (theta1 - PI / 2.0).cos()
        + phi2;
    let ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin_t2 - phi2)
        / (m2 * (lc2 * lc2) + i2 - (d2 * d2) / d1);
    let ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}

#[inline]
fn axpy(y: &[f64; 5], a: f64, k: &[f64; 5]) -> [f64; 5] {
    std::array::from_fn(|i| y[i] + a * k[i])
}

/// One RK4 step over `[0, DT]`, as Gymnasium's `rk4(derivs, y0, [0, dt])`.
#[inline]
fn rk4(y0: &[f64; 5]) -> [f64; 4] {
    let dt = DT - 0.0;
    let dt2 = dt / 2.0;
    let k1 = dsdt(y0);
    let k2 = dsdt(&axpy(y0, dt2, &k1));
    let k3 = dsdt(&axpy(y0, dt2, &k2));
    let k4 = dsdt(&axpy(y0, dt, &k3));
    std::array::from_fn(|i| y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]))
}

impl AcrobotEnv {
    /// An Acrobot env, its RNG seeded from OS entropy until `reset(Some(seed))`.
    pub fn new() -> Self {
        Self::with_rng(common::new_rng(None))
    }

    /// An Acrobot env whose resets draw from `rng`.
    pub fn with_rng(rng: Rng) -> Self {
        let high = [1.0f32, 1.0, 1.0, 1.0, MAX_VEL_1 as f32, MAX_VEL_2 as f32];
        Self {
            state: [0.0; 4],
            rng,
            phase: Phase::NeedsReset,
            obs_space: Space::Box {
                low: high.map(|h| -h).to_vec(),
                high: high.to_vec(),
                shape: vec![6],
            },
            act_space: Space::Discrete { n: 3, start: 0 },
        }
    }

    /// Builds the env from `gymnasium.make` keyword arguments: only `render_mode` (null).
    pub fn from_kwargs(kw: &serde_json::Value) -> Result<Self, EnvError> {
        kwargs::check_keys("Acrobot", kw, &["render_mode"])?;
        kwargs::no_render_mode("Acrobot", kw)?;
        Ok(Self::new())
    }

    /// The float64 state `[theta1, theta2, dtheta1, dtheta2]`.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Sets the float64 state `[theta1, theta2, dtheta1, dtheta2]` and starts an episode
    /// from it (as if `reset` had produced it); returns its observation.
    pub fn set_state(&mut self, state: &[f64]) -> Result<Value, EnvError> {
        common::check_state("Acrobot", state, 4)?;
        self.state.copy_from_slice(state);
        self.phase = Phase::Running;
        Ok(Value::Box(self.obs().to_vec()))
    }

    #[inline]
    fn obs(&self) -> [f32; 6] {
        let s = &self.state;
        [
            s[0].cos() as f32,
            s[0].sin() as f32,
            s[1].cos() as f32,
            s[1].sin() as f32,
            s[2] as f32,
            s[3] as f32,
        ]
    }

    fn do_reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
    ) -> Result<(), EnvError> {
        let (low, high) = common::reset_bounds(options, -0.1, 0.1)?;
        if let Some(s) = seed {
            self.rng = common::new_rng(Some(s));
        }
        for v in self.state.iter_mut() {
            *v = common::uniform(&mut self.rng, low, high) as f32 as f64;
        }
        self.phase = Phase::Running;
        Ok(())
    }

    fn physics(&mut self, action: i64) -> (f64, bool) {
        let torque = AVAIL_TORQUE[action as usize];
        let s = self.state;
        let ns = rk4(&[s[0], s[1], s[2], s[3], torque]);
        self.state = [
            wrap(ns[0], -PI, PI),
            wrap(ns[1], -PI, PI),
            bound(ns[2], -MAX_VEL_1, MAX_VEL_1),
            bound(ns[3], -MAX_VEL_2, MAX_VEL_2),
        ];
        let s = self.state;
        let terminated = -s[0].cos() - (s[1] + s[0]).cos() > 1.0;
        if terminated {
            self.phase = Phase::Done;
        }
        (if terminated { 0.0 } else { -1.0 }, terminated)
    }
}

impl Env for AcrobotEnv {
    common::flat_env_io!(6);

    fn step_into(&mut self, action: &Value, obs_out: &mut [f32]) -> Result<StepOutcome, EnvError> {
        self.phase.check_step()?;
        let a = common::discrete_action(action, 3, &self.act_space)?;
        if obs_out.len() != 6 {
            return Err(common::obs_len_error(obs_out.len(), 6));
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

    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        common::save("Acrobot", self.state, self.phase, &self.rng)
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        let (s, phase, rng): ([f64; 4], _, _) = common::load("Acrobot", state)?;
        self.state = s;
        self.phase = phase;
        self.rng = rng;
        Ok(())
    }
}
