//! RLlib's `EpisodeReplayBuffer`: episodes stored by id, transitions sampled uniformly
//! over the stored env steps.

use serde::{Deserialize, Serialize};

use super::buffer_base::{base_accessors, split_state_methods, BaseState, BufferBase, Pick};
use super::metrics::ReplayMetrics;
use super::sample::{ReplayBatch, SampleDraws, SampleRequest};
use super::state::{EncodedState, SplitState, StoreState, REPLAY_STATE_FORMAT};
use super::{ReplayError, WindowPastEnd};
use crate::episode::Episode;

/// Uniform replay over stored episodes (RLlib 2.60's `EpisodeReplayBuffer`, sampled with
/// `sample_episodes=True` as DQN does).
///
/// `add` concatenates a chunk to its stored episode when its id continues one, and evicts
/// whole oldest episodes beyond `capacity` env steps. `sample` draws first steps uniformly
/// over the stored env steps and returns n-step transitions; by default a window that would
/// run past its episode's last stored step is cut there ([`WindowPastEnd::Clip`], as
/// RLlib's buffer does).
#[derive(Clone, Debug)]
pub struct EpisodeReplayBuffer {
    base: BufferBase,
}

/// Everything an [`EpisodeReplayBuffer`] needs to continue bit for bit (the sampling RNG
/// belongs to the caller and is saved with it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeReplayBufferState {
    buffer_type: String,
    format: u32,
    base: BaseState,
}

impl SplitState for EpisodeReplayBufferState {
    const BUFFER_TYPE: &'static str = "EpisodeReplayBuffer";
    fn header(&self) -> (&str, u32) {
        (&self.buffer_type, self.format)
    }
    fn store_mut(&mut self) -> &mut StoreState {
        &mut self.base.store
    }
    fn take_extra(&mut self) -> Vec<(&'static str, Vec<f32>)> {
        Vec::new()
    }
    fn extra_names() -> &'static [&'static str] {
        &[]
    }
    fn put_extra(&mut self, _: Vec<Vec<f32>>) {}
}

impl EpisodeReplayBufferState {
    split_state_methods!();
}

impl EpisodeReplayBuffer {
    /// An empty buffer of `capacity` env steps (RLlib's default is 10000).
    pub fn new(capacity: usize) -> Result<Self, ReplayError> {
        Ok(EpisodeReplayBuffer {
            base: BufferBase::new(capacity, WindowPastEnd::Clip)?,
        })
    }

    base_accessors!(EpisodeReplayBufferState);

    /// Stores `episodes` (chunks from env runners): a chunk whose id continues a stored,
    /// unfinished episode is appended to it, others start new episodes; then whole oldest
    /// episodes are evicted while more than `capacity` steps and more than one episode
    /// remain (RLlib's rule; a chunk of an episode evicted in this call goes with it).
    ///
    /// All or nothing: a chunk that is malformed, or that does not continue its episode
    /// (another `t_started`, a different first observation, an episode already ended) is an
    /// error and nothing is stored.
    pub fn add(&mut self, episodes: &[Episode]) -> Result<(), ReplayError> {
        let plan = self.base.store.plan_add(episodes)?;
        let counts = self.base.store.apply(episodes, plan, |_, _, _| {});
        self.base.metrics.record_add(counts);
        Ok(())
    }

    /// Samples `request.num_items` n-step transitions, first steps uniformly over the
    /// stored env steps (RLlib's `sample(num_items, n_step=, gamma=, sample_episodes=True)`);
    /// its `weights` are 1 and its `indices` empty.
    ///
    /// Fills `out`, reusing its allocations (its contents are unspecified after an
    /// error).
    ///
    /// Draws, per attempt, the step (`integer(0, len)`, over the stored steps in the order
    /// they arrived, as RLlib's `_indices`) then, for an n-step range, n
    /// (`integer(lo, hi)`), as RLlib does.
    pub fn sample_into(
        &mut self,
        request: &SampleRequest,
        draws: &mut impl SampleDraws,
        out: &mut ReplayBatch,
    ) -> Result<(), ReplayError> {
        self.base.check(request)?;
        self.base.sample_into(request, draws, out, |store, draws| {
            let (episode, ts) = store.step_in_arrival_order(draws.integer(0, store.num_steps));
            Ok(Pick {
                episode,
                ts,
                weight: 1.0,
                index: None,
            })
        })
    }

    /// The state to continue from (RLlib's `get_state()`).
    pub fn get_state(&self) -> EpisodeReplayBufferState {
        EpisodeReplayBufferState {
            buffer_type: EpisodeReplayBufferState::BUFFER_TYPE.into(),
            format: REPLAY_STATE_FORMAT,
            base: self.base.state(),
        }
    }

    /// A buffer continuing from `state`; every inconsistency is an error.
    pub fn from_state(state: EpisodeReplayBufferState) -> Result<Self, ReplayError> {
        state.check_header()?;
        Ok(EpisodeReplayBuffer {
            base: BufferBase::from_state(state.base)?,
        })
    }
}
