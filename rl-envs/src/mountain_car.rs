//! MountainCar (discrete actions), ported from Gymnasium 1.2's
//! `gymnasium/envs/classic_control/mountain_car.py`.

use rl_core::env::registry::kwargs;
use rl_core::env::{Env, EnvError, Info, Space, StepOutcome, StepResult, Value};
use rl_core::Rng;

use crate::common::{self, Phase};

const MIN_POSITION: f64 = -1.2;
const MAX_POSITION: f64 = 0.6;
const MAX_SPEED: f64 = 0.07;
const GOAL_POSITION: f64 = 0.5;
const FORCE: f64 = 0.001;
const GRAVITY: f64 = 0.0025;

/// The mountain-car task (Moore 1990) with Gymnasium 1.2's dynamics, observation space
/// `Box(2)` (position in [−1.2, 0.6], velocity in [−0.07, 0.07]; float32), action space
/// `Discrete(3)` (accelerate left, none, right), reward −1 per step, termination when
/// position ≥ 0.5 and velocity ≥ `goal_velocity` (default 0), reset position uniform in
/// (−0.6, −0.4) with velocity 0 (reset options `low`/`high`).
///
/// Registered as `MountainCar-v0` (200-step limit). The state is float64, as in Gymnasium.
#[derive(Debug, Clone)]
pub struct MountainCarEnv {
    state: [f64; 2],
    goal_velocity: f64,
    rng: Rng,
    phase: Phase,
    obs_space: Space,
    act_space: Space,
}

impl Default for MountainCarEnv {
    fn default() -> Self {
        Self::new(0.0)
    }
}

impl MountainCarEnv {
    /// A MountainCar env with the given goal velocity (Gymnasium's default is 0), its RNG
    /// seeded from OS entropy until `reset(Some(seed))`.
    pub fn new(goal_velocity: f64) -> Self {
        Self::with_rng(goal_velocity, common::new_rng(None))
    }

    /// A MountainCar env whose resets draw from `rng`.
    pub fn with_rng(goal_velocity: f64, rng: Rng) -> Self {
        Self {
            state: [0.0; 2],
            goal_velocity,
            rng,
            phase: Phase::NeedsReset,
            obs_space: Space::Box {
                low: vec![MIN_POSITION as f32, -MAX_SPEED as f32],
                high: vec![MAX_POSITION as f32, MAX_SPEED as f32],
                shape: vec![2],
            },
            act_space: Space::Discrete { n: 3, start: 0 },
        }
    }

    /// Builds the env from `gymnasium.make` keyword arguments: `goal_velocity` (number)
    /// and `render_mode` (null).
    pub fn from_kwargs(kw: &serde_json::Value) -> Result<Self, EnvError> {
        kwargs::check_keys("MountainCar", kw, &["goal_velocity", "render_mode"])?;
        kwargs::no_render_mode("MountainCar", kw)?;
        Ok(Self::new(kwargs::f64_or(kw, "goal_velocity", 0.0)?))
    }

    /// The float64 state `[position, velocity]`.
    pub fn state(&self) -> [f64; 2] {
        self.state
    }

    /// Sets the float64 state `[position, velocity]` and starts an episode from it (as if
    /// `reset` had produced it); returns its observation.
    pub fn set_state(&mut self, state: &[f64]) -> Result<Value, EnvError> {
        common::check_state("MountainCar", state, 2)?;
        self.state.copy_from_slice(state);
        self.phase = Phase::Running;
        Ok(Value::Box(self.obs().to_vec()))
    }

    #[inline]
    fn obs(&self) -> [f32; 2] {
        self.state.map(|v| v as f32)
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
        self.state = [common::uniform(&mut self.rng, low, high), 0.0];
        self.phase = Phase::Running;
        Ok(())
    }

    fn physics(&mut self, action: i64) -> bool {
        let [mut position, mut velocity] = self.state;
        velocity += (action - 1) as f64 * FORCE + (3.0 * position).cos() * (-GRAVITY);
        velocity = velocity.clamp(-MAX_SPEED, MAX_SPEED);
        position += velocity;
        position = position.clamp(MIN_POSITION, MAX_POSITION);
        if position == MIN_POSITION && velocity < 0.0 {
            velocity = 0.0;
        }
        let terminated = position >= GOAL_POSITION && velocity >= self.goal_velocity;
        self.state = [position, velocity];
        if terminated {
            self.phase = Phase::Done;
        }
        terminated
    }
}

impl Env for MountainCarEnv {
    common::flat_env_io!(2);

    fn step_into(&mut self, action: &Value, obs_out: &mut [f32]) -> Result<StepOutcome, EnvError> {
        self.phase.check_step()?;
        let a = common::discrete_action(action, 3, &self.act_space)?;
        if obs_out.len() != 2 {
            return Err(common::obs_len_error(obs_out.len(), 2));
        }
        let terminated = self.physics(a);
        obs_out.copy_from_slice(&self.obs());
        Ok(StepOutcome {
            reward: -1.0,
            terminated,
            truncated: false,
            info: Info::new(),
        })
    }

    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        common::save(
            "MountainCar",
            (self.state, self.goal_velocity),
            self.phase,
            &self.rng,
        )
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        let ((s, gv), phase, rng): (([f64; 2], f64), _, _) = common::load("MountainCar", state)?;
        self.state = s;
        self.goal_velocity = gv;
        self.phase = phase;
        self.rng = rng;
        Ok(())
    }
}
