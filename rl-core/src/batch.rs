//! The train batch: the learner pipeline's output, one row per time step (or per sampled
//! transition).
//!
//! RLlib's standard columns (`Columns.OBS`, `ACTIONS`, `REWARDS`, …) are typed fields, empty
//! when a batch does not carry them; any other column — `new_obs`, `weights`, `n_step`,
//! `td_error`, an algorithm's own — is added by name ([`TrainBatch::set_column`]) and
//! travels with the batch through [`TrainBatch::select_into`] like the standard ones.

use std::collections::BTreeMap;

use ndarray::{Array1, Array2, Axis};
use serde::{Deserialize, Serialize};

/// A train batch that cannot be used: a missing or ragged column, a row out of range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BatchError(pub String);

/// RLlib's column names (`ray.rllib.core.columns.Columns`) for the named columns.
pub mod columns {
    /// The observation after the step (RLlib's `Columns.NEXT_OBS`).
    pub const NEXT_OBS: &str = "new_obs";
    /// Importance-sampling weights of prioritized replay.
    pub const WEIGHTS: &str = "weights";
    /// The n of each row's n-step return.
    pub const N_STEP: &str = "n_step";
    /// TD errors a learner reports back to a prioritized buffer.
    pub const TD_ERROR: &str = "td_error";
}

/// A named column: one entry per row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Column {
    /// One float per row.
    F32(Array1<f32>),
    /// A row of floats per row (rows × width).
    Matrix(Array2<f32>),
    /// One flag per row.
    Bool(Array1<bool>),
}

impl Column {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Column::F32(a) => a.len(),
            Column::Matrix(a) => a.nrows(),
            Column::Bool(a) => a.len(),
        }
    }

    /// Whether the column has no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A column of the same kind with no row.
    fn empty_like(&self) -> Column {
        match self {
            Column::F32(_) => Column::F32(Array1::zeros(0)),
            Column::Matrix(a) => Column::Matrix(Array2::zeros((0, a.ncols()))),
            Column::Bool(_) => Column::Bool(Array1::from_elem(0, false)),
        }
    }

    /// Copies rows `rows` into `dst`, reusing its buffer when kind and shape allow.
    fn select_into(&self, rows: &[usize], dst: &mut Column) {
        match (self, &mut *dst) {
            (Column::F32(s), Column::F32(d)) => rows1(s, rows, d),
            (Column::Bool(s), Column::Bool(d)) => rows1(s, rows, d),
            (Column::Matrix(s), Column::Matrix(d)) => rows2(s, rows, d),
            _ => {
                *dst = self.empty_like();
                self.select_into(rows, dst);
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Column::F32(_) => "a float column",
            Column::Matrix(_) => "a matrix column",
            Column::Bool(_) => "a flag column",
        }
    }
}

/// Columns of a train batch, RLlib's names. For on-policy learners rows are time steps of
/// episode chunks laid end to end (extra bootstrap steps included, with `loss_mask`
/// false); for replay learners, sampled transitions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainBatch {
    /// `obs`: module inputs, rows × obs_dim.
    pub obs: Array2<f32>,
    /// `actions`: rows × act_dim (a discrete action as its index).
    pub actions: Array2<f32>,
    /// `rewards`.
    pub rewards: Array1<f32>,
    /// `terminateds`: the episode reached a terminal state at this step.
    pub terminateds: Array1<bool>,
    /// `truncateds`: the chunk was cut at this step (time limit, rollout end, or extra step).
    pub truncateds: Array1<bool>,
    /// `action_logp`: log-probability of the action under the sampling policy.
    pub action_logp: Array1<f32>,
    /// `action_dist_inputs`: the sampling policy's distribution inputs, rows × dist_dim.
    pub action_dist_inputs: Array2<f32>,
    /// `loss_mask`: false on the extra bootstrap steps.
    pub loss_mask: Array1<bool>,
    /// `vf_preds`: the critic's predictions when the batch was built.
    pub vf_preds: Array1<f32>,
    /// `advantages` (standardized by the GAE connector).
    pub advantages: Array1<f32>,
    /// `value_targets`.
    pub value_targets: Array1<f32>,
    /// Every other column, by name ([`columns`] lists RLlib's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, Column>,
}

impl TrainBatch {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.obs.nrows()
    }

    /// Whether the batch has no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of rows that count in the loss.
    pub fn num_masked_rows(&self) -> usize {
        self.loss_mask.iter().filter(|&&m| m).count()
    }

    /// Adds (or replaces) a named column.
    pub fn set_column(&mut self, name: impl Into<String>, column: Column) {
        self.extra.insert(name.into(), column);
    }

    /// A named column, if the batch has it.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.extra.get(name)
    }

    /// A named float column; the error says what is missing or of another kind.
    pub fn f32_column(&self, name: &str) -> Result<&Array1<f32>, BatchError> {
        match self.column(name) {
            Some(Column::F32(a)) => Ok(a),
            other => Err(self.column_error(name, "a float column", other)),
        }
    }

    /// A named matrix column (rows × width).
    pub fn matrix_column(&self, name: &str) -> Result<&Array2<f32>, BatchError> {
        match self.column(name) {
            Some(Column::Matrix(a)) => Ok(a),
            other => Err(self.column_error(name, "a matrix column", other)),
        }
    }

    /// A named flag column.
    pub fn bool_column(&self, name: &str) -> Result<&Array1<bool>, BatchError> {
        match self.column(name) {
            Some(Column::Bool(a)) => Ok(a),
            other => Err(self.column_error(name, "a flag column", other)),
        }
    }

    fn column_error(&self, name: &str, wanted: &str, found: Option<&Column>) -> BatchError {
        let reason = match found {
            Some(c) => format!("column `{name}` is {}, not {wanted}", c.kind()),
            None => format!(
                "the batch has no column `{name}` (named columns: {:?}); the learner pipeline must add it",
                self.extra.keys().collect::<Vec<_>>()
            ),
        };
        BatchError(reason)
    }

    /// The standard columns with their row counts (0: not carried).
    fn standard_columns(&self) -> [(&'static str, usize); 10] {
        [
            ("actions", self.actions.nrows()),
            ("rewards", self.rewards.len()),
            ("terminateds", self.terminateds.len()),
            ("truncateds", self.truncateds.len()),
            ("action_logp", self.action_logp.len()),
            ("action_dist_inputs", self.action_dist_inputs.nrows()),
            ("loss_mask", self.loss_mask.len()),
            ("vf_preds", self.vf_preds.len()),
            ("advantages", self.advantages.len()),
            ("value_targets", self.value_targets.len()),
        ]
    }

    /// Checks that the batch carries the columns `names` (standard or named), each with one
    /// entry per row; the error names the first that is missing or short.
    pub fn require(&self, names: &[&str]) -> Result<(), BatchError> {
        let n = self.len();
        for &name in names {
            let len = match name {
                "obs" => Some(n),
                _ => self
                    .standard_columns()
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, len)| *len)
                    .or_else(|| self.extra.get(name).map(Column::len)),
            };
            if len != Some(n) {
                return Err(BatchError(format!(
                    "column `{name}` has {} rows, `obs` has {n}; the learner needs it for every row (does the learner pipeline add it?)",
                    len.unwrap_or(0)
                )));
            }
        }
        Ok(())
    }

    /// Checks that every column the batch carries has one entry per row (an empty standard
    /// column is one the batch does not carry): the error names the first that does not.
    pub fn check(&self) -> Result<(), BatchError> {
        let n = self.len();
        let standard = self.standard_columns();
        let carried = standard.iter().filter(|(_, len)| *len != 0).copied();
        let named = self.extra.iter().map(|(k, c)| (k.as_str(), c.len()));
        match carried.chain(named).find(|(_, len)| *len != n) {
            None => Ok(()),
            Some((name, len)) => Err(BatchError(format!(
                "column `{name}` has {len} rows, `obs` has {n}; every column needs one entry per row"
            ))),
        }
    }

    /// Copies rows `rows` into `out`, reusing its buffers when the shapes allow
    /// (the learner calls this once per minibatch). Errors, changing nothing, when a column
    /// is ragged ([`check`](Self::check)) or a row is out of range.
    pub fn select_into(&self, rows: &[usize], out: &mut TrainBatch) -> Result<(), BatchError> {
        self.check()?;
        if let Some(&r) = rows.iter().find(|&&r| r >= self.len()) {
            return Err(BatchError(format!(
                "row {r} selected from a batch of {} rows",
                self.len()
            )));
        }
        rows2(&self.obs, rows, &mut out.obs);
        rows2(&self.actions, rows, &mut out.actions);
        rows2(&self.action_dist_inputs, rows, &mut out.action_dist_inputs);
        rows1(&self.rewards, rows, &mut out.rewards);
        rows1(&self.terminateds, rows, &mut out.terminateds);
        rows1(&self.truncateds, rows, &mut out.truncateds);
        rows1(&self.action_logp, rows, &mut out.action_logp);
        rows1(&self.loss_mask, rows, &mut out.loss_mask);
        rows1(&self.vf_preds, rows, &mut out.vf_preds);
        rows1(&self.advantages, rows, &mut out.advantages);
        rows1(&self.value_targets, rows, &mut out.value_targets);
        out.extra.retain(|k, _| self.extra.contains_key(k));
        for (name, src) in &self.extra {
            let dst = out
                .extra
                .entry(name.clone())
                .or_insert_with(|| src.empty_like());
            src.select_into(rows, dst);
        }
        Ok(())
    }
}

/// Copies rows `rows` of a matrix column into `dst` (an empty source stays empty: a
/// column the batch does not carry).
fn rows2(src: &Array2<f32>, rows: &[usize], dst: &mut Array2<f32>) {
    let n = if src.nrows() == 0 { 0 } else { rows.len() };
    if dst.dim() != (n, src.ncols()) {
        *dst = Array2::zeros((n, src.ncols()));
    }
    for (mut d, &r) in dst.axis_iter_mut(Axis(0)).zip(rows) {
        d.assign(&src.row(r));
    }
}

/// Copies rows `rows` of a 1-D column into `dst` (an empty source stays empty).
fn rows1<T: Copy + Default>(src: &Array1<T>, rows: &[usize], dst: &mut Array1<T>) {
    let n = if src.is_empty() { 0 } else { rows.len() };
    if dst.len() != n {
        *dst = Array1::from_elem(n, T::default());
    }
    for (d, &r) in dst.iter_mut().zip(rows) {
        *d = src[r];
    }
}
