//! DQN: RLlib 2.60's new-stack DQN (double Q, dueling, n-step, prioritized replay,
//! epsilon-greedy exploration, target networks). `docs/dqn.md` walks through it and
//! lists where we differ from RLlib.

pub mod algorithm;
pub mod checkpoint;
pub mod config;
pub mod exploration;
pub mod learner;
pub mod loss;
pub mod module;
pub mod presets;
pub mod replay;

pub use algorithm::{DQNLogic, DQN};
pub use config::{DQNConfig, Epsilon, ReplayBufferConfig, TdErrorLossFn};
pub use exploration::EpsilonGreedy;
pub use learner::DQNLearner;
pub use module::{DQNModule, DQNModuleConfig};
