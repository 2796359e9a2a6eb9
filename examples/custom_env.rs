//! A custom environment: a room thermostat.
//!
//! The room's temperature drifts toward the outside temperature; the agent sets the
//! heater's power in [0, 1] (a continuous action, clipped as Gymnasium's envs do) and is
//! rewarded for keeping the temperature near a target. Overheating past 35 °C ends the
//! episode (`terminated`); the registry's time limit cuts it after 200 steps (`truncated`).
//!
//! The example implements [`Env`], registers the env by name, checks it with `check_env`,
//! runs 8 copies under a `SyncVectorEnv` with a simple bang-bang controller, and trains PPO
//! on it for a few iterations. `docs/custom_env.md` walks through it, quoting it (a test
//! checks the quotes).
//!
//! `cargo run --release --example custom_env`

use rl::core::env::{rng_from_json, rng_to_json, SyncVectorEnv};
use rl::prelude::*;

/// The thermostat env. State: room temperature (°C) and the target (°C).
struct Thermostat {
    temp: f64,
    target: f64,
    outside: f64,
    rng: Rng,
    /// `reset` has been called at least once.
    started: bool,
    /// The current episode terminated.
    done: bool,
    obs_space: Space,
    act_space: Space,
}

impl Thermostat {
    /// `outside` is the outside temperature, a keyword argument of the registered env.
    fn new(outside: f64) -> Self {
        Self {
            temp: 0.0,
            target: 0.0,
            outside,
            rng: Rng::seed_from_u64(0),
            started: false,
            done: false,
            // Observation: [temperature, target], both in [-50, 50] °C.
            obs_space: Space::box_uniform(-50.0, 50.0, vec![2]).expect("valid bounds"),
            // Action: heater power in [0, 1].
            act_space: Space::box_uniform(0.0, 1.0, vec![1]).expect("valid bounds"),
        }
    }

    fn obs(&self) -> Value {
        Value::Box(vec![self.temp as f32, self.target as f32])
    }
}

impl Env for Thermostat {
    fn observation_space(&self) -> &Space {
        &self.obs_space
    }

    fn action_space(&self) -> &Space {
        &self.act_space
    }

    fn reset(
        &mut self,
        seed: Option<u64>,
        _options: Option<&serde_json::Value>,
    ) -> Result<(Value, Info), EnvError> {
        if let Some(s) = seed {
            self.rng = Rng::seed_from_u64(s);
        }
        self.temp = self.rng.gen_range(10.0..25.0);
        self.target = self.rng.gen_range(18.0..24.0);
        self.started = true;
        self.done = false;
        Ok((self.obs(), Info::new()))
    }

    fn step(&mut self, action: &Value) -> Result<StepResult, EnvError> {
        if !self.started {
            return Err(EnvError::StepBeforeReset);
        }
        if self.done {
            return Err(EnvError::StepAfterDone);
        }
        let power = match action {
            // Clip, as Gymnasium's continuous envs do; NaN is rejected.
            Value::Box(v) if v.len() == 1 && !v[0].is_nan() => v[0].clamp(0.0, 1.0) as f64,
            _ => {
                return Err(EnvError::InvalidAction {
                    action: action.clone(),
                    space: self.act_space.clone(),
                })
            }
        };
        // Heat from the heater, loss toward the outside, a little noise.
        let noise: f64 = self.rng.gen_range(-0.05..0.05);
        self.temp += power - 0.05 * (self.temp - self.outside) + noise;
        self.temp = self.temp.clamp(-50.0, 50.0);
        let terminated = self.temp > 35.0;
        let reward = if terminated {
            -100.0
        } else {
            -(self.temp - self.target).abs()
        };
        let mut info = Info::new();
        info.insert("power".into(), power.into());
        self.done = terminated;
        Ok(StepResult {
            obs: self.obs(),
            reward,
            terminated,
            truncated: false,
            info,
        })
    }

    fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        Ok(json!({
            "temp": self.temp, "target": self.target,
            "started": self.started, "done": self.done,
            "rng": rng_to_json(&self.rng)?,
        }))
    }

    fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        let num = |k: &str| {
            state[k].as_f64().ok_or_else(|| EnvError::InvalidArgument {
                name: k.into(),
                reason: "missing from the saved state; pass what save_state returned".into(),
            })
        };
        self.temp = num("temp")?;
        self.target = num("target")?;
        self.started = state["started"].as_bool().unwrap_or(false);
        self.done = state["done"].as_bool().unwrap_or(false);
        self.rng = rng_from_json(&state["rng"])?;
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Register the env by name, with a 200-step time limit and a keyword argument.
    register(
        EnvRegistration::new("Thermostat-v0", |kwargs| {
            rl::core::env::registry::kwargs::check_keys("Thermostat", kwargs, &["outside"])?;
            let outside = rl::core::env::registry::kwargs::f64_or(kwargs, "outside", 5.0)?;
            Ok(Box::new(Thermostat::new(outside)) as Box<dyn Env>)
        })
        .max_episode_steps(200),
    );

    // 2. Check it as Gymnasium's env checker would (on a freshly built env).
    let mut env = make("Thermostat-v0", &json!({"outside": 5.0}))?;
    let violations = check_env(&mut *env);
    if violations.is_empty() {
        println!("check_env: Thermostat-v0 passes");
    } else {
        for v in &violations {
            println!("check_env: {v}");
        }
        return Err(format!("{} violations", violations.len()).into());
    }

    // 3. Run 8 copies together with same-step autoreset and a bang-bang controller.
    let mut venv = SyncVectorEnv::make("Thermostat-v0", &json!({"outside": 5.0}), 8)?;
    let reset = venv.reset(Some(42), None)?;
    let d = reset.obs_dim;
    let mut obs = reset.obs.to_vec();
    let mut returns = [0.0; 8];
    let mut finished = Vec::new();
    let mut actions = vec![Value::Box(vec![0.0]); 8];
    for _ in 0..1000 {
        for (a, o) in actions.iter_mut().zip(obs.chunks(d)) {
            // Heat when below target.
            *a = Value::Box(vec![if o[0] < o[1] { 1.0 } else { 0.0 }]);
        }
        let r = venv.step(&actions)?;
        for (i, ret) in returns.iter_mut().enumerate() {
            *ret += r.rewards[i];
            if let Some(final_obs) = r.final_obs(i) {
                // The true last observation; row i of r.obs is already the next episode's.
                finished.push((*ret, final_obs[0]));
                *ret = 0.0;
            }
        }
        obs.copy_from_slice(r.obs);
    }
    let mean = finished.iter().map(|(g, _)| g).sum::<f64>() / finished.len() as f64;
    println!(
        "{} episodes finished; mean return {mean:.1}; final temperature of the first: {:.2} °C",
        finished.len(),
        finished[0].1
    );

    // 4. Train PPO on it, by name as any registered env (its keyword arguments in
    //    `env_config`).
    let mut algo = PPOConfig::new()
        .environment_with_config("Thermostat-v0", json!({"outside": 5.0}))
        .env_runners(|r| r.num_env_runners(1))
        .training(|t| t.train_batch_size(400).minibatch_size(100).num_epochs(4))
        .rl_module(|m| m.fcnet_hiddens(vec![32, 32]))
        .build()?;
    for _ in 0..3 {
        let result = algo.train()?;
        println!(
            "PPO iteration {}: episode_return_mean {:.1}",
            result["training_iteration"], result["env_runners"]["episode_return_mean"]
        );
    }
    Ok(())
}
