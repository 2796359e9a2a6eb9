//! Buffer states for checkpoints: everything needed to continue bit for bit, as serde
//! structs, and an encoding that keeps the large numeric columns out of JSON.
//!
//! A state serializes completely with serde (`serde_json::to_vec(&state)` works, and is
//! fine for small buffers). For a full buffer, [`EncodedState`] splits it in two: the f32
//! columns (observations, actions, rewards, the sampling policy's outputs, priorities) as
//! one safetensors file, and the rest (episode boundaries, flags, ids, tree leaves,
//! counters) as JSON. A 50k-step CartPole buffer is then ~1.8 MB of safetensors plus
//! ~0.4 MB of JSON, and encodes in milliseconds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::store::{EpisodeStore, Run};
use super::ReplayError;
use crate::episode::Episode;
use crate::safetensors::{decode_safetensors, encode_safetensors};

/// The state format this build writes and the newest it reads.
pub const REPLAY_STATE_FORMAT: u32 = 1;

/// The f32 columns of the stored episodes, laid end to end.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Columns {
    observations: Vec<f32>,
    actions: Vec<f32>,
    rewards: Vec<f32>,
    action_logp: Vec<f32>,
    action_dist_inputs: Vec<f32>,
}

/// The stored episodes and their arrival order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct StoreState {
    capacity: usize,
    dims: Option<[usize; 3]>,
    ids: Vec<u64>,
    t_started: Vec<usize>,
    lens: Vec<usize>,
    terminated: Vec<bool>,
    truncated: Vec<bool>,
    num_episodes_evicted: u64,
    runs: Vec<Run>,
    #[serde(default)]
    columns: Columns,
}

impl StoreState {
    pub fn of(store: &EpisodeStore) -> Self {
        let eps = &store.episodes;
        let mut columns = Columns::default();
        for e in eps {
            columns.observations.extend_from_slice(&e.observations);
            columns.actions.extend_from_slice(&e.actions);
            columns.rewards.extend_from_slice(&e.rewards);
            columns.action_logp.extend_from_slice(&e.action_logp);
            columns
                .action_dist_inputs
                .extend_from_slice(&e.action_dist_inputs);
        }
        StoreState {
            capacity: store.capacity,
            dims: store.dims,
            ids: eps.iter().map(|e| e.id).collect(),
            t_started: eps.iter().map(|e| e.t_started).collect(),
            lens: eps.iter().map(Episode::len).collect(),
            terminated: eps.iter().map(|e| e.is_terminated).collect(),
            truncated: eps.iter().map(|e| e.is_truncated).collect(),
            num_episodes_evicted: store.num_episodes_evicted,
            runs: store.runs().to_vec(),
            columns,
        }
    }

    /// Stored steps.
    pub fn num_steps(&self) -> usize {
        self.lens.iter().sum()
    }

    pub fn into_store(self) -> Result<EpisodeStore, ReplayError> {
        let bad = ReplayError::BadState;
        let n = self.ids.len();
        if [
            self.t_started.len(),
            self.lens.len(),
            self.terminated.len(),
            self.truncated.len(),
        ]
        .iter()
        .any(|&l| l != n)
        {
            return Err(bad(format!(
                "the episode fields disagree on the number of episodes ({n} ids)"
            )));
        }
        let [obs_dim, act_dim, dist_dim] = self.dims.unwrap_or([0; 3]);
        let steps = self.num_steps();
        let c = &self.columns;
        let expect = [
            ("observations", c.observations.len(), (steps + n) * obs_dim),
            ("actions", c.actions.len(), steps * act_dim),
            ("rewards", c.rewards.len(), steps),
            ("action_logp", c.action_logp.len(), steps),
            (
                "action_dist_inputs",
                c.action_dist_inputs.len(),
                steps * dist_dim,
            ),
        ];
        if let Some((name, got, want)) = expect.iter().find(|(_, g, w)| g != w) {
            return Err(bad(format!(
                "column `{name}` holds {got} values, the episodes need {want}"
            )));
        }
        let mut at = [0usize; 5];
        let mut take = |k: usize, col: &[f32], len: usize| {
            let s = col[at[k]..at[k] + len].to_vec();
            at[k] += len;
            s
        };
        let mut episodes = Vec::with_capacity(n);
        for i in 0..n {
            let len = self.lens[i];
            episodes.push(Episode {
                id: self.ids[i],
                t_started: self.t_started[i],
                obs_dim,
                act_dim,
                dist_dim,
                observations: take(0, &c.observations, (len + 1) * obs_dim),
                actions: take(1, &c.actions, len * act_dim),
                rewards: take(2, &c.rewards, len),
                action_logp: take(3, &c.action_logp, len),
                action_dist_inputs: take(4, &c.action_dist_inputs, len * dist_dim),
                is_terminated: self.terminated[i],
                is_truncated: self.truncated[i],
            });
        }
        EpisodeStore::restore(
            self.capacity,
            self.dims,
            episodes,
            self.num_episodes_evicted,
            self.runs,
        )
    }

    /// Moves the f32 columns out (into safetensors), `extra` after them.
    fn take_tensors(
        &mut self,
        extra: Vec<(&'static str, Vec<f32>)>,
    ) -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
        let [obs_dim, act_dim, dist_dim] = self.dims.unwrap_or([0; 3]);
        let steps = self.num_steps();
        let rows = steps + self.ids.len();
        let c = std::mem::take(&mut self.columns);
        let mut out = vec![
            ("observations", vec![rows, obs_dim], c.observations),
            ("actions", vec![steps, act_dim], c.actions),
            ("rewards", vec![steps], c.rewards),
            ("action_logp", vec![steps], c.action_logp),
            (
                "action_dist_inputs",
                vec![steps, dist_dim],
                c.action_dist_inputs,
            ),
        ];
        out.extend(
            extra
                .into_iter()
                .map(|(name, data)| (name, vec![data.len()], data)),
        );
        out
    }

    /// Puts the columns back from decoded tensors; returns the named extras.
    fn put_tensors(
        &mut self,
        mut tensors: BTreeMap<String, Vec<f32>>,
        extra: &[&str],
    ) -> Result<Vec<Vec<f32>>, ReplayError> {
        let mut get = |name: &str| {
            tensors.remove(name).ok_or_else(|| {
                ReplayError::BadState(format!("the safetensors file has no tensor `{name}`"))
            })
        };
        self.columns = Columns {
            observations: get("observations")?,
            actions: get("actions")?,
            rewards: get("rewards")?,
            action_logp: get("action_logp")?,
            action_dist_inputs: get("action_dist_inputs")?,
        };
        let extra = extra
            .iter()
            .map(|name| get(name))
            .collect::<Result<Vec<_>, _>>()?;
        match tensors.keys().next() {
            Some(name) => Err(ReplayError::BadState(format!(
                "the safetensors file has an unexpected tensor `{name}`"
            ))),
            None => Ok(extra),
        }
    }
}

/// A buffer state split for a checkpoint: `json` (boundaries, flags, ids, leaves,
/// counters) and `safetensors` (the f32 columns; `safetensors.numpy.load` reads it).
#[derive(Clone, Debug, PartialEq)]
pub struct EncodedState {
    /// The state without its f32 columns, as JSON.
    pub json: Vec<u8>,
    /// The f32 columns, in the safetensors format.
    pub safetensors: Vec<u8>,
}

/// Implemented by both buffers' states: header checks and the split encoding.
pub(crate) trait SplitState: Serialize + serde::de::DeserializeOwned + Clone {
    const BUFFER_TYPE: &'static str;
    fn header(&self) -> (&str, u32);
    fn store_mut(&mut self) -> &mut StoreState;
    /// Moves out the f32 columns besides the store's.
    fn take_extra(&mut self) -> Vec<(&'static str, Vec<f32>)>;
    /// Names of those columns, in order.
    fn extra_names() -> &'static [&'static str];
    fn put_extra(&mut self, extra: Vec<Vec<f32>>);

    fn check_header(&self) -> Result<(), ReplayError> {
        let (kind, format) = self.header();
        if kind != Self::BUFFER_TYPE {
            return Err(ReplayError::BadState(format!(
                "this is the state of a {kind}, not of a {}",
                Self::BUFFER_TYPE
            )));
        }
        if format > REPLAY_STATE_FORMAT {
            return Err(ReplayError::BadState(format!(
                "state format {format} is newer than this build's {REPLAY_STATE_FORMAT}; upgrade to read it"
            )));
        }
        Ok(())
    }

    fn encode_split(&self) -> Result<EncodedState, ReplayError> {
        let mut head = self.clone();
        let extra = head.take_extra();
        let tensors = head.store_mut().take_tensors(extra);
        let views: Vec<(&str, &[usize], &[f32])> = tensors
            .iter()
            .map(|(n, s, d)| (*n, s.as_slice(), d.as_slice()))
            .collect();
        let mut meta = BTreeMap::new();
        meta.insert("buffer_type".to_string(), Self::BUFFER_TYPE.to_string());
        let safetensors = encode_safetensors(&views, &meta);
        let json = serde_json::to_vec(&head)
            .map_err(|e| ReplayError::BadState(format!("cannot write the state as JSON: {e}")))?;
        Ok(EncodedState { json, safetensors })
    }

    fn decode_split(encoded: &EncodedState) -> Result<Self, ReplayError> {
        let mut state: Self = serde_json::from_slice(&encoded.json)
            .map_err(|e| ReplayError::BadState(format!("the JSON part does not parse: {e}")))?;
        state.check_header()?;
        let tensors = decode_safetensors(&encoded.safetensors)
            .map_err(|e| ReplayError::BadState(format!("the safetensors part: {e}")))?
            .into_iter()
            .map(|t| (t.name, t.data))
            .collect();
        let extra = state
            .store_mut()
            .put_tensors(tensors, Self::extra_names())?;
        state.put_extra(extra);
        Ok(state)
    }
}
