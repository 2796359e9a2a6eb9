//! RLlib's `PrioritizedEpisodeReplayBuffer`: episodes stored by id, transitions sampled in
//! proportion to `priority^α` from a sum tree (Schaul et al. 2016), with importance
//! weights.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::buffer_base::{base_accessors, split_state_methods, BaseState, BufferBase, Pick};
use super::metrics::ReplayMetrics;
use super::sample::{ReplayBatch, ReplayIndex, SampleDraws, SampleRequest};
use super::segment_tree::{MinSegmentTree, SumSegmentTree};
use super::state::{EncodedState, SplitState, StoreState, REPLAY_STATE_FORMAT};
use super::{ReplayError, WindowPastEnd};
use crate::episode::Episode;

/// The smallest priority: RLlib 2.60's `update_priorities` clamps with `max(p, 1e-12)`
/// (the old stack's `prioritized_replay_eps = 1e-6` added to |td| is gone).
pub const PRIORITY_FLOOR: f32 = 1e-12;

/// What a tree leaf holds: the stored step, and a generation that changes whenever the
/// leaf is freed or reassigned.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Slot {
    episode: u64,
    ts: usize,
    generation: u32,
}

/// What [`PrioritizedEpisodeReplayBuffer::update_priorities`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PriorityUpdate {
    /// Priorities written.
    pub updated: usize,
    /// Indices skipped because their transition was evicted after the sample.
    pub stale: usize,
}

/// Prioritized replay over stored episodes (RLlib 2.60's `PrioritizedEpisodeReplayBuffer`,
/// DQN's default buffer).
///
/// Every stored env step occupies one leaf of a sum tree and a min tree holding
/// `priority^α`; a new step gets the largest priority seen so far (1.0 at first). `sample`
/// draws first steps in proportion to `priority^α` and returns importance weights and the
/// [`ReplayIndex`]es to hand back to [`update_priorities`](Self::update_priorities) with
/// the TD errors. By default a draw whose window would run past its episode's last stored
/// step is drawn again ([`WindowPastEnd::Resample`], as RLlib's buffer does).
///
/// Leaves are assigned and freed in RLlib's order (a freed leaf is reused first), so the
/// same episodes and the same uniform draws select the same transitions as RLlib. Trees
/// start at the next power of two ≥ `capacity` leaves (RLlib allocates twice that) and
/// double if one episode longer than the capacity needs more.
#[derive(Clone, Debug)]
pub struct PrioritizedEpisodeReplayBuffer {
    base: BufferBase,
    alpha: f64,
    sum_tree: SumSegmentTree,
    min_tree: MinSegmentTree,
    max_priority: f32,
    /// Per stored episode (oldest first), the leaf of each step.
    leaf_of: VecDeque<Vec<u32>>,
    slots: Vec<Slot>,
    /// Per leaf, the priority before `^α` (0 when free).
    raw: Vec<f32>,
    /// Freed leaves, the next to reuse last (RLlib's `_free_nodes.appendleft/popleft`).
    free: Vec<u32>,
    /// Leaves `next_fresh..` were never used.
    next_fresh: u32,
}

/// Everything a [`PrioritizedEpisodeReplayBuffer`] needs to continue bit for bit (the
/// sampling RNG belongs to the caller and is saved with it). The trees are rebuilt from
/// the per-step priorities, which reproduces them exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrioritizedEpisodeReplayBufferState {
    buffer_type: String,
    format: u32,
    alpha: f64,
    base: BaseState,
    max_priority: f32,
    tree_capacity: usize,
    /// Per stored step (episodes oldest first, steps in order), its leaf.
    leaves: Vec<u32>,
    /// Per leaf, its generation.
    generations: Vec<u32>,
    free: Vec<u32>,
    next_fresh: u32,
    /// Per stored step, its priority before `^α`.
    #[serde(default)]
    priorities: Vec<f32>,
}

impl SplitState for PrioritizedEpisodeReplayBufferState {
    const BUFFER_TYPE: &'static str = "PrioritizedEpisodeReplayBuffer";
    fn header(&self) -> (&str, u32) {
        (&self.buffer_type, self.format)
    }
    fn store_mut(&mut self) -> &mut StoreState {
        &mut self.base.store
    }
    fn take_extra(&mut self) -> Vec<(&'static str, Vec<f32>)> {
        vec![("priorities", std::mem::take(&mut self.priorities))]
    }
    fn extra_names() -> &'static [&'static str] {
        &["priorities"]
    }
    fn put_extra(&mut self, mut extra: Vec<Vec<f32>>) {
        self.priorities = extra.pop().unwrap_or_default();
    }
}

impl PrioritizedEpisodeReplayBufferState {
    split_state_methods!();
}

fn check_alpha(alpha: f64) -> Result<(), ReplayError> {
    if alpha >= 0.0 && alpha.is_finite() {
        Ok(())
    } else {
        Err(ReplayError::InvalidConfig(format!(
            "alpha {alpha} must be finite and >= 0 (0: uniform, 1: fully prioritized; DQN uses 0.6)"
        )))
    }
}

impl PrioritizedEpisodeReplayBuffer {
    /// An empty buffer of `capacity` env steps with prioritization exponent `alpha`
    /// (RLlib's defaults: 10000 and 1.0; DQN's: 50000 and 0.6).
    pub fn new(capacity: usize, alpha: f64) -> Result<Self, ReplayError> {
        check_alpha(alpha)?;
        let base = BufferBase::new(capacity, WindowPastEnd::Resample)?;
        let leaves = capacity
            .checked_next_power_of_two()
            .filter(|&c| c <= 1 << 31)
            .ok_or_else(|| {
                ReplayError::InvalidConfig(format!(
                    "capacity {capacity} is too large (at most 2^31 env steps)"
                ))
            })?;
        Ok(PrioritizedEpisodeReplayBuffer {
            base,
            alpha,
            sum_tree: SumSegmentTree::new(leaves)?,
            min_tree: MinSegmentTree::new(leaves)?,
            max_priority: 1.0,
            leaf_of: VecDeque::new(),
            slots: vec![Slot::default(); leaves],
            raw: vec![0.0; leaves],
            free: Vec::new(),
            next_fresh: 0,
        })
    }

    base_accessors!(PrioritizedEpisodeReplayBufferState);

    /// The prioritization exponent α.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// The largest priority seen (what new steps get).
    pub fn max_priority(&self) -> f32 {
        self.max_priority
    }

    /// Leaves in the trees.
    pub fn tree_capacity(&self) -> usize {
        self.sum_tree.capacity()
    }

    /// The priority (before `^α`) of a sampled transition, `None` once it was evicted.
    pub fn priority(&self, index: ReplayIndex) -> Option<f32> {
        self.slots
            .get(index.leaf())
            .filter(|s| s.generation == index.generation && self.raw[index.leaf()] > 0.0)
            .map(|_| self.raw[index.leaf()])
    }

    fn set_leaf(&mut self, leaf: usize, raw: f32) -> Result<(), ReplayError> {
        self.raw[leaf] = raw;
        let (sum, min) = if raw > 0.0 {
            let p = f64::from(raw).powf(self.alpha);
            (p, p)
        } else {
            (0.0, f64::INFINITY)
        };
        self.sum_tree.set(leaf, sum)?;
        self.min_tree.set(leaf, min)
    }

    fn take_leaf(&mut self) -> Result<usize, ReplayError> {
        if let Some(leaf) = self.free.pop() {
            return Ok(leaf as usize);
        }
        let cap = self.sum_tree.capacity();
        if self.next_fresh as usize == cap {
            let grown = cap
                .checked_mul(2)
                .filter(|&c| c <= 1 << 31)
                .ok_or_else(|| {
                    ReplayError::InvalidConfig("the trees cannot grow past 2^31 leaves".into())
                })?;
            self.sum_tree = self.sum_tree.grown(grown)?;
            self.min_tree = self.min_tree.grown(grown)?;
            self.slots.resize(grown, Slot::default());
            self.raw.resize(grown, 0.0);
        }
        self.next_fresh += 1;
        Ok(self.next_fresh as usize - 1)
    }

    /// Stores `episodes` like [`EpisodeReplayBuffer::add`](super::EpisodeReplayBuffer::add)
    /// (same concatenation, eviction and validation); each new step gets the largest
    /// priority seen so far. Evicted steps free their leaves.
    pub fn add(&mut self, episodes: &[Episode]) -> Result<(), ReplayError> {
        let store = &mut self.base.store;
        let plan = store.plan_add(episodes)?;
        let front = plan.new_front();
        let first = store.num_episodes_evicted;
        let freed: Vec<usize> = store
            .evicted_steps(&plan)
            .map(|(number, ts)| self.leaf_of[(number - first) as usize][ts] as usize)
            .collect();
        for leaf in freed {
            self.set_leaf(leaf, 0.0)?;
            self.free.push(leaf as u32);
        }
        let evicted = (front - first).min(self.leaf_of.len() as u64);
        self.leaf_of.drain(..evicted as usize);

        // Steps are stored first, then given leaves in the same order.
        let mut appended = Vec::new();
        let counts = self.base.store.apply(episodes, plan, |number, ts, steps| {
            appended.push((number, ts, steps))
        });
        let priority = self.max_priority;
        for (number, ts0, steps) in appended {
            let pos = (number - front) as usize;
            if pos == self.leaf_of.len() {
                self.leaf_of.push_back(Vec::new());
            }
            for ts in ts0..ts0 + steps {
                let leaf = self.take_leaf()?;
                self.set_leaf(leaf, priority)?;
                let slot = &mut self.slots[leaf];
                *slot = Slot {
                    episode: number,
                    ts,
                    generation: slot.generation.wrapping_add(1),
                };
                self.leaf_of[pos].push(leaf as u32);
            }
        }
        self.base.metrics.record_add(counts);
        Ok(())
    }

    /// Samples `request.num_items` n-step transitions, first steps drawn in proportion to
    /// `priority^α` (RLlib's `sample(num_items, n_step=, beta=, gamma=)`), with importance
    /// weights `w_i = (N·P(i))^(−β) / (N·P_min)^(−β)`, where `N` is the number of stored
    /// steps and `P_min` the smallest probability of any stored step: RLlib's
    /// normalization, by the largest weight any stored step could get, so `w_i ≤ 1`.
    ///
    /// Fills `out`, reusing its allocations (its contents are unspecified after an
    /// error).
    ///
    /// Draws, per attempt, `uniform()` (scaled by the tree's sum to pick a leaf) then, for
    /// an n-step range, n (`integer(lo, hi)`), as RLlib does.
    pub fn sample_into(
        &mut self,
        request: &SampleRequest,
        draws: &mut impl SampleDraws,
        out: &mut ReplayBatch,
    ) -> Result<(), ReplayError> {
        self.base.check(request)?;
        let (sum_tree, slots) = (&self.sum_tree, &self.slots);
        let total = sum_tree.sum();
        let n = self.base.store.num_steps as f64;
        let max_weight = (self.min_tree.min() / total * n).powf(-request.beta);
        self.base.sample_into(request, draws, out, |_, draws| {
            let leaf = sum_tree
                .find_prefixsum_idx(draws.uniform() * total)
                .ok_or_else(|| ReplayError::BadState(format!("the priorities sum to {total}")))?;
            let p_sample = sum_tree.get(leaf).unwrap_or(0.0) / total;
            let weight = (p_sample * n).powf(-request.beta);
            let slot = slots[leaf];
            Ok(Pick {
                episode: slot.episode,
                ts: slot.ts,
                weight: (weight / max_weight) as f32,
                index: Some(ReplayIndex {
                    leaf: leaf as u32,
                    generation: slot.generation,
                }),
            })
        })
    }

    /// Sets the priorities of sampled transitions from their TD errors (RLlib's
    /// `update_priorities`): priority `max(|td|, 1e-12)`, stored as `priority^α`, and the
    /// largest priority seen grows to it. `indices` are a sample's [`ReplayBatch::indices`]
    /// and `td_errors` their TD errors, row for row; a row sampled twice gets its last
    /// value. Indices of transitions evicted since the sample are skipped and counted.
    ///
    /// All or nothing: mismatched lengths, a non-finite TD error or an index that is not a
    /// leaf of this buffer is an error and nothing changes.
    pub fn update_priorities(
        &mut self,
        indices: &[ReplayIndex],
        td_errors: &[f32],
    ) -> Result<PriorityUpdate, ReplayError> {
        if indices.len() != td_errors.len() {
            return Err(ReplayError::LengthMismatch {
                indices: indices.len(),
                td_errors: td_errors.len(),
            });
        }
        let capacity = self.sum_tree.capacity();
        for (row, (index, &td)) in indices.iter().zip(td_errors).enumerate() {
            if !td.is_finite() {
                return Err(ReplayError::InvalidPriority { row, value: td });
            }
            if index.leaf() >= capacity {
                return Err(ReplayError::UnknownIndex {
                    row,
                    leaf: index.leaf(),
                    capacity,
                });
            }
        }
        let mut done = PriorityUpdate::default();
        for (index, &td) in indices.iter().zip(td_errors) {
            let leaf = index.leaf();
            if self.slots[leaf].generation != index.generation || self.raw[leaf] == 0.0 {
                done.stale += 1;
                continue;
            }
            let priority = td.abs().max(PRIORITY_FLOOR);
            self.set_leaf(leaf, priority)?;
            self.max_priority = self.max_priority.max(priority);
            done.updated += 1;
        }
        Ok(done)
    }

    /// The state to continue from (RLlib's `get_state()`).
    pub fn get_state(&self) -> PrioritizedEpisodeReplayBufferState {
        let leaves: Vec<u32> = self.leaf_of.iter().flatten().copied().collect();
        PrioritizedEpisodeReplayBufferState {
            buffer_type: PrioritizedEpisodeReplayBufferState::BUFFER_TYPE.into(),
            format: REPLAY_STATE_FORMAT,
            alpha: self.alpha,
            base: self.base.state(),
            max_priority: self.max_priority,
            tree_capacity: self.sum_tree.capacity(),
            priorities: leaves.iter().map(|&l| self.raw[l as usize]).collect(),
            leaves,
            generations: self.slots.iter().map(|s| s.generation).collect(),
            free: self.free.clone(),
            next_fresh: self.next_fresh,
        }
    }

    /// A buffer continuing from `state`; every inconsistency is an error.
    pub fn from_state(state: PrioritizedEpisodeReplayBufferState) -> Result<Self, ReplayError> {
        state.check_header()?;
        let bad = |m: String| ReplayError::BadState(m);
        check_alpha(state.alpha)?;
        let base = BufferBase::from_state(state.base)?;
        let store = &base.store;
        let cap = state.tree_capacity;
        if cap == 0 || !cap.is_power_of_two() || cap > 1 << 31 {
            return Err(bad(format!(
                "tree capacity {cap} is not a power of two <= 2^31"
            )));
        }
        if state.leaves.len() != store.num_steps || state.priorities.len() != store.num_steps {
            return Err(bad(format!(
                "{} leaves and {} priorities for {} stored steps",
                state.leaves.len(),
                state.priorities.len(),
                store.num_steps
            )));
        }
        if state.generations.len() != cap || state.next_fresh as usize > cap {
            return Err(bad(format!(
                "{} generations and {} used leaves for {cap} leaves",
                state.generations.len(),
                state.next_fresh
            )));
        }
        if !(state.max_priority.is_finite() && state.max_priority >= PRIORITY_FLOOR) {
            return Err(bad(format!(
                "max priority {} is not a priority",
                state.max_priority
            )));
        }
        let mut buffer = PrioritizedEpisodeReplayBuffer::new(store.capacity, state.alpha)?;
        buffer.max_priority = state.max_priority;
        buffer.slots = state
            .generations
            .iter()
            .map(|&generation| Slot {
                generation,
                ..Slot::default()
            })
            .collect();
        buffer.raw = vec![0.0; cap];
        let mut used = vec![false; cap];
        let mut leaves = state.leaves.iter().zip(&state.priorities);
        for (pos, e) in store.episodes.iter().enumerate() {
            let number = store.num_episodes_evicted + pos as u64;
            let mut of = Vec::with_capacity(e.len());
            for ts in 0..e.len() {
                let (&leaf, &p) = leaves.next().ok_or_else(|| bad("too few leaves".into()))?;
                let l = leaf as usize;
                if l >= state.next_fresh as usize || std::mem::replace(&mut used[l], true) {
                    return Err(bad(format!("leaf {leaf} is unused or held twice")));
                }
                if !(p.is_finite() && p >= PRIORITY_FLOOR) {
                    return Err(bad(format!(
                        "priority {p} of leaf {leaf} is not a priority"
                    )));
                }
                buffer.slots[l].episode = number;
                buffer.slots[l].ts = ts;
                buffer.raw[l] = p;
                of.push(leaf);
            }
            buffer.leaf_of.push_back(of);
        }
        for &leaf in &state.free {
            let l = leaf as usize;
            if l >= state.next_fresh as usize || std::mem::replace(&mut used[l], true) {
                return Err(bad(format!("free leaf {leaf} is unused or held")));
            }
        }
        if used[..state.next_fresh as usize].iter().any(|u| !u) {
            return Err(bad("some used leaf is neither held nor free".into()));
        }
        let alpha = state.alpha;
        let sums: Vec<f64> = buffer
            .raw
            .iter()
            .map(|&r| {
                if r > 0.0 {
                    f64::from(r).powf(alpha)
                } else {
                    0.0
                }
            })
            .collect();
        let mins: Vec<f64> = sums
            .iter()
            .zip(&buffer.raw)
            .map(|(&s, &r)| if r > 0.0 { s } else { f64::INFINITY })
            .collect();
        buffer.sum_tree = SumSegmentTree::from_leaves(cap, &sums)?;
        buffer.min_tree = MinSegmentTree::from_leaves(cap, &mins)?;
        buffer.free = state.free;
        buffer.next_fresh = state.next_fresh;
        buffer.base = base;
        Ok(buffer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::store::tests::chunk;
    use proptest::prelude::*;
    use rand::{Rng as _, SeedableRng};

    /// The bookkeeping agrees with itself: every stored step holds one leaf that points
    /// back at it, free and held leaves partition the used ones, and the trees hold
    /// `raw^α` (free: 0 and +∞).
    fn check_invariants(b: &PrioritizedEpisodeReplayBuffer) {
        let cap = b.sum_tree.capacity();
        assert_eq!(b.leaf_of.len(), b.base.store.episodes.len());
        let mut held = vec![false; cap];
        for (pos, (leaves, e)) in b.leaf_of.iter().zip(&b.base.store.episodes).enumerate() {
            assert_eq!(leaves.len(), e.len());
            for (ts, &leaf) in leaves.iter().enumerate() {
                let slot = b.slots[leaf as usize];
                assert_eq!(
                    (slot.episode, slot.ts),
                    (b.base.store.num_episodes_evicted + pos as u64, ts)
                );
                assert!(!std::mem::replace(&mut held[leaf as usize], true));
                assert!(b.raw[leaf as usize] >= PRIORITY_FLOOR);
            }
        }
        for &leaf in &b.free {
            assert!(
                !std::mem::replace(&mut held[leaf as usize], true),
                "free leaf {leaf} held"
            );
        }
        let used = b.next_fresh as usize;
        assert!(held[..used].iter().all(|&h| h) && held[used..].iter().all(|&h| !h));
        let mut sum = 0.0;
        for leaf in 0..cap {
            let (s, m) = (b.sum_tree.get(leaf).unwrap(), b.min_tree.get(leaf).unwrap());
            if b.raw[leaf] > 0.0 {
                let p = f64::from(b.raw[leaf]).powf(b.alpha);
                assert_eq!((s, m), (p, p));
            } else {
                assert_eq!((s, m), (0.0, f64::INFINITY));
            }
            sum += s;
        }
        assert!((b.sum_tree.sum() - sum).abs() <= 1e-9 * sum.max(1.0));
        assert_eq!(
            b.base.store.num_steps,
            b.leaf_of.iter().map(Vec::len).sum::<usize>()
        );
    }

    #[test]
    fn trees_grow_for_an_episode_longer_than_the_capacity() {
        let mut b = PrioritizedEpisodeReplayBuffer::new(4, 0.6).unwrap();
        assert_eq!(b.tree_capacity(), 4);
        b.add(&[chunk(1, 0, 3, false, false)]).unwrap();
        b.add(&[chunk(1, 3, 17, false, false)]).unwrap();
        assert_eq!((b.len(), b.tree_capacity()), (20, 32));
        check_invariants(&b);
        let mut rng = crate::Rng::seed_from_u64(3);
        let old = b.sample(&SampleRequest::new(16), &mut rng).unwrap();
        // The next episode evicts it and reuses its leaves, the last freed first.
        b.add(&[chunk(2, 0, 2, true, false)]).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b.leaf_of[0], [19, 18]);
        check_invariants(&b);
        // Updates for the evicted steps (their leaves now free or reused) are skipped.
        let done = b.update_priorities(&old.indices, &[7.0; 16]).unwrap();
        assert_eq!((done.updated, done.stale), (0, 16));
        check_invariants(&b);
        assert_eq!(b.max_priority(), 1.0);
        let batch = b
            .sample(&SampleRequest::new(4), &mut crate::Rng::seed_from_u64(0))
            .unwrap();
        assert!(batch.episode_ids.iter().all(|&id| id == 2));
    }

    proptest! {
        #[test]
        fn bookkeeping_stays_consistent(seed in any::<u64>(), capacity in 1usize..30, alpha in 0.0f64..2.0) {
            let mut rng = crate::Rng::seed_from_u64(seed);
            let mut b = PrioritizedEpisodeReplayBuffer::new(capacity, alpha).unwrap();
            let mut running: Vec<(u64, usize)> = vec![];
            let mut next_id = 0;
            for _ in 0..30 {
                let mut chunks = vec![];
                for _ in 0..rng.gen_range(1..4) {
                    if running.is_empty() || rng.gen_bool(0.3) {
                        running.push((next_id, 0));
                        next_id += 1;
                    }
                    let i = rng.gen_range(0..running.len());
                    let (id, t) = running[i];
                    if chunks.iter().any(|c: &Episode| c.id == id) {
                        continue;
                    }
                    let len = rng.gen_range(1..8);
                    let done = rng.gen_bool(0.3);
                    chunks.push(chunk(id, t, len, done, false));
                    if done {
                        running.remove(i);
                    } else {
                        running[i].1 += len;
                    }
                }
                b.add(&chunks).unwrap();
                check_invariants(&b);
                if let Ok(batch) = b.sample(&SampleRequest::new(5).beta(0.5), &mut rng) {
                    let td: Vec<f32> = (0..batch.len()).map(|_| rng.gen_range(-3.0..3.0)).collect();
                    b.update_priorities(&batch.indices, &td).unwrap();
                    check_invariants(&b);
                }
                let restored = PrioritizedEpisodeReplayBuffer::from_state(b.get_state()).unwrap();
                check_invariants(&restored);
                prop_assert_eq!(&restored.sum_tree, &b.sum_tree);
                prop_assert_eq!(&restored.min_tree, &b.min_tree);
            }
        }
    }
}
