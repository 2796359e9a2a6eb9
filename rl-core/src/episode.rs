//! Episode chunks: what env runners return and learner connectors consume
//! (RLlib's `SingleAgentEpisode`, one chunk of it per sample call).

use serde::{Deserialize, Serialize};

/// One chunk of one episode, as collected by an env runner.
///
/// A chunk of `len()` steps holds `len() + 1` observations: `observations` row `t` is the
/// observation the action at step `t` was taken on, and the last row is the observation
/// after the last step (the final observation when the episode ended). Observations are
/// the module's inputs, after the env→module pipeline (flattened, and filtered if a filter
/// is configured), so that the learner sees what the module saw.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// Identifies the episode across its chunks: unique within a run.
    pub id: u64,
    /// The index in the episode of this chunk's first step.
    pub t_started: usize,
    /// Width of one observation row.
    pub obs_dim: usize,
    /// Width of one action row (1 for a discrete action).
    pub act_dim: usize,
    /// Width of one row of action-distribution inputs.
    pub dist_dim: usize,
    /// `(len() + 1) × obs_dim` observations, row-major.
    pub observations: Vec<f32>,
    /// `len() × act_dim` actions as the module sampled them (a discrete action as its index).
    pub actions: Vec<f32>,
    /// `len()` rewards.
    pub rewards: Vec<f32>,
    /// `len()` log-probabilities of the actions under the sampling policy.
    pub action_logp: Vec<f32>,
    /// `len() × dist_dim` action-distribution inputs of the sampling policy.
    pub action_dist_inputs: Vec<f32>,
    /// The episode reached a terminal state at the chunk's last step.
    pub is_terminated: bool,
    /// The episode was truncated (time limit) at the chunk's last step.
    pub is_truncated: bool,
}

impl Episode {
    /// An empty chunk starting at `t_started` with its first observation.
    pub fn new(
        id: u64,
        t_started: usize,
        first_obs: &[f32],
        act_dim: usize,
        dist_dim: usize,
    ) -> Self {
        Episode {
            id,
            t_started,
            obs_dim: first_obs.len(),
            act_dim,
            dist_dim,
            observations: first_obs.to_vec(),
            ..Default::default()
        }
    }

    /// Number of steps in the chunk.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether the chunk holds no step.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// Whether the episode ended (terminated or truncated) in this chunk.
    pub fn is_done(&self) -> bool {
        self.is_terminated || self.is_truncated
    }

    /// Records one step: the action taken on the current last observation, what the policy
    /// said about it, and the observation that followed.
    pub fn add_step(
        &mut self,
        action: &[f32],
        action_logp: f32,
        action_dist_inputs: &[f32],
        reward: f32,
        next_obs: &[f32],
    ) {
        self.actions.extend_from_slice(action);
        self.action_logp.push(action_logp);
        self.action_dist_inputs
            .extend_from_slice(action_dist_inputs);
        self.rewards.push(reward);
        self.observations.extend_from_slice(next_obs);
    }

    /// Observation row `t` (`0..=len()`).
    pub fn obs(&self, t: usize) -> &[f32] {
        &self.observations[t * self.obs_dim..(t + 1) * self.obs_dim]
    }

    /// The last observation: where the next chunk of a running episode starts.
    pub fn last_obs(&self) -> &[f32] {
        self.obs(self.len())
    }

    /// Sum of this chunk's rewards.
    pub fn chunk_return(&self) -> f64 {
        self.rewards.iter().map(|&r| f64::from(r)).sum()
    }
}
