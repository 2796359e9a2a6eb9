//! `EnvRunnerGroup`: `num_env_runners` env runners sampling in parallel (0: in the driver),
//! results gathered in runner order so a run is deterministic whatever the thread timing,
//! with RLlib's fault tolerance: a runner whose env fails is rebuilt (or set aside) and
//! the others go on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::connectors::{EnvToModule, ModuleToEnv, Pipeline};
use crate::env::checker::panic_message;
use crate::episode::Episode;
use crate::metrics::EpisodeStats;

use super::{EnvRunner, EnvRunnerState, RunnerError, SampleOutput};

/// What a group does when an env runner fails (its env panics, returns an error, produces a
/// non-finite reward or observation, or a sample call overruns `sample_timeout_s`), with
/// RLlib's names and defaults (`AlgorithmConfig.fault_tolerance()`).
#[derive(Clone, Debug, PartialEq)]
pub struct FaultTolerance {
    /// Rebuild a failed runner with the current weights and the last synchronized
    /// connector states (default true). Its broken episodes are dropped.
    pub restart_failed_env_runners: bool,
    /// Rebuilds allowed per runner (default 1000); past it the runner is set aside.
    pub max_num_env_runner_restarts: usize,
    /// Go on with the other runners when a runner fails and is not rebuilt (default false:
    /// the error ends the call, unless `restart_failed_env_runners`).
    pub ignore_env_runner_failures: bool,
    /// Sample calls in a row with a failure that are tolerated (default 100).
    pub num_consecutive_env_runner_failures_tolerance: usize,
    /// Seconds one sample call of a runner may take (default 60; `None`: unbounded).
    pub sample_timeout_s: Option<f64>,
}

impl Default for FaultTolerance {
    fn default() -> Self {
        FaultTolerance {
            restart_failed_env_runners: true,
            max_num_env_runner_restarts: 1000,
            ignore_env_runner_failures: false,
            num_consecutive_env_runner_failures_tolerance: 100,
            sample_timeout_s: Some(60.0),
        }
    }
}

impl FaultTolerance {
    /// No fault tolerance and no timeout: the first failure is returned as is.
    pub fn none() -> Self {
        FaultTolerance {
            restart_failed_env_runners: false,
            max_num_env_runner_restarts: 0,
            ignore_env_runner_failures: false,
            num_consecutive_env_runner_failures_tolerance: 0,
            sample_timeout_s: None,
        }
    }

    fn timeout(&self) -> Option<Duration> {
        self.sample_timeout_s
            .filter(|t| t.is_finite() && *t > 0.0)
            .map(Duration::from_secs_f64)
    }
}

/// A group of env runners that sample in parallel and share weights and connector state.
#[derive(Debug)]
pub struct EnvRunnerGroup {
    runners: Vec<EnvRunner>,
    /// `healthy[i]`: runner `i` is in service (a failed runner that could not be rebuilt
    /// is not, until a rebuild succeeds).
    healthy: Vec<bool>,
    parallel: bool,
    fault_tolerance: FaultTolerance,
    /// Fresh copies of the runners' pipelines, to rebuild a failed runner from.
    env_to_module: Option<Pipeline<dyn EnvToModule>>,
    module_to_env: Option<Pipeline<dyn ModuleToEnv>>,
    /// The last synchronized env→module connector states (empty: none yet).
    connector_states: Vec<Option<serde_json::Value>>,
    consecutive_failures: usize,
    last_failure: Option<String>,
}

impl EnvRunnerGroup {
    /// A group over these runners; `parallel` samples them as parallel rayon tasks
    /// (RLlib's remote env runners), otherwise they sample in the calling thread. Fault
    /// tolerance takes RLlib's defaults ([`FaultTolerance::default`]); see
    /// [`with_fault_tolerance`](Self::with_fault_tolerance).
    pub fn new(mut runners: Vec<EnvRunner>, parallel: bool) -> Self {
        let k = runners.len();
        for r in &mut runners {
            r.set_group_size(k);
        }
        let env_to_module = runners.first().map(|r| r.env_to_module().clone());
        let module_to_env = runners.first().map(|r| r.module_to_env().clone());
        let mut group = EnvRunnerGroup {
            healthy: vec![true; runners.len()],
            runners,
            parallel,
            fault_tolerance: FaultTolerance::default(),
            env_to_module,
            module_to_env,
            connector_states: Vec::new(),
            consecutive_failures: 0,
            last_failure: None,
        };
        group.apply_timeout();
        group
    }

    /// The group with these fault-tolerance settings.
    pub fn with_fault_tolerance(mut self, fault_tolerance: FaultTolerance) -> Self {
        self.fault_tolerance = fault_tolerance;
        self.apply_timeout();
        self
    }

    /// The fault-tolerance settings.
    pub fn fault_tolerance(&self) -> &FaultTolerance {
        &self.fault_tolerance
    }

    fn apply_timeout(&mut self) {
        let t = self.fault_tolerance.timeout();
        for r in &mut self.runners {
            r.set_sample_timeout(t);
        }
    }

    /// The runners, in order.
    pub fn runners(&self) -> &[EnvRunner] {
        &self.runners
    }

    /// The runners, mutably.
    pub fn runners_mut(&mut self) -> &mut [EnvRunner] {
        &mut self.runners
    }

    /// Whether the runners sample in parallel (rayon tasks).
    pub fn is_parallel(&self) -> bool {
        self.parallel
    }

    /// Runners in service.
    pub fn num_healthy_env_runners(&self) -> usize {
        self.healthy.iter().filter(|&&h| h).count()
    }

    /// RLlib's `fault_tolerance/num_healthy_workers`: remote (threaded) runners in
    /// service; 0 when the group samples in the driver (`num_env_runners = 0`).
    pub fn num_healthy_workers(&self) -> usize {
        if self.parallel {
            self.num_healthy_env_runners()
        } else {
            0
        }
    }

    /// RLlib's `fault_tolerance/num_remote_worker_restarts`: runner rebuilds so far (a
    /// runner's count travels in its checkpointed state). Counts the driver's runner too
    /// when `num_env_runners = 0`, which RLlib cannot restart.
    pub fn num_remote_worker_restarts(&self) -> u64 {
        self.runners.iter().map(EnvRunner::restarts).sum()
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

    /// Runs `f` on the runners `jobs` names (indices, ascending), as parallel rayon tasks
    /// when parallel, catching panics; results in runner order.
    fn run_on<T: Send>(
        &mut self,
        jobs: &[usize],
        f: impl Fn(&mut EnvRunner) -> Result<T, RunnerError> + Sync,
    ) -> Vec<(usize, Result<T, RunnerError>)> {
        let guarded = |i: usize, r: &mut EnvRunner| {
            catch_unwind(AssertUnwindSafe(|| f(r))).unwrap_or_else(|p| {
                Err(RunnerError::Panicked {
                    index: i,
                    message: panic_message(&*p),
                })
            })
        };
        let selected: Vec<(usize, &mut EnvRunner)> = self
            .runners
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| jobs.contains(i))
            .collect();
        if !self.parallel || selected.len() <= 1 {
            return selected
                .into_iter()
                .map(|(i, r)| (i, guarded(i, r)))
                .collect();
        }
        // Rayon tasks on the current pool (a sweep's shared pool under `rl::tune`, or the
        // global one): runners never add threads beyond the pool's, results keep runner order.
        use rayon::prelude::*;
        selected
            .into_par_iter()
            .map(|(i, r)| (i, guarded(i, r)))
            .collect()
    }

    /// A fresh runner in place of runner `i` ([`EnvRunner::rebuilt`]): fresh pipelines
    /// with the last synchronized connector states, the current weights.
    fn rebuild(&mut self, i: usize) -> Result<(), RunnerError> {
        let (Some(e2m), Some(m2e)) = (&self.env_to_module, &self.module_to_env) else {
            return Err(RunnerError::Mismatch(
                "the group has no runner to rebuild".into(),
            ));
        };
        let mut e2m = e2m.clone();
        for (c, state) in e2m.connectors_mut().iter_mut().zip(&self.connector_states) {
            if let Some(state) = state {
                c.set_state(state)?;
            }
        }
        let fresh = self.runners[i].rebuilt(e2m, m2e.clone())?;
        self.runners[i] = fresh;
        self.healthy[i] = true;
        Ok(())
    }

    fn may_rebuild(&self, i: usize) -> bool {
        let ft = &self.fault_tolerance;
        ft.restart_failed_env_runners
            && self.runners[i].restarts() < ft.max_num_env_runner_restarts as u64
    }

    /// Brings runners set aside back into service where a rebuild is allowed and works.
    fn restore_unhealthy(&mut self) {
        for i in 0..self.runners.len() {
            if !self.healthy[i] && self.may_rebuild(i) {
                if let Err(e) = self.rebuild(i) {
                    self.last_failure = Some(format!("rebuilding env runner {i}: {e}"));
                }
            }
        }
    }

    fn healthy_indices(&self) -> Result<Vec<usize>, RunnerError> {
        let jobs: Vec<usize> = (0..self.runners.len())
            .filter(|&i| self.healthy[i])
            .collect();
        if jobs.is_empty() && !self.runners.is_empty() {
            return Err(self.no_healthy_runner());
        }
        Ok(jobs)
    }

    fn no_healthy_runner(&self) -> RunnerError {
        RunnerError::NoHealthyEnvRunners {
            restart: self.fault_tolerance.restart_failed_env_runners,
            max_restarts: self.fault_tolerance.max_num_env_runner_restarts,
            last: self.last_failure.clone().unwrap_or_default(),
        }
    }

    /// Applies the fault-tolerance policy to one call's results: a failed runner is
    /// rebuilt or set aside (its output dropped), or, without fault tolerance, its error
    /// is returned. Returns the successful outputs, in runner order.
    fn settle<T>(
        &mut self,
        results: Vec<(usize, Result<T, RunnerError>)>,
    ) -> Result<Vec<(usize, T)>, RunnerError> {
        let ft = self.fault_tolerance.clone();
        let mut ok = Vec::with_capacity(results.len());
        let mut failed = false;
        for (i, r) in results {
            match r {
                Ok(v) => ok.push((i, v)),
                Err(e) => {
                    if e.is_fatal()
                        || !(ft.restart_failed_env_runners || ft.ignore_env_runner_failures)
                    {
                        return Err(e);
                    }
                    failed = true;
                    self.last_failure = Some(e.to_string());
                    self.healthy[i] = false;
                    if self.may_rebuild(i) {
                        if let Err(e) = self.rebuild(i) {
                            self.last_failure = Some(format!("rebuilding env runner {i}: {e}"));
                        }
                    }
                }
            }
        }
        if failed {
            self.consecutive_failures += 1;
            if self.consecutive_failures > ft.num_consecutive_env_runner_failures_tolerance {
                return Err(RunnerError::TooManyFailures {
                    failures: self.consecutive_failures,
                    tolerance: ft.num_consecutive_env_runner_failures_tolerance,
                    last: self.last_failure.clone().unwrap_or_default(),
                });
            }
            if self.num_healthy_env_runners() == 0 {
                return Err(self.no_healthy_runner());
            }
        } else {
            self.consecutive_failures = 0;
        }
        Ok(ok)
    }

    /// Every healthy runner collects `steps_per_env` steps per sub-env; outputs are
    /// concatenated in runner order. A runner that fails contributes nothing to this call
    /// (its running episodes are dropped) and is rebuilt or set aside as the
    /// [`FaultTolerance`] says, so the caller samples again until it has enough steps.
    pub fn sample(&mut self, steps_per_env: usize) -> Result<SampleOutput, RunnerError> {
        self.restore_unhealthy();
        let jobs = self.healthy_indices()?;
        let results = self.run_on(&jobs, |r| r.sample(steps_per_env));
        let outs = self.settle(results)?;
        Ok(concat(outs.into_iter().map(|(_, o)| o)))
    }

    /// Evaluation by episodes: `num_episodes` split over the runners (the first ones take
    /// the remainder), concatenated in runner order. A share whose runner fails is run
    /// again (by its rebuilt runner, or another healthy one).
    pub fn sample_episodes(&mut self, num_episodes: usize) -> Result<SampleOutput, RunnerError> {
        let shares = self.shares(num_episodes);
        self.run_shares(&shares, |r, n| r.sample_episodes(n))
    }

    /// Evaluation by timesteps: `steps` split over the runners, retried as
    /// [`sample_episodes`](Self::sample_episodes) does.
    pub fn sample_timesteps(&mut self, steps: usize) -> Result<SampleOutput, RunnerError> {
        let shares = self.shares(steps);
        self.run_shares(&shares, |r, n| r.sample_timesteps(n))
    }

    fn shares(&self, total: usize) -> Vec<usize> {
        let k = self.runners.len().max(1);
        (0..k)
            .map(|i| total / k + usize::from(i < total % k))
            .collect()
    }

    /// Runs every non-zero share (share `j` on runner `j` while it is healthy, otherwise on
    /// a healthy runner without a share this round) until all have succeeded; outputs in
    /// share order.
    fn run_shares(
        &mut self,
        shares: &[usize],
        f: impl Fn(&mut EnvRunner, usize) -> Result<SampleOutput, RunnerError> + Sync,
    ) -> Result<SampleOutput, RunnerError> {
        let mut outs: Vec<Option<SampleOutput>> = shares
            .iter()
            .map(|&n| (n == 0).then(SampleOutput::default))
            .collect();
        while outs.iter().any(Option::is_none) {
            self.restore_unhealthy();
            let healthy = self.healthy_indices()?;
            // assignment[runner] = share it runs this round.
            let mut assignment: Vec<Option<usize>> = vec![None; self.runners.len()];
            let mut spare = healthy
                .iter()
                .copied()
                .filter(|&i| outs.get(i).is_none_or(Option::is_some));
            for (j, out) in outs.iter().enumerate() {
                if out.is_some() {
                    continue;
                }
                let runner = if self.healthy.get(j).copied().unwrap_or(false) {
                    Some(j)
                } else {
                    spare.next()
                };
                if let Some(r) = runner {
                    assignment[r] = Some(j);
                }
            }
            let jobs: Vec<usize> = (0..assignment.len())
                .filter(|&i| assignment[i].is_some())
                .collect();
            let assignment_ref = &assignment;
            let results = self.run_on(&jobs, |r| {
                let i = r.spec().index;
                let share = assignment_ref
                    .get(i)
                    .copied()
                    .flatten()
                    .map_or(0, |j| shares[j]);
                f(r, share)
            });
            for (runner, out) in self.settle(results)? {
                if let Some(j) = assignment[runner] {
                    outs[j] = Some(out);
                }
            }
        }
        Ok(concat(outs.into_iter().flatten()))
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

    /// Merges the env→module connectors' states (e.g. observation-filter statistics) of the
    /// healthy runners, in runner order, and broadcasts the result. Returns the merged
    /// states, one per connector (`None` for stateless ones), to keep on the driver and in
    /// checkpoints; a rebuilt runner starts from them.
    pub fn sync_connector_states(&mut self) -> Result<Vec<Option<serde_json::Value>>, RunnerError> {
        let Some(first) = (0..self.runners.len()).find(|&i| self.healthy[i]) else {
            return Ok(Vec::new());
        };
        let n = self.runners[first].env_to_module().len();
        let mut merged = Vec::with_capacity(n);
        for c in 0..n {
            let states: Vec<serde_json::Value> = self
                .runners
                .iter()
                .zip(&self.healthy)
                .filter(|(_, &h)| h)
                .filter_map(|(r, _)| r.env_to_module().connectors()[c].get_state())
                .collect();
            if states.is_empty() {
                merged.push(None);
                continue;
            }
            let central = &mut self.runners[first].env_to_module_mut().connectors_mut()[c];
            central.merge_states(&states)?;
            let state = central.get_state();
            if let Some(state) = &state {
                for r in &mut self.runners {
                    r.env_to_module_mut().connectors_mut()[c].set_state(state)?;
                }
            }
            merged.push(state);
        }
        self.connector_states.clone_from(&merged);
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
        self.connector_states = states.to_vec();
        Ok(())
    }
}

fn concat(outs: impl IntoIterator<Item = SampleOutput>) -> SampleOutput {
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

/// RLlib's `fault_tolerance/num_healthy_workers` and
/// `fault_tolerance/num_remote_worker_restarts` of a runner group.
pub fn fault_tolerance_keys(result: &mut crate::metrics::ResultDict, group: &EnvRunnerGroup) {
    crate::metrics::set_path(
        result,
        "fault_tolerance/num_healthy_workers",
        group.num_healthy_workers(),
    );
    crate::metrics::set_path(
        result,
        "fault_tolerance/num_remote_worker_restarts",
        group.num_remote_worker_restarts(),
    );
}
