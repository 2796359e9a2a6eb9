//! `EnvRunnerGroup`: `num_env_runners` env runners sampling on threads (0: in the driver),
//! results gathered in runner order so a run is deterministic whatever the thread timing.

use crate::episode::Episode;
use crate::metrics::EpisodeStats;

use super::{EnvRunner, EnvRunnerState, RunnerError, SampleOutput};

/// A group of env runners that sample in parallel and share weights and connector state.
#[derive(Debug)]
pub struct EnvRunnerGroup {
    runners: Vec<EnvRunner>,
    parallel: bool,
}

impl EnvRunnerGroup {
    /// A group over these runners; `parallel` runs each on its own thread while sampling
    /// (RLlib's remote env runners), otherwise they sample in the calling thread.
    pub fn new(mut runners: Vec<EnvRunner>, parallel: bool) -> Self {
        let k = runners.len();
        for r in &mut runners {
            r.set_group_size(k);
        }
        EnvRunnerGroup { runners, parallel }
    }

    /// The runners, in order.
    pub fn runners(&self) -> &[EnvRunner] {
        &self.runners
    }

    /// The runners, mutably.
    pub fn runners_mut(&mut self) -> &mut [EnvRunner] {
        &mut self.runners
    }

    /// Whether the runners sample on their own threads.
    pub fn is_parallel(&self) -> bool {
        self.parallel
    }

    /// Every runner's state, in runner order (see [`EnvRunner::get_state`]).
    pub fn get_state(&self) -> Result<Vec<EnvRunnerState>, RunnerError> {
        self.runners.iter().map(EnvRunner::get_state).collect()
    }

    /// Restores every runner's state from [`get_state`](Self::get_state) of a group with
    /// as many runners.
    pub fn set_state(&mut self, states: &[EnvRunnerState]) -> Result<(), RunnerError> {
        if states.len() != self.runners.len() {
            return Err(RunnerError::Mismatch(format!(
                "{} env runner states for {} env runners",
                states.len(),
                self.runners.len()
            )));
        }
        for (r, s) in self.runners.iter_mut().zip(states) {
            r.set_state(s)?;
        }
        Ok(())
    }

    fn map<T: Send>(
        &mut self,
        f: impl Fn(&mut EnvRunner) -> Result<T, RunnerError> + Sync,
    ) -> Result<Vec<T>, RunnerError> {
        if !self.parallel || self.runners.len() <= 1 {
            return self.runners.iter_mut().map(f).collect();
        }
        let f = &f;
        std::thread::scope(|s| {
            let handles: Vec<_> = self
                .runners
                .iter_mut()
                .map(|r| s.spawn(move || f(r)))
                .collect();
            handles
                .into_iter()
                .enumerate()
                .map(|(i, h)| h.join().unwrap_or(Err(RunnerError::Panicked(i))))
                .collect()
        })
    }

    /// Every runner collects `steps_per_env` steps per sub-env; outputs are concatenated
    /// in runner order.
    pub fn sample(&mut self, steps_per_env: usize) -> Result<SampleOutput, RunnerError> {
        let outs = self.map(|r| r.sample(steps_per_env))?;
        Ok(concat(outs))
    }

    /// Evaluation by episodes: `num_episodes` split over the runners (the first ones take
    /// the remainder), concatenated in runner order.
    pub fn sample_episodes(&mut self, num_episodes: usize) -> Result<SampleOutput, RunnerError> {
        let k = self.runners.len().max(1);
        let shares: Vec<usize> = (0..k)
            .map(|i| num_episodes / k + usize::from(i < num_episodes % k))
            .collect();
        let shares = &shares;
        let outs = self.map(|r| {
            let share = shares[r.spec().index];
            if share == 0 {
                Ok(SampleOutput::default())
            } else {
                r.sample_episodes(share)
            }
        })?;
        Ok(concat(outs))
    }

    /// Evaluation by timesteps: `steps` split over the runners.
    pub fn sample_timesteps(&mut self, steps: usize) -> Result<SampleOutput, RunnerError> {
        let k = self.runners.len().max(1);
        let shares: Vec<usize> = (0..k)
            .map(|i| steps / k + usize::from(i < steps % k))
            .collect();
        let shares = &shares;
        let outs = self.map(|r| r.sample_timesteps(shares[r.spec().index]))?;
        Ok(concat(outs))
    }

    /// Broadcasts new weights to every runner's module copy.
    pub fn sync_weights(&mut self, weights: &[f32]) -> Result<(), RunnerError> {
        for r in &mut self.runners {
            r.module_mut().set_weights(weights)?;
        }
        Ok(())
    }

    /// Tells every runner how many env steps the run has sampled so far (see
    /// [`EnvRunner::set_global_env_steps`]).
    pub fn set_global_env_steps(&mut self, steps: u64) {
        for r in &mut self.runners {
            r.set_global_env_steps(steps);
        }
    }

    /// Merges the env→module connectors' states (e.g. observation-filter statistics) of all
    /// runners, in runner order, and broadcasts the result. Returns the merged states, one
    /// per connector (`None` for stateless ones), to keep on the driver and in checkpoints.
    pub fn sync_connector_states(&mut self) -> Result<Vec<Option<serde_json::Value>>, RunnerError> {
        let Some(first) = self.runners.first() else {
            return Ok(Vec::new());
        };
        let n = first.env_to_module().len();
        let mut merged = Vec::with_capacity(n);
        for c in 0..n {
            let states: Vec<serde_json::Value> = self
                .runners
                .iter()
                .filter_map(|r| r.env_to_module().connectors()[c].get_state())
                .collect();
            if states.is_empty() {
                merged.push(None);
                continue;
            }
            let central = &mut self.runners[0].env_to_module_mut().connectors_mut()[c];
            central.merge_states(&states)?;
            let state = central.get_state();
            if let Some(state) = &state {
                for r in &mut self.runners {
                    r.env_to_module_mut().connectors_mut()[c].set_state(state)?;
                }
            }
            merged.push(state);
        }
        Ok(merged)
    }

    /// Sets the env→module connectors' states on every runner (from a driver copy or a
    /// checkpoint), one per connector.
    pub fn set_connector_states(
        &mut self,
        states: &[Option<serde_json::Value>],
    ) -> Result<(), RunnerError> {
        for r in &mut self.runners {
            for (c, state) in r
                .env_to_module_mut()
                .connectors_mut()
                .iter_mut()
                .zip(states)
            {
                if let Some(state) = state {
                    c.set_state(state)?;
                }
            }
        }
        Ok(())
    }
}

fn concat(outs: Vec<SampleOutput>) -> SampleOutput {
    let mut all = SampleOutput::default();
    for o in outs {
        all.episodes.extend(o.episodes);
        all.finished.extend(o.finished);
        all.env_steps += o.env_steps;
    }
    all
}

/// Total env steps in a list of chunks.
pub fn total_steps(episodes: &[Episode]) -> usize {
    episodes.iter().map(Episode::len).sum()
}

/// Mean return of finished episodes (NaN when none).
pub fn mean_return(finished: &[EpisodeStats]) -> f64 {
    finished.iter().map(|e| e.episode_return).sum::<f64>() / finished.len() as f64
}
