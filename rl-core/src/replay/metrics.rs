//! The metrics RLlib's episode buffers log (`EpisodeReplayBuffer._update_add_metrics`,
//! `_update_sample_metrics`), under RLlib's keys.

use serde::{Deserialize, Serialize};

use super::store::AddCounts;

/// A buffer's metrics, RLlib's names (`ray.rllib.utils.metrics`), as
/// `EpisodeReplayBuffer.get_metrics()` reports them once the algorithm has aggregated them:
///
/// - `*_lifetime`: totals over the buffer's life (RLlib's `lifetime_sum`);
/// - `num_*_added`, `num_*_evicted`, `num_env_steps_sampled`, `num_*_per_sample`,
///   `num_resamples`: sums over the period since the previous `metrics()` call (RLlib's
///   `sum`, which `get_metrics()` reduces and restarts);
/// - `env_step_utilization`, `actual_n_step`: means over the period's samples (absent
///   without one);
/// - `num_episodes_stored`, `num_env_steps_stored`: the current contents (RLlib averages
///   the value it logs after each `add`; DQN adds once per period, so they coincide).
///
/// Steps evicted in the `add` call that brought them (a chunk of an episode evicted in
/// that call) count as added and evicted, so `num_env_steps_stored =
/// num_env_steps_added_lifetime - num_env_steps_evicted_lifetime` always.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReplayMetrics {
    /// Episodes stored now.
    pub num_episodes_stored: u64,
    /// Env steps stored now.
    pub num_env_steps_stored: u64,
    /// New episodes added in the period (a chunk continuing a stored episode adds none).
    pub num_episodes_added: u64,
    /// New episodes added over the buffer's life.
    pub num_episodes_added_lifetime: u64,
    /// Episodes evicted in the period.
    pub num_episodes_evicted: u64,
    /// Episodes evicted over the buffer's life.
    pub num_episodes_evicted_lifetime: u64,
    /// Env steps added in the period.
    pub num_env_steps_added: u64,
    /// Env steps added over the buffer's life.
    pub num_env_steps_added_lifetime: u64,
    /// Env steps evicted in the period.
    pub num_env_steps_evicted: u64,
    /// Env steps evicted over the buffer's life.
    pub num_env_steps_evicted_lifetime: u64,
    /// Rows sampled in the period.
    pub num_env_steps_sampled: u64,
    /// Rows sampled over the buffer's life.
    pub num_env_steps_sampled_lifetime: u64,
    /// Distinct episodes per sample, summed over the period's samples.
    pub num_episodes_per_sample: u64,
    /// Distinct first steps per sample, summed over the period's samples.
    pub num_env_steps_per_sample: u64,
    /// Distinct first steps per sample, summed over the buffer's life.
    pub num_env_steps_per_sample_lifetime: u64,
    /// Draws rejected because their window ran past the episode's end
    /// ([`WindowPastEnd::Resample`](super::WindowPastEnd::Resample)), in the period.
    pub num_resamples: u64,
    /// Mean over the period's samples of distinct first steps / rows.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub env_step_utilization: Option<f64>,
    /// Mean over the period's samples of the mean n used.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub actual_n_step: Option<f64>,
}

/// RLlib's id of the single agent and of the single module, under which it repeats the
/// buffer's counts (`num_agent_steps_added: {default_agent: …}`, …).
pub const DEFAULT_AGENT_ID: &str = "default_agent";
/// See [`DEFAULT_AGENT_ID`].
pub const DEFAULT_MODULE_ID: &str = "default_policy";

impl ReplayMetrics {
    /// The result-dict form: RLlib's flat keys plus its per-agent and per-module copies
    /// (single agent, so they repeat the env-step counts), as under `replay_buffer/` in an
    /// RLlib DQN result.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let copies = [
            ("num_{}_episodes_added", "num_episodes_added"),
            (
                "num_{}_episodes_added_lifetime",
                "num_episodes_added_lifetime",
            ),
            ("num_{}_episodes_evicted", "num_episodes_evicted"),
            (
                "num_{}_episodes_evicted_lifetime",
                "num_episodes_evicted_lifetime",
            ),
            ("num_{}_steps_added", "num_env_steps_added"),
            (
                "num_{}_steps_added_lifetime",
                "num_env_steps_added_lifetime",
            ),
            ("num_{}_steps_evicted", "num_env_steps_evicted"),
            (
                "num_{}_steps_evicted_lifetime",
                "num_env_steps_evicted_lifetime",
            ),
            ("num_{}_steps_sampled", "num_env_steps_sampled"),
            (
                "num_{}_steps_sampled_lifetime",
                "num_env_steps_sampled_lifetime",
            ),
            ("num_{}_episodes_per_sample", "num_episodes_per_sample"),
            ("num_{}_steps_per_sample", "num_env_steps_per_sample"),
            ("num_{}_resamples", "num_resamples"),
        ];
        let means = [
            ("{}_step_utilization", "env_step_utilization"),
            ("{}_actual_n_step", "actual_n_step"),
        ];
        let lifetime_per_sample = (
            "num_{}_steps_per_sample_lifetime",
            "num_env_steps_per_sample_lifetime",
        );
        for (who, id) in [("agent", DEFAULT_AGENT_ID), ("module", DEFAULT_MODULE_ID)] {
            let pairs = copies.into_iter().chain(means).chain([lifetime_per_sample]);
            for (pattern, source) in pairs {
                if let Some(v) = map.get(source).cloned() {
                    map.insert(pattern.replace("{}", who), serde_json::json!({ id: v }));
                }
            }
        }
        serde_json::Value::Object(map)
    }
}

/// What the buffer accumulates between `metrics()` calls.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct MetricsState {
    lifetime: ReplayMetrics,
    period: ReplayMetrics,
    utilization_sum: f64,
    n_step_sum: f64,
    samples: u64,
}

impl MetricsState {
    pub fn record_add(&mut self, c: AddCounts) {
        for m in [&mut self.lifetime, &mut self.period] {
            m.num_episodes_added += c.episodes_added;
            m.num_env_steps_added += c.env_steps_added;
            m.num_episodes_evicted += c.episodes_evicted;
            m.num_env_steps_evicted += c.env_steps_evicted;
        }
    }

    /// One sample's rows, distinct episodes, distinct first steps, summed n, and rejections.
    pub fn record_sample(
        &mut self,
        rows: u64,
        episodes: u64,
        steps: u64,
        n_step_total: u64,
        resamples: u64,
    ) {
        for m in [&mut self.lifetime, &mut self.period] {
            m.num_env_steps_sampled += rows;
            m.num_episodes_per_sample += episodes;
            m.num_env_steps_per_sample += steps;
            m.num_resamples += resamples;
        }
        self.utilization_sum += steps as f64 / rows as f64;
        self.n_step_sum += n_step_total as f64 / rows as f64;
        self.samples += 1;
    }

    /// The metrics now (contents as given), starting a new period.
    pub fn reduce(&mut self, episodes_stored: u64, env_steps_stored: u64) -> ReplayMetrics {
        let l = &self.lifetime;
        let p = &self.period;
        let mean = |sum: f64| (self.samples > 0).then(|| sum / self.samples as f64);
        let out = ReplayMetrics {
            num_episodes_stored: episodes_stored,
            num_env_steps_stored: env_steps_stored,
            num_episodes_added_lifetime: l.num_episodes_added,
            num_episodes_evicted_lifetime: l.num_episodes_evicted,
            num_env_steps_added_lifetime: l.num_env_steps_added,
            num_env_steps_evicted_lifetime: l.num_env_steps_evicted,
            num_env_steps_sampled_lifetime: l.num_env_steps_sampled,
            num_env_steps_per_sample_lifetime: l.num_env_steps_per_sample,
            env_step_utilization: mean(self.utilization_sum),
            actual_n_step: mean(self.n_step_sum),
            ..p.clone()
        };
        self.period = ReplayMetrics::default();
        self.utilization_sum = 0.0;
        self.n_step_sum = 0.0;
        self.samples = 0;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_restart_lifetimes_accumulate() {
        let mut m = MetricsState::default();
        let add = AddCounts {
            episodes_added: 2,
            env_steps_added: 10,
            episodes_evicted: 1,
            env_steps_evicted: 3,
        };
        m.record_add(add);
        m.record_sample(4, 2, 3, 8, 1);
        m.record_sample(4, 1, 4, 4, 0);
        let r = m.reduce(1, 7);
        assert_eq!(
            (r.num_env_steps_added, r.num_env_steps_added_lifetime),
            (10, 10)
        );
        assert_eq!((r.num_env_steps_sampled, r.num_resamples), (8, 1));
        assert_eq!(r.env_step_utilization, Some((0.75 + 1.0) / 2.0));
        assert_eq!(r.actual_n_step, Some((2.0 + 1.0) / 2.0));
        m.record_add(add);
        let r = m.reduce(2, 14);
        assert_eq!(
            (r.num_env_steps_added, r.num_env_steps_added_lifetime),
            (10, 20)
        );
        assert_eq!(
            (r.num_env_steps_sampled, r.num_env_steps_sampled_lifetime),
            (0, 8)
        );
        assert_eq!(r.env_step_utilization, None);
        let j = r.to_json();
        assert_eq!(j["num_env_steps_stored"], 14);
        assert_eq!(j["num_agent_steps_added_lifetime"]["default_agent"], 20);
        assert_eq!(j["num_module_steps_sampled_lifetime"]["default_policy"], 8);
        assert!(j.get("env_step_utilization").is_none());
        assert!(j.get("agent_step_utilization").is_none());
    }
}
