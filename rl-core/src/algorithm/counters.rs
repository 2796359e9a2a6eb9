//! The counters every algorithm keeps across iterations and checkpoints, RLlib's names.

use serde::{Deserialize, Serialize};

/// Counters that survive across iterations (and checkpoints).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Completed training iterations.
    pub training_iteration: usize,
    /// Env steps sampled for training, all runners together.
    pub num_env_steps_sampled_lifetime: u64,
    /// RLlib's count: rows of the train batch × minibatch updates (see `docs/metrics.md`).
    pub num_env_steps_trained_lifetime: u64,
    /// Rows actually passed through gradient updates.
    pub num_module_steps_trained_lifetime: u64,
    /// Training episodes that ended.
    pub num_episodes_lifetime: u64,
    /// Evaluation episodes that ended.
    pub num_evaluation_episodes_lifetime: u64,
    /// Env steps sampled by evaluation.
    pub num_evaluation_env_steps_lifetime: u64,
    /// Seconds spent in `train()`, all iterations.
    pub time_total_s: f64,
}
