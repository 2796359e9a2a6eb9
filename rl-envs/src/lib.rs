//! `rl-envs`: Gymnasium 1.2's classic-control environments, bit-exact and fast.
//!
//! | name | env | time limit | reward threshold |
//! |---|---|---|---|
//! | `CartPole-v1` | [`CartPoleEnv`] | 500 | 475 |
//! | `CartPole-v0` | [`CartPoleEnv`] | 200 | 195 |
//! | `Acrobot-v1` | [`AcrobotEnv`] | 500 | −100 |
//! | `MountainCar-v0` | [`MountainCarEnv`] | 200 | −110 |
//! | `MountainCarContinuous-v0` | [`ContinuousMountainCarEnv`] | 999 | 90 |
//! | `Pendulum-v1` | [`PendulumEnv`] | 200 | – |
//!
//! Each reproduces Gymnasium's trajectories exactly from the same physics state (the
//! conformance tests check every step); resets draw from a seeded `rl_core::Rng` (PCG64)
//! rather than NumPy's generator, so the same seed gives different (equally distributed)
//! initial states than Gymnasium. Every env offers `state()` / `set_state()` for its float64
//! physics state and `save_state` / `load_state` (physics, RNG, episode phase).
//!
//! ```
//! use rl_core::env::Env;
//! let mut env = rl_envs::make("CartPole-v1", &serde_json::Value::Null).unwrap();
//! let (obs, _info) = env.reset(Some(42), None).unwrap();
//! ```

#![warn(missing_docs)]

pub mod acrobot;
pub mod cartpole;
mod common;
pub mod continuous_mountain_car;
pub mod mountain_car;
pub mod pendulum;

use std::sync::Once;

pub use acrobot::AcrobotEnv;
pub use cartpole::CartPoleEnv;
pub use continuous_mountain_car::ContinuousMountainCarEnv;
pub use mountain_car::MountainCarEnv;
pub use pendulum::PendulumEnv;

use rl_core::env::registry::with_time_limit;
use rl_core::env::{register, Env, EnvError, EnvRegistration};

/// The names of the built-in envs, as Gymnasium registers them.
pub const BUILTIN_ENVS: [&str; 6] = [
    "CartPole-v1",
    "CartPole-v0",
    "Acrobot-v1",
    "MountainCar-v0",
    "MountainCarContinuous-v0",
    "Pendulum-v1",
];

/// Boxes a concrete env in its concrete `TimeLimit`, so stepping costs one dynamic dispatch.
fn limited<E: Env + 'static>(
    env: Result<E, EnvError>,
    limit: Option<u64>,
) -> Result<Box<dyn Env>, EnvError> {
    with_time_limit(env?, limit)
}

/// Registers the built-in envs in `rl_core`'s global registry with Gymnasium's names, time
/// limits and reward thresholds. Idempotent: only the first call registers (so a user's
/// later re-registration of one of these names is not overwritten).
pub fn register_builtins() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        register(
            EnvRegistration::new_limited("CartPole-v1", |kw, lim| {
                limited(CartPoleEnv::from_kwargs(kw), lim)
            })
            .max_episode_steps(500)
            .reward_threshold(475.0),
        );
        register(
            EnvRegistration::new_limited("CartPole-v0", |kw, lim| {
                limited(CartPoleEnv::from_kwargs(kw), lim)
            })
            .max_episode_steps(200)
            .reward_threshold(195.0),
        );
        register(
            EnvRegistration::new_limited("Acrobot-v1", |kw, lim| {
                limited(AcrobotEnv::from_kwargs(kw), lim)
            })
            .max_episode_steps(500)
            .reward_threshold(-100.0),
        );
        register(
            EnvRegistration::new_limited("MountainCar-v0", |kw, lim| {
                limited(MountainCarEnv::from_kwargs(kw), lim)
            })
            .max_episode_steps(200)
            .reward_threshold(-110.0),
        );
        register(
            EnvRegistration::new_limited("MountainCarContinuous-v0", |kw, lim| {
                limited(ContinuousMountainCarEnv::from_kwargs(kw), lim)
            })
            .max_episode_steps(999)
            .reward_threshold(90.0),
        );
        register(
            EnvRegistration::new_limited("Pendulum-v1", |kw, lim| {
                limited(PendulumEnv::from_kwargs(kw), lim)
            })
            .max_episode_steps(200),
        );
    });
}

/// [`register_builtins`], then [`rl_core::env::make`]: builds any registered env by name
/// (built-in or the user's own), wrapped in its time limit.
pub fn make(name: &str, kwargs: &serde_json::Value) -> Result<Box<dyn Env>, EnvError> {
    register_builtins();
    rl_core::env::make(name, kwargs)
}

/// [`register_builtins`], then a [`SyncVectorEnv`](rl_core::env::SyncVectorEnv) of
/// `num_envs` copies of the registered env `name`.
pub fn make_vec(
    name: &str,
    kwargs: &serde_json::Value,
    num_envs: usize,
) -> Result<rl_core::env::SyncVectorEnv, EnvError> {
    register_builtins();
    rl_core::env::SyncVectorEnv::make(name, kwargs, num_envs)
}
