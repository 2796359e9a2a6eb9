//! PPO: RLlib's reference algorithm.

pub mod algorithm;
pub mod checkpoint;
pub mod config;
pub mod learner;
pub mod loss;
pub mod module;
pub mod policy;
pub mod presets;

pub use algorithm::{PPOLogic, PPO};
pub use config::PPOConfig;
pub use learner::PPOLearner;
pub use module::PPOModule;
pub use policy::PPOPolicy;
pub use rl_core::algorithm::InferencePolicy;
