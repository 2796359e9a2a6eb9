//! The replay buffer DQN's config names, behind one type, and the per-iteration tally of
//! its metrics under RLlib's `replay_buffer/` keys.

use rl_core::episode::Episode;
use rl_core::replay::{
    EncodedState, EpisodeReplayBuffer, EpisodeReplayBufferState, PrioritizedEpisodeReplayBuffer,
    PrioritizedEpisodeReplayBufferState, ReplayBatch, ReplayError, ReplayMetrics, SampleRequest,
};
use rl_core::Rng;
use serde_json::Value;

use super::config::ReplayBufferConfig;

/// `replay_buffer_config`'s buffer.
#[derive(Clone, Debug)]
pub enum ReplayBuffer {
    /// RLlib's `PrioritizedEpisodeReplayBuffer`.
    Prioritized(PrioritizedEpisodeReplayBuffer),
    /// RLlib's `EpisodeReplayBuffer`.
    Uniform(EpisodeReplayBuffer),
}

impl ReplayBuffer {
    /// An empty buffer as configured.
    pub fn new(config: &ReplayBufferConfig) -> Result<Self, ReplayError> {
        Ok(match *config {
            ReplayBufferConfig::PrioritizedEpisodeReplayBuffer {
                capacity, alpha, ..
            } => ReplayBuffer::Prioritized(PrioritizedEpisodeReplayBuffer::new(capacity, alpha)?),
            ReplayBufferConfig::EpisodeReplayBuffer { capacity } => {
                ReplayBuffer::Uniform(EpisodeReplayBuffer::new(capacity)?)
            }
        })
    }

    /// Env steps stored.
    pub fn len(&self) -> usize {
        match self {
            ReplayBuffer::Prioritized(b) => b.len(),
            ReplayBuffer::Uniform(b) => b.len(),
        }
    }

    /// Whether no env step is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Capacity in env steps.
    pub fn capacity(&self) -> usize {
        match self {
            ReplayBuffer::Prioritized(b) => b.capacity(),
            ReplayBuffer::Uniform(b) => b.capacity(),
        }
    }

    /// Stores env-runner chunks.
    pub fn add(&mut self, episodes: &[Episode]) -> Result<(), ReplayError> {
        match self {
            ReplayBuffer::Prioritized(b) => b.add(episodes),
            ReplayBuffer::Uniform(b) => b.add(episodes),
        }
    }

    /// Samples into `out`.
    pub fn sample_into(
        &mut self,
        request: &SampleRequest,
        rng: &mut Rng,
        out: &mut ReplayBatch,
    ) -> Result<(), ReplayError> {
        match self {
            ReplayBuffer::Prioritized(b) => b.sample_into(request, rng, out),
            ReplayBuffer::Uniform(b) => b.sample_into(request, rng, out),
        }
    }

    /// Sets the sampled rows' priorities from their TD errors (nothing for the uniform
    /// buffer).
    pub fn update_priorities(
        &mut self,
        sample: &ReplayBatch,
        td_errors: &[f32],
    ) -> Result<(), ReplayError> {
        match self {
            ReplayBuffer::Prioritized(b) => {
                b.update_priorities(&sample.indices, td_errors).map(|_| ())
            }
            ReplayBuffer::Uniform(_) => Ok(()),
        }
    }

    /// The metrics since the last call (RLlib's `get_metrics()`).
    pub fn metrics(&mut self) -> ReplayMetrics {
        match self {
            ReplayBuffer::Prioritized(b) => b.metrics(),
            ReplayBuffer::Uniform(b) => b.metrics(),
        }
    }

    /// The buffer's state, split for a checkpoint.
    pub fn encode(&self) -> Result<EncodedState, ReplayError> {
        match self {
            ReplayBuffer::Prioritized(b) => b.get_state().encode(),
            ReplayBuffer::Uniform(b) => b.get_state().encode(),
        }
    }

    /// A buffer of the same kind as `self` from an encoded state (validated; `self` is
    /// unchanged).
    pub fn decoded_like(&self, encoded: &EncodedState) -> Result<Self, ReplayError> {
        Ok(match self {
            ReplayBuffer::Prioritized(_) => {
                ReplayBuffer::Prioritized(PrioritizedEpisodeReplayBuffer::from_state(
                    PrioritizedEpisodeReplayBufferState::decode(encoded)?,
                )?)
            }
            ReplayBuffer::Uniform(_) => ReplayBuffer::Uniform(EpisodeReplayBuffer::from_state(
                EpisodeReplayBufferState::decode(encoded)?,
            )?),
        })
    }
}

/// The buffer's metrics over one iteration: `metrics()` is read after every training step
/// (as RLlib's DQN calls `get_metrics()`), its per-period counts summed and its means
/// averaged over the iteration, its lifetime counts and contents the latest.
#[derive(Clone, Debug, Default)]
pub struct MetricsTally {
    iteration: usize,
    sum: ReplayMetrics,
    utilization: (f64, u64),
    actual_n_step: (f64, u64),
}

impl MetricsTally {
    /// Adds one period's metrics to the tally of training iteration `iteration` (a new
    /// iteration starts a new tally).
    pub fn add(&mut self, iteration: usize, m: ReplayMetrics) {
        if iteration != self.iteration {
            *self = MetricsTally {
                iteration,
                ..Default::default()
            };
        }
        let s = &mut self.sum;
        s.num_episodes_added += m.num_episodes_added;
        s.num_episodes_evicted += m.num_episodes_evicted;
        s.num_env_steps_added += m.num_env_steps_added;
        s.num_env_steps_evicted += m.num_env_steps_evicted;
        s.num_env_steps_sampled += m.num_env_steps_sampled;
        s.num_episodes_per_sample += m.num_episodes_per_sample;
        s.num_env_steps_per_sample += m.num_env_steps_per_sample;
        s.num_resamples += m.num_resamples;
        s.num_episodes_stored = m.num_episodes_stored;
        s.num_env_steps_stored = m.num_env_steps_stored;
        s.num_episodes_added_lifetime = m.num_episodes_added_lifetime;
        s.num_episodes_evicted_lifetime = m.num_episodes_evicted_lifetime;
        s.num_env_steps_added_lifetime = m.num_env_steps_added_lifetime;
        s.num_env_steps_evicted_lifetime = m.num_env_steps_evicted_lifetime;
        s.num_env_steps_sampled_lifetime = m.num_env_steps_sampled_lifetime;
        s.num_env_steps_per_sample_lifetime = m.num_env_steps_per_sample_lifetime;
        for (acc, v) in [
            (&mut self.utilization, m.env_step_utilization),
            (&mut self.actual_n_step, m.actual_n_step),
        ] {
            if let Some(v) = v {
                acc.0 += v;
                acc.1 += 1;
            }
        }
    }

    /// The tally under RLlib's keys (`ReplayMetrics::to_json`).
    pub fn to_json(&self) -> Value {
        let mean = |(sum, n): (f64, u64)| (n > 0).then(|| sum / n as f64);
        ReplayMetrics {
            env_step_utilization: mean(self.utilization),
            actual_n_step: mean(self.actual_n_step),
            ..self.sum.clone()
        }
        .to_json()
    }
}
