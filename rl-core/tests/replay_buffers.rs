//! The replay buffers against a brute-force model: storage, eviction and n-step
//! transitions of random episodes (terminated, truncated and still running, added in
//! chunks across several `add` calls from several envs), proportional sampling, importance
//! weights, priority updates, checkpoint round trips and determinism.

use proptest::prelude::*;
use rand::{Rng as _, SeedableRng};
use rl_core::episode::Episode;
use rl_core::replay::{
    EncodedState, EpisodeReplayBuffer, EpisodeReplayBufferState, NStep,
    PrioritizedEpisodeReplayBuffer, PrioritizedEpisodeReplayBufferState, ReplayBatch, ReplayError,
    SampleDraws, SampleRequest, WindowPastEnd,
};
use rl_core::Rng;

// ---------------------------------------------------------------------------------------
// Episodes as env runners produce them.

/// Observation of episode `id` at step `t`.
fn obs(id: u64, t: usize) -> Vec<f32> {
    vec![
        id as f32,
        t as f32,
        ((id * 7 + t as u64 * 3) % 11) as f32 - 5.0,
    ]
}

/// Sample calls of `num_envs` envs stepping `fragment` steps each per call (RLlib's
/// `rollout_fragment_length`), episodes of random lengths ending terminated or truncated;
/// the episodes running at the end stay unfinished. Each call's chunks list the envs in
/// order, an env's finished chunk before the chunk of the episode it starts.
fn sample_calls(seed: u64, num_envs: usize, fragment: usize, calls: usize) -> Vec<Vec<Episode>> {
    let mut rng = Rng::seed_from_u64(seed);
    let mut next_id = 100;
    let mut current: Vec<(Episode, usize)> = (0..num_envs)
        .map(|_| {
            next_id += 1;
            (
                Episode::new(next_id - 1, 0, &obs(next_id - 1, 0), 1, 2),
                rng.gen_range(1..14),
            )
        })
        .collect();
    let mut out = Vec::new();
    for _ in 0..calls {
        let mut chunks = Vec::new();
        for (chunk, episode_len) in current.iter_mut() {
            for _ in 0..fragment {
                let t = chunk.t_started + chunk.len();
                let action = rng.gen_range(0..3) as f32;
                let reward = (rng.gen_range(-8..9) as f32) * 0.25;
                chunk.add_step(&[action], -0.3, &[0.5, -0.5], reward, &obs(chunk.id, t + 1));
                if t + 1 == *episode_len {
                    if rng.gen_bool(0.5) {
                        chunk.is_terminated = true;
                    } else {
                        chunk.is_truncated = true;
                    }
                    next_id += 1;
                    let id = next_id - 1;
                    let finished = std::mem::replace(chunk, Episode::new(id, 0, &obs(id, 0), 1, 2));
                    chunks.push(finished);
                    *episode_len = rng.gen_range(1..14);
                }
            }
            // Env runners return no empty chunk.
            if !chunk.is_empty() {
                let t = chunk.t_started + chunk.len();
                let next = Episode::new(chunk.id, t, &obs(chunk.id, t), 1, 2);
                chunks.push(std::mem::replace(chunk, next));
            }
        }
        out.push(chunks);
    }
    out
}

// ---------------------------------------------------------------------------------------
// The brute-force model: RLlib's rule written the slow way.

#[derive(Clone, Debug)]
struct ModelEpisode {
    id: u64,
    t0: usize,
    obs: Vec<Vec<f32>>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    terminated: bool,
    truncated: bool,
}

#[derive(Clone, Debug, Default)]
struct Model {
    capacity: usize,
    episodes: Vec<ModelEpisode>,
    /// Stored steps in arrival order: (episode id, step within the stored episode).
    arrival: Vec<(u64, usize)>,
    added: u64,
    evicted: u64,
}

impl Model {
    fn steps(&self) -> usize {
        self.episodes.iter().map(|e| e.rewards.len()).sum()
    }

    /// Appends every chunk, then drops whole oldest episodes while over capacity and more
    /// than one remains.
    fn add(&mut self, chunks: &[Episode]) {
        for c in chunks {
            self.added += c.len() as u64;
            let pos = self.episodes.iter().position(|e| e.id == c.id);
            let pos = pos.unwrap_or_else(|| {
                self.episodes.push(ModelEpisode {
                    id: c.id,
                    t0: c.t_started,
                    obs: vec![c.obs(0).to_vec()],
                    actions: vec![],
                    rewards: vec![],
                    terminated: false,
                    truncated: false,
                });
                self.episodes.len() - 1
            });
            let e = &mut self.episodes[pos];
            for t in 0..c.len() {
                self.arrival.push((c.id, e.rewards.len()));
                e.obs.push(c.obs(t + 1).to_vec());
                e.actions.push(c.actions[t]);
                e.rewards.push(c.rewards[t]);
            }
            e.terminated |= c.is_terminated;
            e.truncated |= c.is_truncated;
        }
        while self.steps() > self.capacity && self.episodes.len() > 1 {
            let gone = self.episodes.remove(0);
            self.evicted += gone.rewards.len() as u64;
            self.arrival.retain(|&(id, _)| id != gone.id);
        }
    }

    fn episode(&self, id: u64) -> &ModelEpisode {
        self.episodes.iter().find(|e| e.id == id).expect("stored")
    }

    /// The transition of `steps` steps from step `ts` of episode `id`.
    fn row(&self, id: u64, ts: usize, steps: usize, gamma: f64) -> Row {
        let e = self.episode(id);
        let end = ts + steps;
        let at_end = end == e.rewards.len();
        Row {
            obs: e.obs[ts].clone(),
            next_obs: e.obs[end].clone(),
            action: e.actions[ts],
            // Σ γ^k r, summed forwards with powers (not Horner): an independent reference.
            reward: (0..steps)
                .map(|k| gamma.powi(k as i32) * f64::from(e.rewards[ts + k]))
                .sum(),
            terminated: at_end && e.terminated,
            truncated: at_end && e.truncated,
            n_step: steps as u32,
            id,
            env_t: (e.t0 + ts) as u64,
        }
    }

    fn check_store<'a>(&self, stored: impl Iterator<Item = &'a Episode>) {
        let stored: Vec<&Episode> = stored.collect();
        assert_eq!(stored.len(), self.episodes.len(), "episodes stored");
        for (s, m) in stored.iter().zip(&self.episodes) {
            assert_eq!((s.id, s.t_started, s.len()), (m.id, m.t0, m.rewards.len()));
            assert_eq!(s.observations, m.obs.concat());
            assert_eq!(
                (s.rewards.as_slice(), s.actions.as_slice()),
                (m.rewards.as_slice(), m.actions.as_slice())
            );
            assert_eq!(
                (s.is_terminated, s.is_truncated),
                (m.terminated, m.truncated)
            );
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Row {
    obs: Vec<f32>,
    next_obs: Vec<f32>,
    action: f32,
    reward: f64,
    terminated: bool,
    truncated: bool,
    n_step: u32,
    id: u64,
    env_t: u64,
}

fn assert_row(batch: &ReplayBatch, i: usize, want: &Row) {
    let what = format!("row {i} (episode {}, t {})", want.id, want.env_t);
    assert_eq!(batch.obs_row(i), want.obs.as_slice(), "{what}: obs");
    assert_eq!(
        batch.next_obs_row(i),
        want.next_obs.as_slice(),
        "{what}: next_obs"
    );
    assert_eq!(batch.actions[i], want.action, "{what}: action");
    let r = f64::from(batch.rewards[i]);
    assert!(
        (r - want.reward).abs() <= 1e-5 * want.reward.abs().max(1.0),
        "{what}: reward {r} vs {}",
        want.reward
    );
    assert_eq!(
        (batch.terminateds[i], batch.truncateds[i]),
        (want.terminated, want.truncated),
        "{what}: flags"
    );
    assert_eq!(batch.n_step[i], want.n_step, "{what}: n_step");
    assert_eq!(
        (batch.episode_ids[i], batch.env_t[i]),
        (want.id, want.env_t),
        "{what}: which"
    );
}

/// Records every draw a sample makes.
#[derive(Clone)]
struct Recorder {
    rng: Rng,
    ints: Vec<(usize, usize, usize)>,
    uniforms: Vec<f64>,
}

impl Recorder {
    fn new(seed: u64) -> Self {
        Recorder {
            rng: Rng::seed_from_u64(seed),
            ints: vec![],
            uniforms: vec![],
        }
    }
}

impl SampleDraws for Recorder {
    fn uniform(&mut self) -> f64 {
        let u = self.rng.uniform();
        self.uniforms.push(u);
        u
    }
    fn integer(&mut self, lo: usize, hi: usize) -> usize {
        let v = self.rng.integer(lo, hi);
        self.ints.push((lo, hi, v));
        v
    }
}

fn n_steps() -> impl Strategy<Value = NStep> {
    prop_oneof![
        (1usize..5).prop_map(NStep::Fixed),
        (1usize..4, 1usize..4).prop_map(|(lo, w)| NStep::Range(lo, lo + w)),
    ]
}

fn rules() -> impl Strategy<Value = WindowPastEnd> {
    prop_oneof![Just(WindowPastEnd::Clip), Just(WindowPastEnd::Resample)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Uniform buffer: after every `add` the stored episodes equal the model's, and every
    /// sampled row is the model's transition for the step and n the buffer drew, attempt
    /// by attempt (rejections included).
    #[test]
    fn uniform_buffer_matches_the_model(
        seed in any::<u64>(), num_envs in 1usize..4, fragment in 1usize..7, calls in 1usize..10,
        capacity in 4usize..60, n_step in n_steps(), rule in rules(), gamma in 0.0f64..1.0,
    ) {
        let mut buffer = EpisodeReplayBuffer::new(capacity).unwrap().with_window_past_end(rule);
        let mut model = Model { capacity, ..Model::default() };
        let mut draws = Recorder::new(seed ^ 1);
        for chunks in sample_calls(seed, num_envs, fragment, calls) {
            buffer.add(&chunks).unwrap();
            model.add(&chunks);
            model.check_store(buffer.episodes());
            let m = buffer.metrics();
            prop_assert_eq!(m.num_env_steps_stored as usize, model.steps());
            prop_assert_eq!((m.num_env_steps_added_lifetime, m.num_env_steps_evicted_lifetime), (model.added, model.evicted));

            let request = SampleRequest::new(12).n_step(n_step).gamma(gamma);
            let longest = model.episodes.iter().map(|e| e.rewards.len()).max().unwrap_or(0);
            if rule == WindowPastEnd::Resample && longest < n_step.min() {
                let refused = matches!(buffer.sample(&request, &mut draws), Err(ReplayError::NoWindowFits { .. }));
                prop_assert!(refused);
                continue;
            }
            draws.ints.clear();
            let batch = buffer.sample(&request, &mut draws).unwrap();
            prop_assert_eq!(batch.len(), 12);
            prop_assert!(batch.weights.iter().all(|&w| w == 1.0) && batch.indices.is_empty());
            let mut ints = draws.ints.iter();
            let (mut row, mut rejected) = (0, 0);
            while row < batch.len() {
                let &(lo, hi, k) = ints.next().expect("a draw per attempt");
                prop_assert_eq!((lo, hi), (0, model.arrival.len()));
                let n = match n_step {
                    NStep::Fixed(n) => n,
                    NStep::Range(a, b) => {
                        let &(lo, hi, n) = ints.next().expect("an n per attempt");
                        prop_assert_eq!((lo, hi), (a, b));
                        n
                    }
                };
                let (id, ts) = model.arrival[k];
                let len = model.episode(id).rewards.len();
                let steps = match (ts + n <= len, rule) {
                    (true, _) => n,
                    (false, WindowPastEnd::Clip) => len - ts,
                    (false, WindowPastEnd::Resample) => { rejected += 1; continue; }
                };
                assert_row(&batch, row, &model.row(id, ts, steps, gamma));
                row += 1;
            }
            prop_assert!(ints.next().is_none(), "no draw after the last row");
            prop_assert_eq!(buffer.metrics().num_resamples, rejected);
        }
    }

    /// Prioritized buffer: the same storage; each row is the model's transition for its
    /// step with the full n (`Resample`) or the window cut at the episode's end (`Clip`);
    /// weights lie in (0, 1].
    #[test]
    fn prioritized_buffer_matches_the_model(
        seed in any::<u64>(), num_envs in 1usize..4, fragment in 1usize..7, calls in 1usize..10,
        capacity in 4usize..60, n in 1usize..5, rule in rules(), alpha in 0.0f64..1.5, beta in 0.0f64..1.0,
    ) {
        let mut buffer = PrioritizedEpisodeReplayBuffer::new(capacity, alpha).unwrap().with_window_past_end(rule);
        let mut model = Model { capacity, ..Model::default() };
        let mut rng = Rng::seed_from_u64(seed ^ 2);
        for chunks in sample_calls(seed, num_envs, fragment, calls) {
            buffer.add(&chunks).unwrap();
            model.add(&chunks);
            model.check_store(buffer.episodes());
            let request = SampleRequest::new(10).n_step(NStep::Fixed(n)).gamma(0.9).beta(beta);
            let batch = match buffer.sample(&request, &mut rng) {
                Err(ReplayError::NoWindowFits { longest, .. }) => {
                    prop_assert!(rule == WindowPastEnd::Resample && longest < n);
                    continue;
                }
                other => other.unwrap(),
            };
            for i in 0..batch.len() {
                let e = model.episodes.iter().find(|e| e.id == batch.episode_ids[i]).unwrap();
                let ts = batch.env_t[i] as usize - e.t0;
                let steps = n.min(e.rewards.len() - ts);
                prop_assert!(rule == WindowPastEnd::Clip || steps == n);
                assert_row(&batch, i, &model.row(e.id, ts, steps, 0.9));
                prop_assert!(batch.weights[i] > 0.0 && batch.weights[i] <= 1.0);
            }
            // Priorities that differ per step, so later samples are not uniform.
            let td: Vec<f32> = batch.env_t.iter().map(|&t| 0.1 + (t % 5) as f32).collect();
            let update = buffer.update_priorities(&batch.indices, &td).unwrap();
            prop_assert_eq!((update.updated, update.stale), (batch.len(), 0));
        }
    }

    /// A state taken at any point, restored (through JSON or the split encoding), continues
    /// exactly as the original: same samples, same priorities, same metrics.
    #[test]
    fn state_round_trip_continues_bit_for_bit(
        seed in any::<u64>(), num_envs in 1usize..3, fragment in 1usize..6, split in 1usize..6,
        capacity in 4usize..40, rule in rules(),
    ) {
        let calls = sample_calls(seed, num_envs, fragment, 8);
        let request = SampleRequest::new(6).n_step(NStep::Range(1, 3)).gamma(0.95).beta(0.5);
        let mut a = PrioritizedEpisodeReplayBuffer::new(capacity, 0.7).unwrap().with_window_past_end(rule);
        let mut u = EpisodeReplayBuffer::new(capacity).unwrap().with_window_past_end(rule);
        let mut rng = Rng::seed_from_u64(seed);
        let step = |p: &mut PrioritizedEpisodeReplayBuffer, u: &mut EpisodeReplayBuffer, chunks: &[Episode], rng: &mut Rng| {
            p.add(chunks).unwrap();
            u.add(chunks).unwrap();
            let (Ok(batch), Ok(ubatch)) = (p.sample(&request, rng), u.sample(&request, rng)) else {
                return None;
            };
            let td: Vec<f32> = batch.rewards.iter().map(|r| r.abs() + 0.01).collect();
            p.update_priorities(&batch.indices, &td).unwrap();
            Some((batch, ubatch))
        };
        for chunks in &calls[..split] {
            step(&mut a, &mut u, chunks, &mut rng);
        }
        let json = serde_json::to_vec(&a.get_state()).unwrap();
        let mut b = PrioritizedEpisodeReplayBuffer::from_state(serde_json::from_slice(&json).unwrap()).unwrap();
        let encoded = a.get_state().encode().unwrap();
        let mut c = PrioritizedEpisodeReplayBuffer::from_state(PrioritizedEpisodeReplayBufferState::decode(&encoded).unwrap()).unwrap();
        prop_assert_eq!(&b.get_state(), &a.get_state());
        prop_assert_eq!(&c.get_state(), &a.get_state());
        let mut ub = EpisodeReplayBuffer::new(1).unwrap();
        ub.set_state(EpisodeReplayBufferState::decode(&u.get_state().encode().unwrap()).unwrap()).unwrap();
        prop_assert_eq!(&ub.get_state(), &u.get_state());
        let (mut rb, mut rc) = (rng.clone(), rng.clone());
        let mut uc = ub.clone();
        for chunks in &calls[split..] {
            let want = step(&mut a, &mut u, chunks, &mut rng);
            prop_assert_eq!(&step(&mut b, &mut ub, chunks, &mut rb), &want);
            prop_assert_eq!(&step(&mut c, &mut uc, chunks, &mut rc), &want);
        }
        prop_assert_eq!(a.metrics(), b.metrics());
        prop_assert_eq!(u.metrics(), ub.metrics());
    }
}

// ---------------------------------------------------------------------------------------
// Prioritized sampling: proportions, weights, updates.

/// A buffer of one finished episode of `len` steps whose step `t` has priority `prio(t)`,
/// set through sampled indices as an algorithm would.
fn prioritized(
    len: usize,
    alpha: f64,
    prio: impl Fn(u64) -> f32,
) -> PrioritizedEpisodeReplayBuffer {
    let mut b = PrioritizedEpisodeReplayBuffer::new(64, alpha).unwrap();
    let mut e = Episode::new(1, 0, &obs(1, 0), 1, 2);
    for t in 0..len {
        e.add_step(&[0.0], 0.0, &[0.0, 0.0], 1.0, &obs(1, t + 1));
    }
    e.is_terminated = true;
    b.add(&[e]).unwrap();
    let mut rng = Rng::seed_from_u64(9);
    let mut set = vec![false; len];
    while set.iter().any(|s| !s) {
        let batch = b.sample(&SampleRequest::new(16), &mut rng).unwrap();
        let td: Vec<f32> = batch.env_t.iter().map(|&t| prio(t)).collect();
        b.update_priorities(&batch.indices, &td).unwrap();
        for &t in &batch.env_t {
            set[t as usize] = true;
        }
    }
    b
}

#[test]
fn sampling_is_proportional_to_priority_to_the_alpha() {
    let prio = |t: u64| [0.5f32, 1.0, 2.0, 4.0, 0.25, 3.0, 1.5, 0.75][t as usize];
    let alpha = 0.6;
    let mut b = prioritized(8, alpha, prio);
    let mut rng = Rng::seed_from_u64(123);
    let draws = 200_000;
    let mut counts = [0u64; 8];
    let request = SampleRequest::new(1000);
    for _ in 0..draws / 1000 {
        for &t in &b.sample(&request, &mut rng).unwrap().env_t {
            counts[t as usize] += 1;
        }
    }
    let mass: Vec<f64> = (0..8).map(|t| f64::from(prio(t)).powf(alpha)).collect();
    let total: f64 = mass.iter().sum();
    for t in 0..8 {
        // Binomial counts: 5 standard deviations (a false alarm has probability < 1e-6 per
        // item, and the seed is fixed).
        let p = mass[t] / total;
        let (mean, sd) = (draws as f64 * p, (draws as f64 * p * (1.0 - p)).sqrt());
        let c = counts[t] as f64;
        assert!(
            (c - mean).abs() <= 5.0 * sd,
            "step {t}: {c} draws, expected {mean:.0} ± {sd:.0}"
        );
    }
    // And the opposite order of priorities would be rejected: the test can fail.
    let flipped = (0..8).map(|t| mass[7 - t] / total).collect::<Vec<_>>();
    assert!((0..8).any(|t| {
        let (mean, sd) = (
            draws as f64 * flipped[t],
            (draws as f64 * flipped[t] * (1.0 - flipped[t])).sqrt(),
        );
        (counts[t] as f64 - mean).abs() > 5.0 * sd
    }));
}

#[test]
fn weights_are_rllibs_formula() {
    let prio = |t: u64| 0.2 + t as f32 * 0.7;
    let (alpha, beta) = (0.6, 0.4);
    let mut b = prioritized(6, alpha, prio);
    let batch = b
        .sample(
            &SampleRequest::new(200).beta(beta),
            &mut Rng::seed_from_u64(4),
        )
        .unwrap();
    let n = 6.0;
    let mass = |t: u64| f64::from(prio(t)).powf(alpha);
    let total: f64 = (0..6).map(mass).sum();
    let max_weight = (mass(0) / total * n).powf(-beta);
    let mut seen_min = false;
    for (i, &t) in batch.env_t.iter().enumerate() {
        let want = (mass(t) / total * n).powf(-beta) / max_weight;
        assert!(
            (f64::from(batch.weights[i]) - want).abs() < 1e-6,
            "row {i}: {} vs {want}",
            batch.weights[i]
        );
        assert_eq!(b.priority(batch.indices[i]), Some(prio(t)));
        seen_min |= t == 0;
    }
    assert!(seen_min);
    assert!(batch.weights.contains(&1.0));
    // beta = 0: no correction.
    let flat = b
        .sample(&SampleRequest::new(20), &mut Rng::seed_from_u64(5))
        .unwrap();
    assert!(flat.weights.iter().all(|&w| w == 1.0));
}

#[test]
fn priority_updates_floor_grow_and_refuse_bad_input() {
    let mut b = prioritized(4, 1.0, |_| 2.0);
    assert_eq!(b.max_priority(), 2.0);
    let sampled = b
        .sample(&SampleRequest::new(32), &mut Rng::seed_from_u64(1))
        .unwrap();
    let mut indices = sampled.indices.clone();
    indices.sort_by_key(|i| i.leaf());
    indices.dedup();
    let indices = &indices[..3];
    // |td| and RLlib's 1e-12 floor.
    b.update_priorities(indices, &[-5.0, 0.0, 0.5]).unwrap();
    assert_eq!(b.max_priority(), 5.0);
    let got: Vec<_> = indices.iter().map(|&i| b.priority(i).unwrap()).collect();
    assert_eq!(got, [5.0, 1e-12, 0.5]);
    // A row sampled twice gets its last value.
    b.update_priorities(&[indices[0], indices[0]], &[3.0, 4.0])
        .unwrap();
    assert_eq!(b.priority(indices[0]), Some(4.0));

    let before = b.get_state();
    let err = |b: &mut PrioritizedEpisodeReplayBuffer, td: &[f32]| {
        b.update_priorities(indices, td).unwrap_err()
    };
    assert!(matches!(
        err(&mut b, &[1.0]),
        ReplayError::LengthMismatch {
            indices: 3,
            td_errors: 1
        }
    ));
    assert!(matches!(
        err(&mut b, &[1.0, f32::NAN, 1.0]),
        ReplayError::InvalidPriority { row: 1, .. }
    ));
    assert!(matches!(
        err(&mut b, &[1.0, 1.0, f32::INFINITY]),
        ReplayError::InvalidPriority { row: 2, .. }
    ));
    assert_eq!(b.get_state(), before, "a refused update changes nothing");
    // New steps get the largest priority seen.
    let mut e = Episode::new(2, 0, &obs(2, 0), 1, 2);
    e.add_step(&[0.0], 0.0, &[0.0, 0.0], 1.0, &obs(2, 1));
    b.add(&[e]).unwrap();
    let mut rng = Rng::seed_from_u64(7);
    let fresh = loop {
        let s = b.sample(&SampleRequest::new(1), &mut rng).unwrap();
        if s.episode_ids[0] == 2 {
            break s;
        }
    };
    assert_eq!(b.priority(fresh.indices[0]), Some(5.0));
}

#[test]
fn updates_for_evicted_transitions_are_skipped() {
    let mut b = PrioritizedEpisodeReplayBuffer::new(6, 0.6).unwrap();
    let calls = sample_calls(3, 1, 3, 6);
    b.add(&calls[0]).unwrap();
    let batch = b
        .sample(&SampleRequest::new(4), &mut Rng::seed_from_u64(0))
        .unwrap();
    let old_ids: Vec<u64> = batch.episode_ids.clone();
    for chunks in &calls[1..] {
        b.add(chunks).unwrap();
    }
    let alive: Vec<u64> = b.episodes().map(|e| e.id).collect();
    let stale = old_ids.iter().filter(|id| !alive.contains(id)).count();
    assert!(stale > 0, "the scenario must evict a sampled episode");
    let update = b.update_priorities(&batch.indices, &[9.0; 4]).unwrap();
    assert_eq!((update.stale, update.updated), (stale, 4 - stale));
    // The evicted transitions' leaves went to new steps, which keep the priority they got.
    let fresh = b
        .sample(&SampleRequest::new(64), &mut Rng::seed_from_u64(1))
        .unwrap();
    for (i, index) in fresh.indices.iter().enumerate() {
        let p = b.priority(*index).unwrap();
        assert!(
            old_ids.contains(&fresh.episode_ids[i]) || p == 1.0,
            "row {i}: {p}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Errors, eviction, determinism, metrics.

#[test]
fn bad_arguments_are_typed_errors() {
    assert!(matches!(
        EpisodeReplayBuffer::new(0),
        Err(ReplayError::InvalidConfig(_))
    ));
    assert!(matches!(
        PrioritizedEpisodeReplayBuffer::new(10, -0.1),
        Err(ReplayError::InvalidConfig(_))
    ));
    assert!(matches!(
        PrioritizedEpisodeReplayBuffer::new(10, f64::NAN),
        Err(ReplayError::InvalidConfig(_))
    ));
    let mut rng = Rng::seed_from_u64(0);
    let mut u = EpisodeReplayBuffer::new(10).unwrap();
    let mut p = PrioritizedEpisodeReplayBuffer::new(10, 0.6).unwrap();
    assert_eq!(
        u.sample(&SampleRequest::new(4), &mut rng),
        Err(ReplayError::Empty)
    );
    assert_eq!(
        p.sample(&SampleRequest::new(4), &mut rng),
        Err(ReplayError::Empty)
    );
    let mut two = Episode::new(1, 0, &obs(1, 0), 1, 2);
    for t in 0..2 {
        two.add_step(&[0.0], 0.0, &[0.0, 0.0], 1.0, &obs(1, t + 1));
    }
    let calls = [vec![two]];
    u.add(&calls[0]).unwrap();
    p.add(&calls[0]).unwrap();
    for request in [
        SampleRequest::new(0),
        SampleRequest::new(4).n_step(NStep::Fixed(0)),
        SampleRequest::new(4).n_step(NStep::Range(3, 2)),
        SampleRequest::new(4).gamma(-0.5),
        SampleRequest::new(4).beta(-1.0),
    ] {
        assert!(
            matches!(
                u.sample(&request, &mut rng),
                Err(ReplayError::InvalidRequest(_))
            ),
            "{request:?}"
        );
        assert!(
            matches!(
                p.sample(&request, &mut rng),
                Err(ReplayError::InvalidRequest(_))
            ),
            "{request:?}"
        );
    }
    // Two stored steps: a 3-step window fits nowhere.
    let too_long = SampleRequest::new(4).n_step(NStep::Fixed(3));
    assert!(matches!(
        p.sample(&too_long, &mut rng),
        Err(ReplayError::NoWindowFits {
            n_min: 3,
            longest: 2
        })
    ));
    let mut clip = u.clone().with_window_past_end(WindowPastEnd::Clip);
    assert_eq!(
        clip.sample(&too_long, &mut rng)
            .unwrap()
            .n_step
            .iter()
            .max(),
        Some(&2)
    );
    // A mismatched chunk: an error, and nothing is stored.
    let mut wrong = calls[0][0].clone();
    wrong.t_started += 1;
    let before = u.get_state();
    let err = u.add(&[calls[0][0].clone(), wrong]).unwrap_err();
    assert!(err.to_string().contains("nothing was added"), "{err}");
    assert_eq!(u.get_state(), before);
    assert!(p.update_priorities(&[], &[]).is_ok());
}

#[test]
fn resampling_gives_up_with_an_error_instead_of_looping() {
    // One episode of 10 steps and n = 10: only step 0 fits, and it has a tiny priority.
    let mut b = prioritized(10, 1.0, |t| if t == 0 { 1e-12 } else { 1e6 });
    let request = SampleRequest::new(2).n_step(NStep::Fixed(10));
    match b.sample(&request, &mut Rng::seed_from_u64(0)) {
        Err(ReplayError::TooManyResamples { num_items: 2, .. }) => {}
        other => panic!("expected TooManyResamples, got {other:?}"),
    }
}

#[test]
fn same_seed_same_samples() {
    let calls = sample_calls(77, 2, 4, 6);
    let run = |seed: u64| {
        let mut p = PrioritizedEpisodeReplayBuffer::new(30, 0.6).unwrap();
        let mut u = EpisodeReplayBuffer::new(30).unwrap();
        let mut rng = Rng::seed_from_u64(seed);
        let mut out = Vec::new();
        for chunks in &calls {
            p.add(chunks).unwrap();
            u.add(chunks).unwrap();
            let request = SampleRequest::new(8).n_step(NStep::Range(1, 4)).beta(0.4);
            let batch = p.sample(&request, &mut rng).unwrap();
            p.update_priorities(&batch.indices, &batch.rewards).unwrap();
            out.push(batch);
            out.push(u.sample(&request, &mut rng).unwrap());
        }
        out
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn metrics_use_rllibs_keys() {
    let mut b = PrioritizedEpisodeReplayBuffer::new(20, 0.6).unwrap();
    let calls = sample_calls(8, 1, 5, 8);
    let mut rng = Rng::seed_from_u64(1);
    for chunks in &calls {
        b.add(chunks).unwrap();
    }
    b.sample(&SampleRequest::new(8).n_step(NStep::Fixed(2)), &mut rng)
        .unwrap();
    let m = b.metrics();
    assert_eq!(m.num_env_steps_stored as usize, b.len());
    assert_eq!(m.num_env_steps_added_lifetime, 40);
    assert_eq!(
        m.num_env_steps_stored,
        m.num_env_steps_added_lifetime - m.num_env_steps_evicted_lifetime
    );
    assert!(m.num_episodes_evicted_lifetime > 0);
    assert_eq!(m.num_env_steps_sampled, 8);
    assert_eq!(m.actual_n_step, Some(2.0));
    let j = m.to_json();
    for key in [
        "num_episodes_stored",
        "num_env_steps_stored",
        "num_env_steps_added",
        "num_env_steps_added_lifetime",
        "num_env_steps_evicted_lifetime",
        "num_episodes_added_lifetime",
        "num_env_steps_sampled_lifetime",
        "num_env_steps_per_sample",
        "env_step_utilization",
        "actual_n_step",
        "num_resamples",
    ] {
        assert!(j.get(key).is_some(), "missing {key}");
    }
    assert_eq!(j["num_agent_steps_sampled"]["default_agent"], 8);
    assert_eq!(j["module_actual_n_step"]["default_policy"], 2.0);
    // A new period.
    let m = b.metrics();
    assert_eq!(
        (
            m.num_env_steps_sampled,
            m.num_env_steps_sampled_lifetime,
            m.actual_n_step
        ),
        (0, 8, None)
    );
}

#[test]
fn corrupted_states_are_refused() {
    let mut b = PrioritizedEpisodeReplayBuffer::new(20, 0.6).unwrap();
    for chunks in sample_calls(2, 2, 3, 3) {
        b.add(&chunks).unwrap();
    }
    let good = b.get_state();
    let mut json: serde_json::Value = serde_json::to_value(&good).unwrap();
    let refuse = |v: &serde_json::Value| {
        let s: PrioritizedEpisodeReplayBufferState = match serde_json::from_value(v.clone()) {
            Ok(s) => s,
            Err(_) => return true,
        };
        PrioritizedEpisodeReplayBuffer::from_state(s).is_err()
    };
    assert!(!refuse(&json));
    let leaves = json["leaves"].as_array().unwrap().clone();
    json["leaves"][0] = leaves[1].clone();
    assert!(refuse(&json), "a leaf held twice");
    json["leaves"] = leaves.into();
    json["priorities"][0] = f32::NAN.into();
    assert!(refuse(&json), "a NaN priority");
    let mut bad = serde_json::to_value(&good).unwrap();
    bad["base"]["store"]["lens"][0] = 99.into();
    assert!(refuse(&bad), "lengths that do not fit the columns");
    let mut bad = serde_json::to_value(&good).unwrap();
    bad["buffer_type"] = "EpisodeReplayBuffer".into();
    assert!(refuse(&bad), "another buffer's state");
    let mut bad = serde_json::to_value(&good).unwrap();
    bad["format"] = 99.into();
    assert!(refuse(&bad), "a newer format");
    let encoded = good.encode().unwrap();
    let cut = EncodedState {
        safetensors: encoded.safetensors[..encoded.safetensors.len() - 4].to_vec(),
        ..encoded.clone()
    };
    assert!(PrioritizedEpisodeReplayBufferState::decode(&cut).is_err());
    let mixed = EncodedState {
        json: b"{}".to_vec(),
        ..encoded
    };
    assert!(PrioritizedEpisodeReplayBufferState::decode(&mixed).is_err());
}
