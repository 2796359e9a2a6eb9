//! What both buffers share (RLlib's `PrioritizedEpisodeReplayBuffer` subclasses
//! `EpisodeReplayBuffer`): the stored episodes, the rule at an episode's end, the metrics,
//! the sampling loop around a buffer's own way of picking a step, and the state of all that.

use serde::{Deserialize, Serialize};

use super::metrics::{MetricsState, ReplayMetrics};
use super::sample::{draw_n, window_steps, ReplayBatch, ReplayIndex, SampleDraws, SampleRequest};
use super::state::StoreState;
use super::store::EpisodeStore;
use super::{ReplayError, WindowPastEnd};

/// Draws a sample may reject before it gives up (see [`ReplayError::TooManyResamples`]).
fn max_resamples(num_items: usize) -> u64 {
    1000 * num_items as u64 + 10_000
}

/// The step a buffer picked for one draw.
pub(crate) struct Pick {
    pub episode: u64,
    pub ts: usize,
    pub weight: f32,
    pub index: Option<ReplayIndex>,
}

#[derive(Clone, Debug)]
pub(crate) struct BufferBase {
    pub store: EpisodeStore,
    pub window: WindowPastEnd,
    pub metrics: MetricsState,
    seen: Vec<(u64, usize)>,
}

/// The shared part of both buffers' states.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct BaseState {
    pub window_past_end: WindowPastEnd,
    pub store: StoreState,
    pub metrics: MetricsState,
}

impl BufferBase {
    pub fn new(capacity: usize, window: WindowPastEnd) -> Result<Self, ReplayError> {
        Ok(BufferBase {
            store: EpisodeStore::new(capacity)?,
            window,
            metrics: MetricsState::default(),
            seen: Vec::new(),
        })
    }

    /// Refuses a request that cannot be served: bad arguments, nothing stored, or (with
    /// [`WindowPastEnd::Resample`]) no episode long enough.
    pub fn check(&self, request: &SampleRequest) -> Result<(), ReplayError> {
        request.validate()?;
        if self.store.num_steps == 0 {
            return Err(ReplayError::Empty);
        }
        let (n_min, longest) = (request.n_step.min(), self.store.longest());
        if self.window == WindowPastEnd::Resample && longest < n_min {
            return Err(ReplayError::NoWindowFits { n_min, longest });
        }
        Ok(())
    }

    /// Fills `out` with a [`check`](Self::check)ed request's rows: per attempt `pick`
    /// draws a step, then n is drawn (RLlib's order), and the window is kept, cut or
    /// redrawn by the rule.
    pub fn sample_into<D: SampleDraws>(
        &mut self,
        request: &SampleRequest,
        draws: &mut D,
        out: &mut ReplayBatch,
        mut pick: impl FnMut(&EpisodeStore, &mut D) -> Result<Pick, ReplayError>,
    ) -> Result<(), ReplayError> {
        out.clear(self.store.dims.unwrap_or_default());
        self.seen.clear();
        let mut resamples = 0;
        while out.len() < request.num_items {
            let p = pick(&self.store, draws)?;
            let n = draw_n(request.n_step, draws);
            let episode = self.store.episode(p.episode);
            let Some(steps) = window_steps(self.window, p.ts, n, episode.len()) else {
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
                p.ts,
                steps,
                request.gamma,
                p.weight,
                request.include_extra_model_outputs,
            );
            out.indices.extend(p.index);
            self.seen.push((p.episode, p.ts));
        }
        self.record_sample(out, resamples);
        Ok(())
    }

    /// Records a sample's metrics: distinct episodes and first steps, mean n, rejections.
    fn record_sample(&mut self, batch: &ReplayBatch, resamples: u64) {
        let seen = &mut self.seen;
        seen.sort_unstable();
        let steps = 1 + seen.windows(2).filter(|w| w[0] != w[1]).count();
        let episodes = 1 + seen.windows(2).filter(|w| w[0].0 != w[1].0).count();
        let n_total: u64 = batch.n_step.iter().map(|&n| u64::from(n)).sum();
        self.metrics.record_sample(
            batch.len() as u64,
            episodes as u64,
            steps as u64,
            n_total,
            resamples,
        );
    }

    pub fn metrics(&mut self) -> ReplayMetrics {
        self.metrics.reduce(
            self.store.episodes.len() as u64,
            self.store.num_steps as u64,
        )
    }

    pub fn state(&self) -> BaseState {
        BaseState {
            window_past_end: self.window,
            store: StoreState::of(&self.store),
            metrics: self.metrics.clone(),
        }
    }

    pub fn from_state(state: BaseState) -> Result<Self, ReplayError> {
        Ok(BufferBase {
            store: state.store.into_store()?,
            window: state.window_past_end,
            metrics: state.metrics,
            seen: Vec::new(),
        })
    }
}

/// The methods both buffers offer on top of their own `sample_into` and `from_state`,
/// delegating to their `base`.
macro_rules! base_accessors {
    ($state:ty) => {
        /// Samples `request.num_items` n-step transitions (see
        /// [`sample_into`](Self::sample_into), which reuses a batch's allocations).
        pub fn sample(
            &mut self,
            request: &SampleRequest,
            draws: &mut impl SampleDraws,
        ) -> Result<ReplayBatch, ReplayError> {
            let mut batch = ReplayBatch::default();
            self.sample_into(request, draws, &mut batch)?;
            Ok(batch)
        }

        /// Replaces this buffer's contents with `state` (RLlib's `set_state()`); on error
        /// the buffer is unchanged.
        pub fn set_state(&mut self, state: $state) -> Result<(), ReplayError> {
            *self = Self::from_state(state)?;
            Ok(())
        }

        /// With another rule for windows that run past an episode's last stored step.
        pub fn with_window_past_end(mut self, rule: WindowPastEnd) -> Self {
            self.base.window = rule;
            self
        }

        /// The rule for windows that run past an episode's last stored step.
        pub fn window_past_end(&self) -> WindowPastEnd {
            self.base.window
        }

        /// Capacity in env steps.
        pub fn capacity(&self) -> usize {
            self.base.store.capacity
        }

        /// Env steps stored (RLlib's `len(buffer)`, `get_num_timesteps()`).
        pub fn len(&self) -> usize {
            self.base.store.num_steps
        }

        /// Whether no env step is stored.
        pub fn is_empty(&self) -> bool {
            self.base.store.num_steps == 0
        }

        /// Episodes stored, finished or not (RLlib's `get_num_episodes()`).
        pub fn num_episodes(&self) -> usize {
            self.base.store.episodes.len()
        }

        /// Episodes evicted so far (RLlib's `get_num_episodes_evicted()`).
        pub fn num_episodes_evicted(&self) -> u64 {
            self.base.store.num_episodes_evicted
        }

        /// The stored episodes, oldest first, each concatenated from its chunks.
        pub fn episodes(&self) -> impl ExactSizeIterator<Item = &Episode> {
            self.base.store.episodes.iter()
        }

        /// The metrics under RLlib's keys (see [`ReplayMetrics`]); like RLlib's
        /// `get_metrics()`, this ends the period the per-period counts cover.
        pub fn metrics(&mut self) -> ReplayMetrics {
            self.base.metrics()
        }
    };
}

pub(crate) use base_accessors;

/// `encode`/`decode` of a state implementing `SplitState`.
macro_rules! split_state_methods {
    () => {
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
            self.base.store.num_steps()
        }
    };
}

pub(crate) use split_state_methods;
