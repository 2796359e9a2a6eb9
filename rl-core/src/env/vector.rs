//! Vectorized envs: N copies of an env stepped together into one batched observation array.
//!
//! # Autoreset convention: same step
//!
//! Gymnasium 1.x's vector envs default to `NEXT_STEP` autoreset (the step after an episode
//! ended is a reset, ignoring its action). RLlib's `SingleAgentEnvRunner` works as if the
//! reset happened in the same step, and so do these vector envs (Gymnasium's `SAME_STEP`
//! mode):
//!
//! - when sub-env `i` terminates or truncates in [`VectorEnv::step`], it is reset at once
//!   (with no seed, so its RNG continues, and no options);
//! - row `i` of [`VectorStep::obs`] then holds the **first observation of the new episode**,
//!   and `infos[i]` the info of that reset;
//! - the **true final observation** of the episode that ended, and the info of its last
//!   step, are in [`VectorStep::final_obs`] / [`VectorStep::final_info`] (row `i` of
//!   `final_obs_rows`), which is what truncation bootstrapping needs;
//! - `rewards[i]`, `terminated[i]`, `truncated[i]` are those of the step that ended it.
//!
//! Every step therefore consumes an action for every sub-env; no step is wasted on resets.
//! Observations are flattened as [`Space::flatten_into`] does (one-hot for `Discrete`),
//! `obs_dim = single_observation_space().flat_dim()` numbers per row, row-major.
//!
//! # Seeding
//!
//! `reset(Some(seed))` resets sub-env `i` with seed `seed + i` (wrapping), as Gymnasium's
//! vector envs do; `reset(None)` continues every sub-env's RNG.

use super::{Env, EnvError, Info, Space, Value};

/// What [`VectorEnv::step`] returns: views into the vector env's buffers, valid until its
/// next call. See the [module docs](self) for the autoreset convention.
#[derive(Debug, Clone, Copy)]
pub struct VectorStep<'a> {
    /// Observations after the step, `num_envs × obs_dim`, row-major. For a sub-env whose
    /// episode ended in this step, its row holds the reset observation of the next episode.
    pub obs: &'a [f32],
    /// Numbers per observation row (`single_observation_space().flat_dim()`).
    pub obs_dim: usize,
    /// Reward of each sub-env's step.
    pub rewards: &'a [f64],
    /// Whether each sub-env's episode terminated in this step.
    pub terminated: &'a [bool],
    /// Whether each sub-env's episode was truncated in this step.
    pub truncated: &'a [bool],
    /// Info of each sub-env: of the step, or of the reset for sub-envs that were reset.
    pub infos: &'a [Info],
    /// Final observations, `num_envs × obs_dim`; row `i` is meaningful only where sub-env
    /// `i` ended (`terminated[i] || truncated[i]`). Prefer [`VectorStep::final_obs`].
    pub final_obs_rows: &'a [f32],
    /// Info of the last step of each ended episode; meaningful only where sub-env `i` ended.
    /// Prefer [`VectorStep::final_info`].
    pub final_infos: &'a [Info],
}

impl<'a> VectorStep<'a> {
    /// Number of sub-envs.
    pub fn num_envs(&self) -> usize {
        self.rewards.len()
    }

    /// Whether sub-env `i`'s episode ended (terminated or truncated) in this step.
    pub fn done(&self, i: usize) -> bool {
        self.terminated[i] || self.truncated[i]
    }

    /// Observation row `i` (the reset observation if the episode ended).
    pub fn obs_row(&self, i: usize) -> &'a [f32] {
        &self.obs[i * self.obs_dim..(i + 1) * self.obs_dim]
    }

    /// The true final observation of sub-env `i`'s episode, if it ended in this step.
    pub fn final_obs(&self, i: usize) -> Option<&'a [f32]> {
        if self.done(i) {
            Some(&self.final_obs_rows[i * self.obs_dim..(i + 1) * self.obs_dim])
        } else {
            None
        }
    }

    /// The info of the last step of sub-env `i`'s episode, if it ended in this step.
    pub fn final_info(&self, i: usize) -> Option<&'a Info> {
        if self.done(i) {
            Some(&self.final_infos[i])
        } else {
            None
        }
    }
}

/// `*slot = info`, skipping the (non-inlined) drop of two empty maps on the hot path.
#[inline]
fn store_info(slot: &mut Info, info: Info) {
    if info.is_empty() && slot.is_empty() {
        // An empty map owns no allocation: forgetting it leaks nothing.
        std::mem::forget(info);
    } else {
        *slot = info;
    }
}

/// What [`VectorEnv::reset`] returns: views into the vector env's buffers.
#[derive(Debug, Clone, Copy)]
pub struct VectorReset<'a> {
    /// First observations, `num_envs × obs_dim`, row-major.
    pub obs: &'a [f32],
    /// Numbers per observation row.
    pub obs_dim: usize,
    /// Info of each sub-env's reset.
    pub infos: &'a [Info],
}

/// N envs stepped together, with same-step autoreset (see the [module docs](self)).
pub trait VectorEnv: Send {
    /// Number of sub-envs.
    fn num_envs(&self) -> usize;
    /// The observation space of one sub-env.
    fn single_observation_space(&self) -> &Space;
    /// The action space of one sub-env.
    fn single_action_space(&self) -> &Space;
    /// Numbers per observation row: `single_observation_space().flat_dim()`.
    fn obs_dim(&self) -> usize {
        self.single_observation_space().flat_dim()
    }
    /// Resets every sub-env; `Some(seed)` seeds sub-env `i` with `seed + i`.
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
    ) -> Result<VectorReset<'_>, EnvError>;
    /// Steps every sub-env with its action (`actions.len() == num_envs()`), resetting those
    /// whose episode ended. After an error the sub-envs may be mid-step: call `reset`.
    fn step(&mut self, actions: &[Value]) -> Result<VectorStep<'_>, EnvError>;
}

/// Steps its sub-envs one after the other in the calling thread, as Gymnasium's
/// `SyncVectorEnv`, but with same-step autoreset (see the [module docs](self)). Generic
/// over the sub-env type: `SyncVectorEnv<Box<dyn Env>>` (the default, from [`make`]) or a
/// concrete env type for static dispatch.
///
/// Stepping does not allocate when the sub-envs' [`Env::step_into`] does not.
///
/// [`make`]: SyncVectorEnv::make
pub struct SyncVectorEnv<E = Box<dyn Env>> {
    envs: Vec<E>,
    obs_space: Space,
    act_space: Space,
    obs_dim: usize,
    obs: Vec<f32>,
    final_obs: Vec<f32>,
    rewards: Vec<f64>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    infos: Vec<Info>,
    final_infos: Vec<Info>,
    needs_reset: bool,
}

impl<E: Env> std::fmt::Debug for SyncVectorEnv<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncVectorEnv")
            .field("num_envs", &self.envs.len())
            .field("single_observation_space", &self.obs_space)
            .field("single_action_space", &self.act_space)
            .finish_non_exhaustive()
    }
}

impl SyncVectorEnv<Box<dyn Env>> {
    /// `num_envs` copies of the registered env `name` built with `kwargs` (as
    /// `gymnasium.make_vec(name, num_envs, vectorization_mode="sync")`).
    pub fn make(name: &str, kwargs: &serde_json::Value, num_envs: usize) -> Result<Self, EnvError> {
        Self::from_fn(num_envs, |_| super::make(name, kwargs))
    }
}

impl<E: Env> SyncVectorEnv<E> {
    /// Builds `num_envs` sub-envs with `factory(i)`.
    pub fn from_fn(
        num_envs: usize,
        mut factory: impl FnMut(usize) -> Result<E, EnvError>,
    ) -> Result<Self, EnvError> {
        let envs = (0..num_envs)
            .map(&mut factory)
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(envs)
    }

    /// Vectorizes `envs`, which must be non-empty and share their observation and action
    /// spaces.
    pub fn new(envs: Vec<E>) -> Result<Self, EnvError> {
        let first = envs.first().ok_or_else(|| EnvError::InvalidArgument {
            name: "envs".into(),
            reason: "a vector env needs at least one sub-env; pass num_envs >= 1".into(),
        })?;
        let obs_space = first.observation_space().clone();
        let act_space = first.action_space().clone();
        obs_space.validate()?;
        act_space.validate()?;
        for (i, e) in envs.iter().enumerate() {
            if e.observation_space() != &obs_space || e.action_space() != &act_space {
                return Err(EnvError::InvalidArgument {
                    name: "envs".into(),
                    reason: format!(
                        "sub-env {i} has spaces ({:?}, {:?}) but sub-env 0 has ({obs_space:?}, {act_space:?}); all sub-envs must share their spaces",
                        e.observation_space(),
                        e.action_space()
                    ),
                });
            }
        }
        let n = envs.len();
        let obs_dim = obs_space.flat_dim();
        Ok(Self {
            envs,
            obs_space,
            act_space,
            obs_dim,
            obs: vec![0.0; n * obs_dim],
            final_obs: vec![0.0; n * obs_dim],
            rewards: vec![0.0; n],
            terminated: vec![false; n],
            truncated: vec![false; n],
            infos: vec![Info::new(); n],
            final_infos: vec![Info::new(); n],
            needs_reset: true,
        })
    }

    /// The sub-envs.
    pub fn envs(&self) -> &[E] {
        &self.envs
    }

    /// The sub-envs, mutably. Stepping or resetting them directly desynchronizes the
    /// observation buffer until the next [`VectorEnv::reset`].
    pub fn envs_mut(&mut self) -> &mut [E] {
        &mut self.envs
    }

    /// The current observations (`num_envs × obs_dim`, row-major): those of the last
    /// `reset` or `step`.
    pub fn observations(&self) -> &[f32] {
        &self.obs
    }

    /// Unwraps the sub-envs.
    pub fn into_envs(self) -> Vec<E> {
        self.envs
    }

    /// The full state of every sub-env ([`Env::save_state`]) and whether the vector env
    /// needs a reset, for checkpoints: `{"needs_reset": bool, "envs": [state, …]}`.
    pub fn save_state(&self) -> Result<serde_json::Value, EnvError> {
        let envs = self
            .envs
            .iter()
            .map(Env::save_state)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(serde_json::json!({ "needs_reset": self.needs_reset, "envs": envs }))
    }

    /// Restores a state from [`SyncVectorEnv::save_state`]; the number of sub-envs must
    /// match. Steps then continue each sub-env's episode where it was saved.
    pub fn load_state(&mut self, state: &serde_json::Value) -> Result<(), EnvError> {
        let bad = |reason: String| EnvError::InvalidArgument {
            name: "state".into(),
            reason: format!("{reason}; pass a value returned by SyncVectorEnv::save_state"),
        };
        let needs_reset = state
            .get("needs_reset")
            .and_then(|v| v.as_bool())
            .ok_or_else(|| bad("missing or non-boolean `needs_reset`".into()))?;
        let envs = state
            .get("envs")
            .and_then(|v| v.as_array())
            .ok_or_else(|| bad("missing `envs` list".into()))?;
        if envs.len() != self.envs.len() {
            return Err(bad(format!(
                "{} sub-env states for {} sub-envs",
                envs.len(),
                self.envs.len()
            )));
        }
        for (env, s) in self.envs.iter_mut().zip(envs) {
            env.load_state(s)?;
        }
        self.needs_reset = needs_reset;
        Ok(())
    }
}

impl<E: Env> VectorEnv for SyncVectorEnv<E> {
    fn num_envs(&self) -> usize {
        self.envs.len()
    }

    fn single_observation_space(&self) -> &Space {
        &self.obs_space
    }

    fn single_action_space(&self) -> &Space {
        &self.act_space
    }

    fn obs_dim(&self) -> usize {
        self.obs_dim
    }

    fn reset(
        &mut self,
        seed: Option<u64>,
        options: Option<&serde_json::Value>,
    ) -> Result<VectorReset<'_>, EnvError> {
        self.needs_reset = true;
        let d = self.obs_dim;
        for i in 0..self.envs.len() {
            let s = seed.map(|s| s.wrapping_add(i as u64));
            let row = &mut self.obs[i * d..(i + 1) * d];
            self.infos[i] = self.envs[i].reset_into(s, options, row)?;
        }
        self.rewards.fill(0.0);
        self.terminated.fill(false);
        self.truncated.fill(false);
        self.needs_reset = false;
        Ok(VectorReset {
            obs: &self.obs,
            obs_dim: d,
            infos: &self.infos,
        })
    }

    fn step(&mut self, actions: &[Value]) -> Result<VectorStep<'_>, EnvError> {
        if self.needs_reset {
            return Err(EnvError::StepBeforeReset);
        }
        let n = self.envs.len();
        if actions.len() != n {
            return Err(EnvError::InvalidArgument {
                name: "actions".into(),
                reason: format!(
                    "got {} actions for {n} sub-envs; pass one action per sub-env",
                    actions.len()
                ),
            });
        }
        let d = self.obs_dim;
        for (i, action) in actions.iter().enumerate() {
            let env = &mut self.envs[i];
            let row = &mut self.obs[i * d..(i + 1) * d];
            let out = match env.step_into(action, row) {
                Ok(o) => o,
                Err(e) => {
                    self.needs_reset = true;
                    return Err(e);
                }
            };
            self.rewards[i] = out.reward;
            self.terminated[i] = out.terminated;
            self.truncated[i] = out.truncated;
            if out.terminated || out.truncated {
                self.final_obs[i * d..(i + 1) * d].copy_from_slice(row);
                self.final_infos[i] = out.info;
                match env.reset_into(None, None, row) {
                    Ok(info) => self.infos[i] = info,
                    Err(e) => {
                        self.needs_reset = true;
                        return Err(e);
                    }
                }
            } else {
                store_info(&mut self.infos[i], out.info);
            }
        }
        Ok(VectorStep {
            obs: &self.obs,
            obs_dim: d,
            rewards: &self.rewards,
            terminated: &self.terminated,
            truncated: &self.truncated,
            infos: &self.infos,
            final_obs_rows: &self.final_obs,
            final_infos: &self.final_infos,
        })
    }
}
