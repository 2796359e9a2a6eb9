//! RLlib's `EpisodeReplayBuffer`: episodes stored by id, transitions sampled uniformly
//! over the stored env steps.

use serde::{Deserialize, Serialize};

use super::metrics::{MetricsState, ReplayMetrics};
use super::sample::{draw_n, window_steps, ReplayBatch, SampleDraws, SampleRequest};
use super::state::{EncodedState, SplitState, StoreState, REPLAY_STATE_FORMAT};
use super::store::EpisodeStore;
use super::{ReplayError, WindowPastEnd};
use crate::episode::Episode;

/// Draws a sample may reject before it gives up (see [`ReplayError::TooManyResamples`]).
pub(crate) fn max_resamples(num_items: usize) -> u64 {
    1000 * num_items as u64 + 10_000
}

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
    store: EpisodeStore,
    window: WindowPastEnd,
    metrics: MetricsState,
    seen: Vec<(u64, usize)>,
}

/// Everything an [`EpisodeReplayBuffer`] needs to continue bit for bit (the sampling RNG
/// belongs to the caller and is saved with it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeReplayBufferState {
    buffer_type: String,
    format: u32,
    window_past_end: WindowPastEnd,
    store: StoreState,
    metrics: MetricsState,
}

impl SplitState for EpisodeReplayBufferState {
    const BUFFER_TYPE: &'static str = "EpisodeReplayBuffer";
    fn header(&self) -> (&str, u32) {
        (&self.buffer_type, self.format)
    }
    fn store_mut(&mut self) -> &mut StoreState {
        &mut self.store
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
    /// Splits the state for a checkpoint (see [`EncodedState`]).
    pub fn encode(&self) -> Result<EncodedState, ReplayError> {
        self.encode_split()
    }

    /// Reads a state written by [`encode`](Self::encode).
    pub fn decode(encoded: &EncodedState) -> Result<Self, ReplayError> {
        Self::decode_split(encoded)
    }

    /// Env steps the state holds.
    pub fn num_env_steps(&self) -> usize {
        self.store.num_steps()
    }
}

/// Records one finished sample's metrics: distinct episodes and first steps of `seen`.
pub(crate) fn record_sample(
    metrics: &mut MetricsState,
    seen: &mut [(u64, usize)],
    batch: &ReplayBatch,
    resamples: u64,
) {
    seen.sort_unstable();
    let steps = 1 + seen.windows(2).filter(|w| w[0] != w[1]).count();
    let episodes = 1 + seen.windows(2).filter(|w| w[0].0 != w[1].0).count();
    let n_total: u64 = batch.n_step.iter().map(|&n| u64::from(n)).sum();
    metrics.record_sample(
        batch.len() as u64,
        episodes as u64,
        steps as u64,
        n_total,
        resamples,
    );
}

impl EpisodeReplayBuffer {
    /// An empty buffer of `capacity` env steps (RLlib's default is 10000).
    pub fn new(capacity: usize) -> Result<Self, ReplayError> {
        Ok(EpisodeReplayBuffer {
            store: EpisodeStore::new(capacity)?,
            window: WindowPastEnd::Clip,
            metrics: MetricsState::default(),
            seen: Vec::new(),
        })
    }

    /// With another rule for windows that run past an episode's last stored step.
    pub fn with_window_past_end(mut self, rule: WindowPastEnd) -> Self {
        self.window = rule;
        self
    }

    /// The rule for windows that run past an episode's last stored step.
    pub fn window_past_end(&self) -> WindowPastEnd {
        self.window
    }

    /// Capacity in env steps.
    pub fn capacity(&self) -> usize {
        self.store.capacity
    }

    /// Env steps stored (RLlib's `len(buffer)`, `get_num_timesteps()`).
    pub fn len(&self) -> usize {
        self.store.num_steps
    }

    /// Whether no env step is stored.
    pub fn is_empty(&self) -> bool {
        self.store.num_steps == 0
    }

    /// Episodes stored, finished or not (RLlib's `get_num_episodes()`).
    pub fn num_episodes(&self) -> usize {
        self.store.episodes.len()
    }

    /// Episodes evicted so far (RLlib's `get_num_episodes_evicted()`).
    pub fn num_episodes_evicted(&self) -> u64 {
        self.store.num_episodes_evicted
    }

    /// The stored episodes, oldest first, each concatenated from its chunks.
    pub fn episodes(&self) -> impl ExactSizeIterator<Item = &Episode> {
        self.store.episodes.iter()
    }

    /// Stores `episodes` (chunks from env runners): a chunk whose id continues a stored,
    /// unfinished episode is appended to it, others start new episodes; then whole oldest
    /// episodes are evicted while more than `capacity` steps and more than one episode
    /// remain (RLlib's rule; a chunk of an episode evicted in this call goes with it).
    ///
    /// All or nothing: a chunk that is malformed, or that does not continue its episode
    /// (another `t_started`, a different first observation, an episode already ended) is an
    /// error and nothing is stored.
    pub fn add(&mut self, episodes: &[Episode]) -> Result<(), ReplayError> {
        let plan = self.store.plan_add(episodes)?;
        let counts = self.store.apply(episodes, plan, |_, _, _| {});
        self.metrics.record_add(counts);
        Ok(())
    }

    /// Samples `request.num_items` n-step transitions, first steps uniformly over the
    /// stored env steps (RLlib's `sample(num_items, n_step=, gamma=, sample_episodes=True)`);
    /// its `weights` are 1 and its `indices` empty.
    pub fn sample(
        &mut self,
        request: &SampleRequest,
        draws: &mut impl SampleDraws,
    ) -> Result<ReplayBatch, ReplayError> {
        let mut batch = ReplayBatch::default();
        self.sample_into(request, draws, &mut batch)?;
        Ok(batch)
    }

    /// [`sample`](Self::sample) into `out`, reusing its allocations (its contents are
    /// unspecified after an error).
    ///
    /// Draws, per attempt, the step (`integer(0, len)`) then, for an n-step range, n
    /// (`integer(lo, hi)`), as RLlib does.
    pub fn sample_into(
        &mut self,
        request: &SampleRequest,
        draws: &mut impl SampleDraws,
        out: &mut ReplayBatch,
    ) -> Result<(), ReplayError> {
        request.validate()?;
        if self.store.num_steps == 0 {
            return Err(ReplayError::Empty);
        }
        if self.window == WindowPastEnd::Resample && self.store.longest() < request.n_step.min() {
            return Err(ReplayError::NoWindowFits {
                n_min: request.n_step.min(),
                longest: self.store.longest(),
            });
        }
        out.clear(self.store.dims.unwrap_or_default());
        self.seen.clear();
        let mut resamples = 0;
        while out.len() < request.num_items {
            let (number, ts) = self
                .store
                .step_in_arrival_order(draws.integer(0, self.store.num_steps));
            let n = draw_n(request.n_step, draws);
            let episode = self.store.episode(number);
            let Some(steps) = window_steps(self.window, ts, n, episode.len()) else {
                resamples += 1;
                if resamples > max_resamples(request.num_items) {
                    return Err(ReplayError::TooManyResamples {
                        attempts: resamples,
                        num_items: request.num_items,
                    });
                }
                continue;
            };
            out.push_window(
                episode,
                ts,
                steps,
                request.gamma,
                1.0,
                request.include_extra_model_outputs,
            );
            self.seen.push((number, ts));
        }
        record_sample(&mut self.metrics, &mut self.seen, out, resamples);
        Ok(())
    }

    /// The metrics under RLlib's keys (see [`ReplayMetrics`]); like RLlib's
    /// `get_metrics()`, this ends the period the per-period counts cover.
    pub fn metrics(&mut self) -> ReplayMetrics {
        self.metrics
            .reduce(self.num_episodes() as u64, self.len() as u64)
    }

    /// The state to continue from (RLlib's `get_state()`).
    pub fn get_state(&self) -> EpisodeReplayBufferState {
        EpisodeReplayBufferState {
            buffer_type: EpisodeReplayBufferState::BUFFER_TYPE.into(),
            format: REPLAY_STATE_FORMAT,
            window_past_end: self.window,
            store: StoreState::of(&self.store),
            metrics: self.metrics.clone(),
        }
    }

    /// A buffer continuing from `state`; every inconsistency is an error.
    pub fn from_state(state: EpisodeReplayBufferState) -> Result<Self, ReplayError> {
        state.check_header()?;
        Ok(EpisodeReplayBuffer {
            store: state.store.into_store()?,
            window: state.window_past_end,
            metrics: state.metrics,
            seen: Vec::new(),
        })
    }

    /// Replaces this buffer's contents with `state` (RLlib's `set_state()`); on error the
    /// buffer is unchanged.
    pub fn set_state(&mut self, state: EpisodeReplayBufferState) -> Result<(), ReplayError> {
        *self = Self::from_state(state)?;
        Ok(())
    }
}
