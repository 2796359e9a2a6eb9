//! Replay buffers with RLlib 2.60's names and semantics (the new API stack's
//! `EpisodeReplayBuffer` and `PrioritizedEpisodeReplayBuffer`), for off-policy algorithms.
//!
//! An algorithm's training step, as RLlib's DQN runs it:
//!
//! ```
//! use rl_core::episode::Episode;
//! use rl_core::replay::{NStep, PrioritizedEpisodeReplayBuffer, SampleRequest};
//! use rand::SeedableRng;
//!
//! let mut buffer = PrioritizedEpisodeReplayBuffer::new(50_000, 0.6)?;
//! let mut rng = rl_core::Rng::seed_from_u64(0);
//! // Chunks from the env runners (here one episode of 5 steps, still running).
//! let mut chunk = Episode::new(1, 0, &[0.0, 0.0], 1, 2);
//! for t in 0..5 {
//!     chunk.add_step(&[0.0], -0.7, &[0.1, -0.1], 1.0, &[t as f32, 1.0]);
//! }
//! buffer.add(&[chunk])?;
//! let request = SampleRequest::new(32).n_step(NStep::Range(2, 5)).gamma(0.99).beta(0.4);
//! let batch = buffer.sample(&request, &mut rng)?;
//! // ... the learner computes TD errors for the batch's rows ...
//! let td_errors = vec![0.5; batch.len()];
//! buffer.update_priorities(&batch.indices, &td_errors)?;
//! let metrics = buffer.metrics(); // under RLlib's keys
//! assert_eq!(metrics.num_env_steps_stored, 5);
//! # Ok::<(), rl_core::replay::ReplayError>(())
//! ```
//!
//! Semantics (read from RLlib 2.60's `episode_replay_buffer.py` and
//! `prioritized_episode_buffer.py`; where we differ, the item says so):
//!
//! - **Storage.** Episodes are stored by id. A chunk whose id continues a stored,
//!   unfinished episode (same id, `t_started` where it ends, the same boundary observation)
//!   is concatenated to it; anything else that does not fit is refused with an error (RLlib
//!   asserts). Capacity counts env steps; whole oldest episodes are evicted while more than
//!   `capacity` steps and more than one episode would remain (one episode longer than the
//!   capacity stays until the next arrives, as in RLlib).
//! - **Transitions.** A sampled row is `(o_t, a_t, Σ_{k<n} γ^k r_{t+k}, o_{t+n},
//!   terminated, truncated, n)`. A window never crosses into another episode. One that
//!   ends exactly at a finished episode's end carries its final observation and flag; one
//!   that would run past the last stored step (a finished episode's end, or the newest step
//!   of an episode still running) is redrawn ([`WindowPastEnd::Resample`], the prioritized
//!   buffer's default as in RLlib) or cut there with `n_step` the steps used
//!   ([`WindowPastEnd::Clip`], the uniform buffer's default as in RLlib, which however
//!   labels cut rows with the drawn n). An n-step range `(lo, hi)` draws n in `lo..hi`, hi
//!   excluded, as RLlib's code does (its DQN docstring says closed).
//! - **Priorities.** New steps get the largest priority seen (1.0 at first); sampling is in
//!   proportion to `priority^α`; weights are `(N·P(i))^(−β)` divided by the largest weight,
//!   that of the least likely stored step; `update_priorities` sets `max(|td|, 1e-12)`.
//!   We return [`ReplayIndex`]es with the batch instead of caching the last sample's leaves,
//!   so updates for transitions evicted in between are recognized and skipped.
//! - **Randomness.** Every draw comes from the [`SampleDraws`] passed to `sample` (any
//!   `rand::Rng`, so `&mut rl_core::Rng`); RLlib's buffers use an unseeded NumPy generator.
//!   Same seed, same adds, same samples.
//! - **Checkpoints.** `get_state()` returns a serde struct with everything needed to
//!   continue bit for bit (episodes, arrival order, leaves, priorities, counters);
//!   `encode()` splits it into JSON and a safetensors file of the f32 columns.
//!
//! Memory: a stored env step costs `(obs_dim + act_dim + dist_dim + 3)` f32 (its
//! observation, action, distribution inputs, reward and log-probability, plus one extra
//! observation per episode); the prioritized buffer adds 2 × 2 × 8 bytes per tree leaf
//! (sum and min trees, a power of two ≥ capacity leaves), 24 bytes per leaf of bookkeeping,
//! and 4 bytes per step. DQN's 50k-step CartPole buffer: ~2.2 MB of episodes plus ~3.7 MB
//! of trees and bookkeeping.

mod buffer_base;
mod episode_buffer;
mod metrics;
mod prioritized;
mod sample;
pub mod segment_tree;
mod state;
mod store;

pub use episode_buffer::{EpisodeReplayBuffer, EpisodeReplayBufferState};
pub use metrics::{ReplayMetrics, DEFAULT_AGENT_ID, DEFAULT_MODULE_ID};
pub use prioritized::{
    PrioritizedEpisodeReplayBuffer, PrioritizedEpisodeReplayBufferState, PriorityUpdate,
    PRIORITY_FLOOR,
};
pub use sample::{NStep, ReplayBatch, ReplayIndex, SampleDraws, SampleRequest, WindowPastEnd};
pub use segment_tree::{MinSegmentTree, SumSegmentTree};
pub use state::{EncodedState, REPLAY_STATE_FORMAT};

/// What went wrong in a replay buffer; the message says how to fix it.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A constructor argument is out of range.
    #[error("replay buffer config: {0}")]
    InvalidConfig(String),
    /// A `sample` argument is out of range.
    #[error("sample request: {0}")]
    InvalidRequest(String),
    /// Sampling before any env step was added.
    #[error("cannot sample: the buffer holds no env step yet; add episodes first (DQN waits for `num_steps_sampled_before_learning_starts`)")]
    Empty,
    /// [`WindowPastEnd::Resample`] with no stored episode as long as the smallest n.
    #[error("no stored episode has the {n_min} steps the smallest n_step needs (the longest has {longest}); sample with a smaller n_step, add more steps first, or use WindowPastEnd::Clip")]
    NoWindowFits {
        /// The smallest n of the request.
        n_min: usize,
        /// The longest stored episode's steps.
        longest: usize,
    },
    /// [`WindowPastEnd::Resample`] rejected too many draws in one sample.
    #[error("{attempts} draws rejected while sampling {num_items} transitions: nearly all the sampling mass sits on steps too close to their episode's end for the n_step; use a smaller n_step or WindowPastEnd::Clip")]
    TooManyResamples {
        /// Rejected draws.
        attempts: u64,
        /// Rows requested.
        num_items: usize,
    },
    /// A chunk passed to `add` is malformed or does not continue its episode; nothing
    /// was stored.
    #[error("chunk {index} of the add call (episode id {id}): {reason}; nothing was added")]
    BadChunk {
        /// Its position in the call.
        index: usize,
        /// Its episode id.
        id: u64,
        /// What is wrong.
        reason: String,
    },
    /// `update_priorities` got as many TD errors as indices.
    #[error("update_priorities got {indices} indices but {td_errors} TD errors; pass one TD error per sampled row, in the batch's order")]
    LengthMismatch {
        /// Indices passed.
        indices: usize,
        /// TD errors passed.
        td_errors: usize,
    },
    /// A TD error is NaN or infinite.
    #[error("the TD error of row {row} is {value}; priorities must be finite (check the loss for NaN/inf)")]
    InvalidPriority {
        /// Its row.
        row: usize,
        /// Its value.
        value: f32,
    },
    /// An index names no leaf of this buffer.
    #[error("row {row}'s index names leaf {leaf} but the trees have {capacity}; pass the indices this buffer's sample returned")]
    UnknownIndex {
        /// Its row.
        row: usize,
        /// The leaf it names.
        leaf: usize,
        /// Leaves in the trees.
        capacity: usize,
    },
    /// A state passed to `set_state`/`from_state`/`decode` is inconsistent.
    #[error("replay buffer state: {0}")]
    BadState(String),
}
