//! The episodes a replay buffer holds, shared by both buffers: chunks concatenated to
//! their stored episode, whole oldest episodes evicted past the capacity, and the order in
//! which steps arrived (RLlib's `_indices`, kept as one run per stored chunk).

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::ReplayError;
use crate::episode::Episode;

/// Consecutive steps `ts..ts + len` of stored episode number `episode`, added by one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Run {
    pub episode: u64,
    pub ts: usize,
    pub len: usize,
}

/// What one `add` call does to a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// Continue the episode with this number (stored, or new earlier in this call).
    Continue(u64),
    /// Start a new stored episode with this number.
    New(u64),
    /// Nothing to store: a chunk without steps (its continuation starts at the same `t`
    /// with the same observation, so it continues the stored episode or starts a new one
    /// just the same). Env runners never return such chunks.
    Skip,
}

/// A validated `add` call, before anything changed.
pub(crate) struct AddPlan {
    targets: Vec<Target>,
    /// Episodes numbered below this are gone once the call is applied.
    new_front: u64,
}

impl AddPlan {
    /// Episodes numbered below this are gone once the plan is applied.
    pub fn new_front(&self) -> u64 {
        self.new_front
    }
}

/// Counts of one applied `add` call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct AddCounts {
    pub episodes_added: u64,
    pub env_steps_added: u64,
    pub episodes_evicted: u64,
    pub env_steps_evicted: u64,
}

/// Stored episodes in arrival order, numbered from `num_episodes_evicted` (RLlib's
/// `episode_id_to_index` minus `_num_episodes_evicted`).
#[derive(Clone, Debug)]
pub(crate) struct EpisodeStore {
    pub capacity: usize,
    pub episodes: VecDeque<Episode>,
    index_of: HashMap<u64, u64>,
    pub num_episodes_evicted: u64,
    pub num_steps: usize,
    pub dims: Option<[usize; 3]>,
    runs: Vec<Run>,
    /// `run_ends[i]`: steps in runs `0..=i`.
    run_ends: Vec<usize>,
    longest: usize,
}

fn dims_of(e: &Episode) -> [usize; 3] {
    [e.obs_dim, e.act_dim, e.dist_dim]
}

fn check_chunk_shape(e: &Episode) -> Result<(), String> {
    let n = e.len();
    let checks = [
        ("observations", e.observations.len(), (n + 1) * e.obs_dim),
        ("actions", e.actions.len(), n * e.act_dim),
        ("action_logp", e.action_logp.len(), n),
        (
            "action_dist_inputs",
            e.action_dist_inputs.len(),
            n * e.dist_dim,
        ),
    ];
    for (name, got, want) in checks {
        if got != want {
            return Err(format!(
                "`{name}` holds {got} values but {n} steps need {want}"
            ));
        }
    }
    if n == 0 && e.is_done() {
        return Err("a chunk without steps cannot be terminated or truncated".into());
    }
    Ok(())
}

impl EpisodeStore {
    pub fn new(capacity: usize) -> Result<Self, ReplayError> {
        if capacity == 0 {
            return Err(ReplayError::InvalidConfig(
                "capacity must be at least 1 env step (RLlib's default is 10000, DQN's 50000)"
                    .into(),
            ));
        }
        Ok(EpisodeStore {
            capacity,
            episodes: VecDeque::new(),
            index_of: HashMap::new(),
            num_episodes_evicted: 0,
            num_steps: 0,
            dims: None,
            runs: Vec::new(),
            run_ends: Vec::new(),
            longest: 0,
        })
    }

    /// The stored episode with this number.
    pub fn episode(&self, number: u64) -> &Episode {
        &self.episodes[(number - self.num_episodes_evicted) as usize]
    }

    /// The longest stored episode's steps.
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// Step `k` (`0..num_steps`) in arrival order: `(episode number, ts)`.
    pub fn step_in_arrival_order(&self, k: usize) -> (u64, usize) {
        let r = self.run_ends.partition_point(|&end| end <= k);
        let run = self.runs[r];
        let start = self.run_ends[r] - run.len;
        (run.episode, run.ts + (k - start))
    }

    /// Checks every chunk and decides which episodes the call evicts, changing nothing.
    ///
    /// The eviction rule is RLlib's `PrioritizedEpisodeReplayBuffer.add`: with the
    /// incoming steps counted, evict whole oldest episodes while the buffer holds more than
    /// `capacity` steps and more than one episode would remain; a chunk continuing an
    /// evicted episode goes with it. Unlike RLlib it also evicts episodes that arrive in
    /// the same call when the old ones do not suffice (RLlib pops an empty deque there).
    pub fn plan_add(&self, chunks: &[Episode]) -> Result<AddPlan, ReplayError> {
        let bad = |i: usize, e: &Episode, reason: String| ReplayError::BadChunk {
            index: i,
            id: e.id,
            reason,
        };
        let mut dims = self.dims;
        // Per touched id: (episode number, t at its end, done, chunk holding its last obs).
        let mut touched: HashMap<u64, (u64, usize, bool, Option<usize>)> = HashMap::new();
        let mut next_number = self.num_episodes_evicted + self.episodes.len() as u64;
        let mut targets = Vec::with_capacity(chunks.len());
        let mut incoming: HashMap<u64, usize> = HashMap::new();
        for (i, chunk) in chunks.iter().enumerate() {
            check_chunk_shape(chunk).map_err(|r| bad(i, chunk, r))?;
            match dims {
                None => dims = Some(dims_of(chunk)),
                Some(d) if d != dims_of(chunk) => {
                    return Err(bad(
                        i,
                        chunk,
                        format!(
                            "(obs_dim, act_dim, dist_dim) = {:?} but the buffer holds {:?}",
                            dims_of(chunk),
                            d
                        ),
                    ))
                }
                Some(_) => {}
            }
            let previous = touched.get(&chunk.id).copied().or_else(|| {
                self.index_of.get(&chunk.id).map(|&number| {
                    let e = self.episode(number);
                    (number, e.t_started + e.len(), e.is_done(), None)
                })
            });
            let target = match previous {
                None if chunk.is_empty() => Target::Skip,
                None => {
                    next_number += 1;
                    Target::New(next_number - 1)
                }
                Some((number, t_end, done, last_chunk)) => {
                    if done {
                        return Err(bad(
                            i,
                            chunk,
                            format!("the episode already ended (terminated or truncated) at t={t_end}; nothing can continue it"),
                        ));
                    }
                    if chunk.t_started != t_end {
                        return Err(bad(
                            i,
                            chunk,
                            format!(
                                "it starts at t={} but the episode so far ends at t={t_end}; add each chunk once, in order",
                                chunk.t_started
                            ),
                        ));
                    }
                    let last_obs = match last_chunk {
                        Some(c) => chunks[c].last_obs(),
                        None => self.episode(number).last_obs(),
                    };
                    let same = last_obs.len() == chunk.obs(0).len()
                        && last_obs
                            .iter()
                            .zip(chunk.obs(0))
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                    if !same {
                        return Err(bad(
                            i,
                            chunk,
                            format!("its first observation differs from the episode's last one at t={t_end}: chunks of one episode must meet at the same observation"),
                        ));
                    }
                    if chunk.is_empty() {
                        Target::Skip
                    } else {
                        Target::Continue(number)
                    }
                }
            };
            let number = match target {
                Target::Continue(n) | Target::New(n) => n,
                Target::Skip => {
                    targets.push(Target::Skip);
                    continue;
                }
            };
            touched.insert(
                chunk.id,
                (
                    number,
                    chunk.t_started + chunk.len(),
                    chunk.is_done(),
                    Some(i),
                ),
            );
            *incoming.entry(number).or_default() += chunk.len();
            targets.push(target);
        }

        let mut total = self.num_steps + incoming.values().sum::<usize>();
        let mut front = self.num_episodes_evicted;
        let mut remaining = next_number - front;
        while total > self.capacity && remaining > 1 {
            let stored = self
                .episodes
                .get((front - self.num_episodes_evicted) as usize)
                .map_or(0, Episode::len);
            total -= stored + incoming.get(&front).copied().unwrap_or(0);
            front += 1;
            remaining -= 1;
        }
        Ok(AddPlan {
            targets,
            new_front: front,
        })
    }

    /// The steps an applied `plan` evicts, in arrival order (RLlib frees their tree leaves
    /// in this order).
    pub fn evicted_steps(&self, plan: &AddPlan) -> impl Iterator<Item = (u64, usize)> + '_ {
        let front = plan.new_front;
        // Nothing to scan when nothing is evicted (most calls).
        let runs = if front > self.num_episodes_evicted {
            &self.runs[..]
        } else {
            &[]
        };
        runs.iter()
            .filter(move |r| r.episode < front)
            .flat_map(|r| (r.ts..r.ts + r.len).map(move |ts| (r.episode, ts)))
    }

    /// Applies a plan from [`plan_add`](Self::plan_add) for the same `chunks`;
    /// `on_append(episode number, first ts, steps)` is called for each chunk stored, in
    /// order, after its steps are stored.
    pub fn apply(
        &mut self,
        chunks: &[Episode],
        plan: AddPlan,
        mut on_append: impl FnMut(u64, usize, usize),
    ) -> AddCounts {
        let mut counts = AddCounts::default();
        let front = plan.new_front;
        if self.dims.is_none() {
            self.dims = chunks.first().map(dims_of);
        }
        let mut evicted_any = false;
        while self.num_episodes_evicted < front {
            // `None`: an episode of this call, evicted before it was stored.
            if let Some(e) = self.episodes.pop_front() {
                self.index_of.remove(&e.id);
                self.num_steps -= e.len();
                counts.episodes_evicted += 1;
                counts.env_steps_evicted += e.len() as u64;
                evicted_any = true;
            }
            self.num_episodes_evicted += 1;
        }
        if evicted_any {
            self.runs.retain(|r| r.episode >= front);
            self.rebuild_run_ends();
        }
        for (chunk, target) in chunks.iter().zip(plan.targets) {
            counts.env_steps_added += chunk.len() as u64;
            let number = match target {
                Target::New(n) => {
                    counts.episodes_added += 1;
                    n
                }
                Target::Continue(n) => n,
                Target::Skip => continue,
            };
            if number < front {
                // Evicted in this very call: counted as added and evicted.
                counts.env_steps_evicted += chunk.len() as u64;
                if matches!(target, Target::New(_)) {
                    counts.episodes_evicted += 1;
                }
                continue;
            }
            let pos = (number - front) as usize;
            let ts = if pos == self.episodes.len() {
                self.index_of.insert(chunk.id, number);
                self.episodes.push_back(chunk.clone());
                0
            } else {
                let e = &mut self.episodes[pos];
                let old = e.len();
                e.observations
                    .extend_from_slice(&chunk.observations[chunk.obs_dim..]);
                e.actions.extend_from_slice(&chunk.actions);
                e.rewards.extend_from_slice(&chunk.rewards);
                e.action_logp.extend_from_slice(&chunk.action_logp);
                e.action_dist_inputs
                    .extend_from_slice(&chunk.action_dist_inputs);
                e.is_terminated |= chunk.is_terminated;
                e.is_truncated |= chunk.is_truncated;
                old
            };
            self.num_steps += chunk.len();
            self.runs.push(Run {
                episode: number,
                ts,
                len: chunk.len(),
            });
            self.run_ends.push(self.num_steps);
            on_append(number, ts, chunk.len());
            self.longest = self.longest.max(self.episodes[pos].len());
        }
        if evicted_any {
            self.longest = self.episodes.iter().map(Episode::len).max().unwrap_or(0);
        }
        counts
    }

    fn rebuild_run_ends(&mut self) {
        self.run_ends.clear();
        let mut acc = 0;
        for r in &self.runs {
            acc += r.len;
            self.run_ends.push(acc);
        }
    }

    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// A store holding `episodes` (numbered from `num_episodes_evicted`) whose steps arrived
    /// in `runs`; every inconsistency is an error.
    pub fn restore(
        capacity: usize,
        dims: Option<[usize; 3]>,
        episodes: Vec<Episode>,
        num_episodes_evicted: u64,
        runs: Vec<Run>,
    ) -> Result<Self, ReplayError> {
        let bad = |m: String| ReplayError::BadState(m);
        let mut store = EpisodeStore::new(capacity)?;
        store.dims = dims;
        for (i, e) in episodes.iter().enumerate() {
            check_chunk_shape(e).map_err(|r| bad(format!("episode {i} (id {}): {r}", e.id)))?;
            if dims != Some(dims_of(e)) {
                return Err(bad(format!(
                    "episode {i} has dims {:?}, the buffer {dims:?}",
                    dims_of(e)
                )));
            }
            let number = num_episodes_evicted + i as u64;
            if store.index_of.insert(e.id, number).is_some() {
                return Err(bad(format!("episode id {} is stored twice", e.id)));
            }
            store.num_steps += e.len();
        }
        // The runs must cover every stored step exactly once, each episode in ts order.
        let mut covered: Vec<usize> = vec![0; episodes.len()];
        for r in &runs {
            let pos = r
                .episode
                .checked_sub(num_episodes_evicted)
                .map(|p| p as usize)
                .filter(|&p| p < episodes.len())
                .ok_or_else(|| {
                    bad(format!(
                        "a run names episode {} which is not stored",
                        r.episode
                    ))
                })?;
            if r.len == 0 || r.ts != covered[pos] || r.ts + r.len > episodes[pos].len() {
                return Err(bad(format!(
                    "run {:?} does not continue episode {} (covered up to {} of {} steps)",
                    r,
                    r.episode,
                    covered[pos],
                    episodes[pos].len()
                )));
            }
            covered[pos] += r.len;
        }
        if let Some(pos) = (0..episodes.len()).find(|&p| covered[p] != episodes[p].len()) {
            return Err(bad(format!(
                "the runs cover {} of episode {}'s {} steps",
                covered[pos],
                num_episodes_evicted + pos as u64,
                episodes[pos].len()
            )));
        }
        store.longest = episodes.iter().map(Episode::len).max().unwrap_or(0);
        store.episodes = episodes.into();
        store.num_episodes_evicted = num_episodes_evicted;
        store.runs = runs;
        store.rebuild_run_ends();
        Ok(store)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A chunk of `len` steps of episode `id` from `t0`: observation `t` is `[id, t]`,
    /// action `t % 2`, reward `t + 1`.
    pub fn chunk(id: u64, t0: usize, len: usize, terminated: bool, truncated: bool) -> Episode {
        let obs = |t: usize| [id as f32, t as f32];
        let mut e = Episode::new(id, t0, &obs(t0), 1, 2);
        for t in t0..t0 + len {
            e.add_step(
                &[(t % 2) as f32],
                -0.5,
                &[0.1, 0.2],
                (t + 1) as f32,
                &obs(t + 1),
            );
        }
        e.is_terminated = terminated;
        e.is_truncated = truncated;
        e
    }

    fn add(store: &mut EpisodeStore, chunks: &[Episode]) -> Result<AddCounts, ReplayError> {
        let plan = store.plan_add(chunks)?;
        Ok(store.apply(chunks, plan, |_, _, _| {}))
    }

    #[test]
    fn chunks_concatenate_and_validate() {
        let mut s = EpisodeStore::new(100).unwrap();
        add(
            &mut s,
            &[chunk(7, 0, 3, false, false), chunk(8, 0, 2, true, false)],
        )
        .unwrap();
        add(
            &mut s,
            &[chunk(7, 3, 2, false, false), chunk(7, 5, 1, false, true)],
        )
        .unwrap();
        assert_eq!(s.episodes.len(), 2);
        let e = &s.episodes[0];
        assert_eq!(
            (e.len(), e.is_truncated, e.observations.len()),
            (6, true, 14)
        );
        assert_eq!(e.last_obs(), &[7.0, 6.0]);
        assert_eq!(s.num_steps, 8);
        // Arrival order: 7:0..3, 8:0..2, 7:3..5, 7:5..6.
        let order: Vec<_> = (0..8).map(|k| s.step_in_arrival_order(k)).collect();
        assert_eq!(
            order,
            [
                (0, 0),
                (0, 1),
                (0, 2),
                (1, 0),
                (1, 1),
                (0, 3),
                (0, 4),
                (0, 5)
            ]
        );

        add(&mut s, &[chunk(9, 0, 2, false, false)]).unwrap();
        let err = |c: Episode| add(&mut s.clone(), &[c]).unwrap_err().to_string();
        assert!(err(chunk(8, 2, 1, false, false)).contains("already ended"));
        assert!(err(chunk(9, 3, 1, false, false)).contains("starts at t=3"));
        let mut moved = chunk(9, 2, 1, false, false);
        moved.observations[0] += 1.0;
        assert!(err(moved).contains("first observation"));
        let mut short = chunk(10, 0, 2, false, false);
        short.actions.pop();
        assert!(err(short).contains("`actions`"));
        let wide = {
            let mut e = Episode::new(11, 0, &[0.0, 0.0, 0.0], 1, 2);
            e.add_step(&[0.0], 0.0, &[0.0, 0.0], 1.0, &[0.0, 0.0, 0.0]);
            e
        };
        assert!(err(wide).contains("obs_dim"));
        // A failed call changes nothing, even when its first chunks were fine.
        let before = s.num_steps;
        assert!(add(
            &mut s,
            &[chunk(12, 0, 2, false, false), chunk(8, 2, 1, false, false)]
        )
        .is_err());
        assert_eq!(s.num_steps, before);
        assert!(!s.index_of.contains_key(&12));
    }

    #[test]
    fn chunks_without_steps_are_checked_then_skipped() {
        let mut s = EpisodeStore::new(10).unwrap();
        // A reset-only chunk stores nothing; its continuation (same t, same obs) starts
        // the episode just the same.
        add(&mut s, &[chunk(1, 0, 0, false, false)]).unwrap();
        assert_eq!((s.episodes.len(), s.num_steps), (0, 0));
        add(
            &mut s,
            &[chunk(1, 0, 2, false, false), chunk(1, 2, 0, false, false)],
        )
        .unwrap();
        assert_eq!((s.episodes.len(), s.num_steps, s.runs().len()), (1, 2, 1));
        // Still checked: an empty chunk at the wrong t is refused.
        let err = add(&mut s, &[chunk(1, 5, 0, false, false)]).unwrap_err();
        assert!(err.to_string().contains("starts at t=5"), "{err}");
        let mut done_empty = chunk(2, 0, 0, false, false);
        done_empty.is_terminated = true;
        assert!(add(&mut s, &[done_empty]).is_err());
    }

    #[test]
    fn eviction_removes_whole_oldest_episodes() {
        let mut s = EpisodeStore::new(10).unwrap();
        add(
            &mut s,
            &[chunk(1, 0, 4, true, false), chunk(2, 0, 4, false, false)],
        )
        .unwrap();
        // 4 + 4 + 2 + 3 = 13 > 10: episode 1 goes.
        let c = add(
            &mut s,
            &[chunk(2, 4, 2, false, false), chunk(3, 0, 3, false, false)],
        )
        .unwrap();
        assert_eq!(
            (
                c.episodes_evicted,
                c.env_steps_evicted,
                c.env_steps_added,
                c.episodes_added
            ),
            (1, 4, 5, 1)
        );
        assert_eq!(s.num_steps, 9);
        assert_eq!(s.num_episodes_evicted, 1);
        assert_eq!(s.episodes.iter().map(|e| e.id).collect::<Vec<_>>(), [2, 3]);
        assert!(s.runs().iter().all(|r| r.episode >= 1));
        // The oldest episode is continued and evicted in the same call: the chunk goes too.
        let c = add(&mut s, &[chunk(2, 6, 3, false, false)]).unwrap();
        assert_eq!(
            (c.episodes_evicted, c.env_steps_evicted, c.env_steps_added),
            (1, 9, 3)
        );
        assert_eq!(s.episodes.iter().map(|e| e.id).collect::<Vec<_>>(), [3]);
        // One episode longer than the capacity stays (RLlib's temporary overflow) ...
        let c = add(&mut s, &[chunk(3, 3, 12, false, false)]).unwrap();
        assert_eq!((c.episodes_evicted, s.num_steps), (0, 15));
        // ... until another arrives.  Two new episodes of 9 and 4 steps: 3 and 4 go.
        let c = add(
            &mut s,
            &[chunk(4, 0, 9, true, false), chunk(5, 0, 4, false, false)],
        )
        .unwrap();
        assert_eq!((c.episodes_evicted, c.episodes_added), (2, 2));
        assert_eq!(s.episodes.iter().map(|e| e.id).collect::<Vec<_>>(), [5]);
        assert_eq!((s.num_steps, s.longest()), (4, 4));
        // Episode id 5 is the fifth episode stored: number 4.
        assert_eq!(s.step_in_arrival_order(3), (4, 3));
    }
}
