//! MountainCarContinuous, ported from Gymnasium 1.2's
//! `gymnasium/envs/classic_control/continuous_mountain_car.py`.
//!
//! Gymnasium stores this env's state as a float32 array after every step (its reset state
//! is float64), and NumPy 2 (NEP 50) computes `np.float32 ∘ Python float` in float32. To
//! reproduce Gymnasium bit for bit, the step below tracks the NumPy type of every
//! intermediate value with a private `Num` type.

use rl_core::env::registry::kwargs;
use rl_core::env::{Env, EnvError, Info, Space, StepOutcome, StepResult, Value};
use rl_core::Rng;
use serde::{Deserialize, Serialize};

use crate::common::{self, Phase};

const MIN_ACTION: f64 = -1.0;
const MAX_ACTION: f64 = 1.0;
const MIN_POSITION: f64 = -1.2;
const MAX_POSITION: f64 = 0.6;
const MAX_SPEED: f64 = 0.07;
const GOAL_POSITION: f64 = 0.45;
const POWER: f64 = 0.0015;

/// A scalar as NumPy 2 types it: a `np.float32`, a `np.float64`, or a Python float (which
/// is "weak": it takes the other operand's type, NEP 50).
#[derive(Clone, Copy, Debug)]
enum Num {
    F32(f32),
    F64(f64),
    Py(f64),
}

impl Num {
    #[inline]
    fn f64(self) -> f64 {
        match self {
            Num::F32(x) => x as f64,
            Num::F64(x) | Num::Py(x) => x,
        }
    }

    /// Applies a binary operation with NumPy 2's promotion rules.
    #[inline]
    fn op(self, other: Num, f32op: fn(f32, f32) -> f32, f64op: fn(f64, f64) -> f64) -> Num {
        match (self, other) {
            (Num::F32(a), Num::F32(b)) => Num::F32(f32op(a, b)),
            (Num::F32(a), Num::Py(b)) => Num::F32(f32op(a, b as f32)),
            (Num::Py(a), Num::F32(b)) => Num::F32(f32op(a as f32, b)),
            (Num::Py(a), Num::Py(b)) => Num::Py(f64op(a, b)),
            (a, b) => Num::F64(f64op(a.f64(), b.f64())),
        }
    }

    #[inline]
    fn add(self, o: Num) -> Num {
        self.op(o, |a, b| a + b, |a, b| a + b)
    }

    #[inline]
    fn sub(self, o: Num) -> Num {
        self.op(o, |a, b| a - b, |a, b| a - b)
    }

    #[inline]
    fn mul(self, o: Num) -> Num {
        self.op(o, |a, b| a * b, |a, b| a * b)
    }

    /// A comparison with NumPy 2's promotion rules (a Python float compared with a
    /// `np.float32` is rounded to float32 first).
    #[inline]
    fn cmp(self, other: Num, f: fn(f64, f64) -> bool) -> bool {
        match (self, other) {
            (Num::F32(a), Num::Py(b)) => f(a as f64, b as f32 as f64),
            (Num::Py(a), Num::F32(b)) => f(a as f32 as f64, b as f64),
            (a, b) => f(a.f64(), b.f64()),
        }
    }
}

/// The stored state: float64 right after a reset (or `set_state`), float32 after a step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct McState {
    position: f64,
    velocity: f64,
    is_f32: bool,
}

/// The continuous mountain-car task with Gymnasium 1.2's dynamics, observation space
/// `Box(2)` (position in [−1.2, 0.6], velocity in [−0.07, 0.07]; float32), action space
/// `Box(−1, 1, (1,))` (the force, clipped), reward `−0.1·a²` per step (the unclipped
/// action, as Gymnasium) plus 100 on reaching the goal, termination when position ≥ 0.45
/// and velocity ≥ `goal_velocity` (default 0), reset position uniform in (−0.6, −0.4) with
/// velocity 0 (reset options `low`/`high`).
///
/// Registered as `MountainCarContinuous-v0` (999-step limit). As in Gymnasium, the state
/// is float32 after each step and the step's arithmetic follows NumPy 2's float32 rules.
#[derive(Debug, Clone)]
pub struct ContinuousMountainCarEnv {
    state: McState,
    goal_velocity: f64,
    rng: Rng,
    phase: Phase,
    obs_space: Space,
    act_space: Space,
}

impl Default for ContinuousMountainCarEnv {
    fn default() -> Self {
        Self::new(0.0)
    }
}

impl ContinuousMountainCarEnv {
    /// A MountainCarContinuous env with the given goal velocity (default 0), its RNG
    /// seeded from OS entropy until `reset(Some(seed))`.
    pub fn new(goal_velocity: f64) -> Self {
        Self::with_rng(goal_velocity, common::new_rng(None))
    }

    /// A MountainCarContinuous env whose resets draw from `rng`.
    pub fn with_rng(goal_velocity: f64, rng: Rng) -> Self {
        Self {
            state: McState {
                position: 0.0,
                velocity: 0.0,
                is_f32: false,
            },
            goal_velocity,
            rng,
            phase: Phase::NeedsReset,
            obs_space: Space::Box {
                low: vec![MIN_POSITION as f32, -MAX_SPEED as f32],
                high: vec![MAX_POSITION as f32, MAX_SPEED as f32],
                shape: vec![2],
            },
            act_space: Space::Box {
                low: vec![MIN_ACTION as f32],
                high: vec![MAX_ACTION as f32],
                shape: vec![1],
            },
        }
    }

    /// Builds the env from `gymnasium.make` keyword arguments: `goal_velocity` (number)
    /// and `render_mode` (null).
    pub fn from_kwargs(kw: &serde_json::Value) -> Result<Self, EnvError> {
        kwargs::check_keys(
            "MountainCarContinuous",
            kw,
            &["goal_velocity", "render_mode"],
        )?;
        kwargs::no_render_mode("MountainCarContinuous", kw)?;
        Ok(Self::new(kwargs::f64_or(kw, "goal_velocity", 0.0)?))
    }

    /// The state `[position, velocity]` (float32 values after a step).
    pub fn state(&self) -> [f64; 2] {
        [self.state.position, self.state.velocity]
    }

    /// Sets the state `[position, velocity]` as float64 (as after a reset) and starts an
    /// episode from it; returns its observation.
    pub fn set_state(&mut self, state: &[f64]) -> Result<Value, EnvError> {
        common::check_state("MountainCarContinuous", state, 2)?;
        self.state = McState {
            position: state[0],
            velocity: state[1],
            is_f32: false,
        };
        self.phase = Phase::Running;
        Ok(Value::Box(self.obs().to_vec()))
    }

    #[inline]
    fn obs(&self) -> [f32; 2] {
        [self.state.position as f32, self.state.velocity as f32]
    }

    fn do_reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
    ) -> Result<(), EnvError> {
        let (low, high) = common::reset_bounds(options, -0.6, -0.4)?;
        if let Some(s) = seed {
            self.rng = common::new_rng(Some(s));
        }
        self.state = McState {
            position: common::uniform(&mut self.rng, low, high),
            velocity: 0.0,
            is_f32: false,
        };
        self.phase = Phase::Running;
        Ok(())
    }

    /// Gymnasium's step, typed as NumPy 2 types it; returns (reward, terminated).
    fn physics(&mut self, action0: f32) -> (f64, bool) {
        let s = self.state;
        let (mut position, mut velocity) = if s.is_f32 {
            (Num::F32(s.position as f32), Num::F32(s.velocity as f32))
        } else {
            (Num::F64(s.position), Num::F64(s.velocity))
        };
        // force = min(max(action[0], min_action), max_action): Python's builtins return one
        // of their arguments, so a clipped force is a Python float.
        let a = Num::F32(action0);
        let lo = Num::Py(MIN_ACTION);
        let hi = Num::Py(MAX_ACTION);
        let f = if lo.cmp(a, |x, y| x > y) { lo } else { a };
        let force = if hi.cmp(f, |x, y| x < y) { hi } else { f };

        // velocity += force * power - 0.0025 * math.cos(3 * position)
        let three_pos = Num::Py(3.0).mul(position);
        let cos = Num::Py(0.0025 * three_pos.f64().cos());
        velocity = velocity.add(force.mul(Num::Py(POWER)).sub(cos));
        let max_speed = Num::Py(MAX_SPEED);
        let neg_max_speed = Num::Py(-MAX_SPEED);
        if velocity.cmp(max_speed, |x, y| x > y) {
            velocity = max_speed;
        }
        if velocity.cmp(neg_max_speed, |x, y| x < y) {
            velocity = neg_max_speed;
        }
        position = position.add(velocity);
        let max_pos = Num::Py(MAX_POSITION);
        let min_pos = Num::Py(MIN_POSITION);
        if position.cmp(max_pos, |x, y| x > y) {
            position = max_pos;
        }
        if position.cmp(min_pos, |x, y| x < y) {
            position = min_pos;
        }
        if position.cmp(min_pos, |x, y| x == y) && velocity.cmp(Num::Py(0.0), |x, y| x < y) {
            velocity = Num::Py(0.0);
        }
        let terminated = position.cmp(Num::Py(GOAL_POSITION), |x, y| x >= y)
            && velocity.cmp(Num::Py(self.goal_velocity), |x, y| x >= y);

        let mut reward = 0.0;
        if terminated {
            reward = 100.0;
        }
        let a0 = action0 as f64;
        reward -= (a0 * a0) * 0.1;

        // self.state = np.array([position, velocity], dtype=np.float32)
        self.state = McState {
            position: position.f64() as f32 as f64,
            velocity: velocity.f64() as f32 as f64,
            is_f32: true,
        };
        if terminated {
            self.phase = Phase::Done;
        }
        (reward, terminated)
    }
}

impl Env for ContinuousMountainCarEnv {
    common::flat_env_io!(2);

    fn step_into(&mut self, action: &Value, obs_out: &mut [f32]) -> Result<StepOutcome, EnvError> {
        self.phase.check_step()?;
        let a = common::box1_action(action, &self.act_space)?;
        if a.is_nan() {
            return Err(EnvError::InvalidAction {
                action: action.clone(),
                space: self.act_space.clone(),
            });
        }
        if obs_out.len() != 2 {
            return Err(common::obs_len_error(obs_out.len(), 2));
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
        common::save(
            "MountainCarContinuous",
            (self.state, self.goal_velocity),
            self.phase,
            &self.rng,
        )
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        let ((s, gv), phase, rng): ((McState, f64), _, _) =
            common::load("MountainCarContinuous", state)?;
        self.state = s;
        self.goal_velocity = gv;
        self.phase = phase;
        self.rng = rng;
        Ok(())
    }
}
