//! PPO: RLlib's reference algorithm.

pub mod algorithm;
pub mod checkpoint;
pub mod config;
pub mod inference;
pub mod learner;
pub mod loss;
pub mod module;
pub mod policy;
pub mod presets;

pub use algorithm::PPO;
pub use config::PPOConfig;
pub use inference::InferencePolicy;
pub use learner::PPOLearner;
pub use module::PPOModule;
pub use policy::PPOPolicy;
