//! What a replay sample asks for and what it returns: the n-step setting, the rule at a
//! stored episode's end, the request, the transition batch, and the random draws.

use serde::{Deserialize, Serialize};

use super::ReplayError;
use crate::episode::Episode;

/// RLlib's `n_step` (DQN's config and the buffers' `sample(n_step=...)`): a fixed n, or a
/// range from which each sampled transition draws its own n.
///
/// The range is half-open, `lo..hi`, because RLlib 2.60's buffers draw
/// `rng.integers(lo, hi)` (NumPy excludes `hi`): `n_step=(2, 5)` gives 2, 3 or 4 although
/// `DQNConfig.training`'s docstring says "closed interval". We follow the code, so that the
/// same config trains on the same transitions as RLlib. In configs it reads like RLlib's:
/// `3` or `[2, 5]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NStep {
    /// Every transition looks `n` steps ahead.
    Fixed(usize),
    /// Each transition draws n uniformly from `lo..hi` (`hi` excluded, as RLlib).
    Range(usize, usize),
}

impl Default for NStep {
    /// RLlib's default: `n_step=None` means 1.
    fn default() -> Self {
        NStep::Fixed(1)
    }
}

impl NStep {
    /// Checks the setting: n ≥ 1, and a range holds at least one value.
    pub fn validate(&self) -> Result<(), ReplayError> {
        match *self {
            NStep::Fixed(0) => Err(ReplayError::InvalidRequest(
                "n_step must be at least 1 (1 is the plain one-step transition)".into(),
            )),
            NStep::Range(lo, hi) if lo == 0 || hi <= lo => Err(ReplayError::InvalidRequest(
                format!("n_step range ({lo}, {hi}) must satisfy 1 <= lo < hi (hi is excluded, as in RLlib, so (2, 5) draws 2, 3 or 4)"),
            )),
            _ => Ok(()),
        }
    }

    /// The smallest n this setting can use.
    pub fn min(&self) -> usize {
        match *self {
            NStep::Fixed(n) | NStep::Range(n, _) => n,
        }
    }

    /// The largest n this setting can use.
    pub fn max(&self) -> usize {
        match *self {
            NStep::Fixed(n) => n,
            NStep::Range(_, hi) => hi - 1,
        }
    }
}

/// What a sample does when a transition's n-step window would run past the last step of
/// its stored episode (a finished episode's end, or the newest step of one still running).
///
/// A window never crosses into another episode either way, and one that ends exactly at a
/// finished episode's end takes its final observation and its terminal/truncated flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowPastEnd {
    /// Reject the draw and draw again (a new item, and a new n from a range), counted in
    /// the `num_resamples` metric: RLlib 2.60's `PrioritizedEpisodeReplayBuffer`, DQN's
    /// default buffer. Every returned row has the full n. The last `n_min - 1` steps of an
    /// episode are then never the first step of a transition, and if no stored episode is
    /// long enough for the smallest n, sampling fails ([`ReplayError::NoWindowFits`])
    /// instead of looping forever as RLlib does.
    Resample,
    /// Cut the window at the stored episode's last step: fewer rewards, the last stored
    /// observation as `next_obs`, the episode's flags when that is its end, and the steps
    /// actually used in `n_step` (so `γ^n_step` bootstraps correctly). RLlib 2.60's
    /// `EpisodeReplayBuffer` cuts the same way, but writes the drawn n into `n_step` even
    /// when it cut the window (and then miscounts its rows); we write the steps used.
    Clip,
}

/// One `sample()` call's arguments (RLlib's keyword arguments of the same names).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleRequest {
    /// How many transitions (rows) to return (RLlib's `num_items` / `batch_size_B`).
    pub num_items: usize,
    /// The n-step setting.
    pub n_step: NStep,
    /// The discount of the n-step reward sum `Σ_k γ^k r_{t+k}` (the algorithm's `gamma`).
    pub gamma: f64,
    /// The importance-sampling exponent of prioritized replay (0: no correction, 1: full
    /// correction); the uniform buffer ignores it (its weights are 1).
    pub beta: f64,
    /// Also return the sampling policy's `action_logp` and `action_dist_inputs` at each
    /// transition's first step.
    pub include_extra_model_outputs: bool,
}

impl Default for SampleRequest {
    /// RLlib's defaults: 16 rows (`batch_size_B`), n = 1, γ = 0.99, β = 0.
    fn default() -> Self {
        SampleRequest {
            num_items: 16,
            n_step: NStep::Fixed(1),
            gamma: 0.99,
            beta: 0.0,
            include_extra_model_outputs: false,
        }
    }
}

impl SampleRequest {
    /// A request for `num_items` rows with RLlib's other defaults.
    pub fn new(num_items: usize) -> Self {
        SampleRequest {
            num_items,
            ..Self::default()
        }
    }

    /// With this n-step setting.
    pub fn n_step(mut self, n_step: NStep) -> Self {
        self.n_step = n_step;
        self
    }

    /// With this discount.
    pub fn gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }

    /// With this importance-sampling exponent.
    pub fn beta(mut self, beta: f64) -> Self {
        self.beta = beta;
        self
    }

    /// Checks every argument, naming the first one that is wrong.
    pub fn validate(&self) -> Result<(), ReplayError> {
        if self.num_items == 0 {
            return Err(ReplayError::InvalidRequest(
                "num_items must be at least 1".into(),
            ));
        }
        self.n_step.validate()?;
        if !(0.0..=1.0).contains(&self.gamma) {
            return Err(ReplayError::InvalidRequest(format!(
                "gamma {} must lie in [0, 1]",
                self.gamma
            )));
        }
        if !(self.beta >= 0.0 && self.beta.is_finite()) {
            return Err(ReplayError::InvalidRequest(format!(
                "beta {} must be finite and >= 0 (RLlib's default is 0.0, DQN's 0.4)",
                self.beta
            )));
        }
        Ok(())
    }
}

/// Identifies a sampled transition of a [`PrioritizedEpisodeReplayBuffer`] for
/// [`update_priorities`]: the tree leaf it occupies and that leaf's generation, so that an
/// update for a transition evicted since the sample is recognized and skipped rather than
/// given to the transition now in its leaf.
///
/// [`PrioritizedEpisodeReplayBuffer`]: super::PrioritizedEpisodeReplayBuffer
/// [`update_priorities`]: super::PrioritizedEpisodeReplayBuffer::update_priorities
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplayIndex {
    pub(crate) leaf: u32,
    pub(crate) generation: u32,
}

impl ReplayIndex {
    /// The segment-tree leaf (RLlib's `_last_sampled_indices` entry).
    pub fn leaf(&self) -> usize {
        self.leaf as usize
    }
}

/// Sampled transitions as columns, one row each (RLlib's train-batch column names).
///
/// A row is `(o_t, a_t, Σ_{k<n} γ^k r_{t+k}, o_{t+n}, terminated, truncated)` with `n` its
/// `n_step` entry; the n-step target bootstraps `γ^n_step · Q(next_obs)` unless
/// `terminateds`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayBatch {
    /// Width of an observation row.
    pub obs_dim: usize,
    /// Width of an action row (1 for a discrete action).
    pub act_dim: usize,
    /// Width of an action-distribution-inputs row.
    pub dist_dim: usize,
    /// `obs`: rows × obs_dim, the observation the action was taken on.
    pub obs: Vec<f32>,
    /// `actions`: rows × act_dim.
    pub actions: Vec<f32>,
    /// `rewards`: the discounted n-step sum `Σ_{k<n} γ^k r_{t+k}` (computed in f64).
    pub rewards: Vec<f32>,
    /// `next_obs` (RLlib's `new_obs`): rows × obs_dim, the observation `n_step` steps later.
    pub next_obs: Vec<f32>,
    /// `terminateds`: the episode terminated at `next_obs` (no bootstrap).
    pub terminateds: Vec<bool>,
    /// `truncateds`: the episode was truncated at `next_obs`.
    pub truncateds: Vec<bool>,
    /// `n_step`: the steps this row's window covers.
    pub n_step: Vec<u32>,
    /// `weights`: importance-sampling weights `(N·P(i))^(−β) / max_j (N·P(j))^(−β)`
    /// (1 from the uniform buffer).
    pub weights: Vec<f32>,
    /// The prioritized buffer's handles for `update_priorities` (empty from the uniform
    /// buffer).
    pub indices: Vec<ReplayIndex>,
    /// The episode id of each row.
    pub episode_ids: Vec<u64>,
    /// The step of each row within its episode (`t_started`-based, as the env counts).
    pub env_t: Vec<u64>,
    /// `action_logp` at the first step, when requested (else empty).
    pub action_logp: Vec<f32>,
    /// `action_dist_inputs` at the first step, rows × dist_dim, when requested (else empty).
    pub action_dist_inputs: Vec<f32>,
}

impl ReplayBatch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rewards.len()
    }

    /// Whether the batch has no row.
    pub fn is_empty(&self) -> bool {
        self.rewards.is_empty()
    }

    /// Observation row `i`.
    pub fn obs_row(&self, i: usize) -> &[f32] {
        &self.obs[i * self.obs_dim..(i + 1) * self.obs_dim]
    }

    /// Next-observation row `i`.
    pub fn next_obs_row(&self, i: usize) -> &[f32] {
        &self.next_obs[i * self.obs_dim..(i + 1) * self.obs_dim]
    }

    /// Empties every column, keeping the allocations.
    pub(crate) fn clear(&mut self, dims: [usize; 3]) {
        [self.obs_dim, self.act_dim, self.dist_dim] = dims;
        self.obs.clear();
        self.actions.clear();
        self.rewards.clear();
        self.next_obs.clear();
        self.terminateds.clear();
        self.truncateds.clear();
        self.n_step.clear();
        self.weights.clear();
        self.indices.clear();
        self.episode_ids.clear();
        self.env_t.clear();
        self.action_logp.clear();
        self.action_dist_inputs.clear();
    }

    /// Appends the transition starting at step `ts` of `episode` and covering `steps`
    /// steps (`ts + steps <= episode.len()`).
    pub(crate) fn push_window(
        &mut self,
        episode: &Episode,
        ts: usize,
        steps: usize,
        gamma: f64,
        weight: f32,
        extra_model_outputs: bool,
    ) {
        let end = ts + steps;
        self.obs.extend_from_slice(episode.obs(ts));
        self.next_obs.extend_from_slice(episode.obs(end));
        self.actions
            .extend_from_slice(&episode.actions[ts * episode.act_dim..(ts + 1) * episode.act_dim]);
        self.rewards
            .push(discounted_sum(&episode.rewards[ts..end], gamma) as f32);
        let at_end = end == episode.len();
        self.terminateds.push(at_end && episode.is_terminated);
        self.truncateds.push(at_end && episode.is_truncated);
        self.n_step.push(steps as u32);
        self.weights.push(weight);
        self.episode_ids.push(episode.id);
        self.env_t.push((episode.t_started + ts) as u64);
        if extra_model_outputs {
            self.action_logp.push(episode.action_logp[ts]);
            self.action_dist_inputs.extend_from_slice(
                &episode.action_dist_inputs[ts * episode.dist_dim..(ts + 1) * episode.dist_dim],
            );
        }
    }
}

/// `Σ_k γ^k r_k` in f64, by Horner's rule from the last reward: RLlib's
/// `scipy.signal.lfilter([1], [1, -γ], r[::-1])[-1]`, operation for operation.
pub(crate) fn discounted_sum(rewards: &[f32], gamma: f64) -> f64 {
    rewards
        .iter()
        .rev()
        .fold(0.0, |acc, &r| f64::from(r) + gamma * acc)
}

/// The random draws a buffer makes while sampling, in the order RLlib makes them.
///
/// Every [`rand::Rng`] (so `&mut rl_core::Rng`) provides them; a test can script them to
/// replay the draws RLlib made.
pub trait SampleDraws {
    /// A uniform `f64` in `[0, 1)` (NumPy's `Generator.random()`).
    fn uniform(&mut self) -> f64;
    /// A uniform integer in `lo..hi`, `lo < hi` (NumPy's `Generator.integers(lo, hi)`).
    fn integer(&mut self, lo: usize, hi: usize) -> usize;
}

impl<R: rand::Rng + ?Sized> SampleDraws for R {
    fn uniform(&mut self) -> f64 {
        self.gen::<f64>()
    }

    fn integer(&mut self, lo: usize, hi: usize) -> usize {
        self.gen_range(lo..hi)
    }
}

/// Draws the n of one transition (no draw for a fixed n, as RLlib).
pub(crate) fn draw_n(n_step: NStep, draws: &mut impl SampleDraws) -> usize {
    match n_step {
        NStep::Fixed(n) => n,
        NStep::Range(lo, hi) => draws.integer(lo, hi),
    }
}

/// How many steps a window starting at `ts` of an episode of `len` steps covers under
/// `rule`, or `None` when the draw must be redrawn.
pub(crate) fn window_steps(rule: WindowPastEnd, ts: usize, n: usize, len: usize) -> Option<usize> {
    if ts + n <= len {
        Some(n)
    } else {
        match rule {
            WindowPastEnd::Resample => None,
            WindowPastEnd::Clip => Some(len - ts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_step_reads_like_rllib_config() {
        assert_eq!(serde_json::from_str::<NStep>("3").unwrap(), NStep::Fixed(3));
        assert_eq!(
            serde_json::from_str::<NStep>("[2, 5]").unwrap(),
            NStep::Range(2, 5)
        );
        assert_eq!(serde_json::to_string(&NStep::Range(2, 5)).unwrap(), "[2,5]");
        assert!(NStep::Fixed(0).validate().is_err());
        assert!(NStep::Range(0, 3).validate().is_err());
        assert!(NStep::Range(3, 3).validate().is_err());
        assert!(NStep::Range(2, 3).validate().is_ok());
        assert_eq!((NStep::Range(2, 5).min(), NStep::Range(2, 5).max()), (2, 4));
    }

    #[test]
    fn request_validation_names_the_argument() {
        let ok = SampleRequest::new(4).gamma(0.9).beta(0.4);
        assert!(ok.validate().is_ok());
        let msg = |r: SampleRequest| r.validate().unwrap_err().to_string();
        assert!(msg(SampleRequest::new(0)).contains("num_items"));
        assert!(msg(ok.n_step(NStep::Fixed(0))).contains("n_step"));
        assert!(msg(ok.gamma(1.5)).contains("gamma"));
        assert!(msg(ok.gamma(f64::NAN)).contains("gamma"));
        assert!(msg(ok.beta(-0.1)).contains("beta"));
        assert!(msg(ok.beta(f64::INFINITY)).contains("beta"));
    }

    #[test]
    fn discounted_sum_is_horner_from_the_end() {
        assert_eq!(discounted_sum(&[], 0.9), 0.0);
        assert_eq!(
            discounted_sum(&[1.0, 2.0, 4.0], 0.5),
            1.0 + 0.5 * (2.0 + 0.5 * 4.0)
        );
    }

    #[test]
    fn windows_at_the_end() {
        use WindowPastEnd::*;
        assert_eq!(window_steps(Resample, 2, 3, 5), Some(3));
        assert_eq!(window_steps(Resample, 3, 3, 5), None);
        assert_eq!(window_steps(Clip, 3, 3, 5), Some(2));
        assert_eq!(window_steps(Clip, 4, 1, 5), Some(1));
    }
}
