//! Named parameters ([`ParamStore`]) and their gradients ([`Grads`]).

use std::collections::HashMap;

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::NnError;

/// Handle to one parameter of a [`ParamStore`]: its index in insertion order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ParamId(pub usize);

impl ParamId {
    /// The parameter's index in its store (insertion order).
    pub fn index(self) -> usize {
        self.0
    }
}

/// One named parameter, as serialized.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NamedParam {
    /// RLlib-style name, e.g. `encoder.actor_encoder.net.mlp.0.weight`.
    pub name: String,
    /// The value (2-D; a bias is `1 × n`).
    pub value: Array2<f32>,
}

/// Named `f32` parameters, all 2-D (a Linear weight is `[out, in]` as in torch, a bias
/// `1 × out`). Serializes (serde) as a list of `{name, value}` in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Vec<NamedParam>", into = "Vec<NamedParam>")]
pub struct ParamStore {
    names: Vec<String>,
    values: Vec<Array2<f32>>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl TryFrom<Vec<NamedParam>> for ParamStore {
    type Error = NnError;
    fn try_from(v: Vec<NamedParam>) -> Result<Self, NnError> {
        let mut s = ParamStore::new();
        for p in v {
            s.add(&p.name, p.value)?;
        }
        Ok(s)
    }
}

impl From<ParamStore> for Vec<NamedParam> {
    fn from(s: ParamStore) -> Self {
        s.names
            .into_iter()
            .zip(s.values)
            .map(|(name, value)| NamedParam { name, value })
            .collect()
    }
}

impl ParamStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a parameter; fails if the name is taken.
    pub fn add(&mut self, name: &str, value: Array2<f32>) -> Result<ParamId, NnError> {
        if self.index.contains_key(name) {
            return Err(NnError::DuplicateParam(name.to_string()));
        }
        let id = self.values.len();
        self.names.push(name.to_string());
        self.values.push(value.as_standard_layout().into_owned());
        self.index.insert(name.to_string(), id);
        Ok(ParamId(id))
    }

    /// Number of parameter tensors.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the store holds no parameter.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Total number of scalars (RLlib's `num_trainable_parameters`).
    pub fn num_scalars(&self) -> usize {
        self.values.iter().map(|v| v.len()).sum()
    }

    /// The id of the parameter called `name`.
    pub fn id(&self, name: &str) -> Option<ParamId> {
        self.index.get(name).map(|&i| ParamId(i))
    }

    /// The value of a parameter. Panics if `id` is not from this store.
    pub fn get(&self, id: ParamId) -> &Array2<f32> {
        &self.values[id.0]
    }

    /// Mutable access to a parameter's value (keep its shape and standard layout, which
    /// the optimizers and layers rely on).
    pub fn get_mut(&mut self, id: ParamId) -> &mut Array2<f32> {
        &mut self.values[id.0]
    }

    /// The value of the parameter called `name`.
    pub fn get_by_name(&self, name: &str) -> Option<&Array2<f32>> {
        self.id(name).map(|id| self.get(id))
    }

    /// The name of a parameter.
    pub fn name(&self, id: ParamId) -> &str {
        &self.names[id.0]
    }

    /// All ids in insertion order.
    pub fn ids(&self) -> impl Iterator<Item = ParamId> {
        (0..self.values.len()).map(ParamId)
    }

    /// `(id, name, value)` for every parameter, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &str, &Array2<f32>)> {
        self.names
            .iter()
            .zip(&self.values)
            .enumerate()
            .map(|(i, (n, v))| (ParamId(i), n.as_str(), v))
    }

    /// All values, in insertion order (used by optimizers; keep each one's shape and
    /// standard layout).
    pub fn values_mut(&mut self) -> &mut [Array2<f32>] {
        &mut self.values
    }

    /// Sets the parameter called `name` from a torch-style `shape` and row-major `values`.
    /// A 1-D shape `[n]` loads into a `1 × n` parameter (a bias). Errors on an unknown
    /// name, a shape that differs from the parameter's, or a wrong number of values.
    pub fn load(&mut self, name: &str, shape: &[usize], values: &[f32]) -> Result<(), NnError> {
        let id = self
            .id(name)
            .ok_or_else(|| NnError::UnknownParam(name.to_string()))?;
        let target = &mut self.values[id.0];
        let (r, c) = target.dim();
        let ok = match *shape {
            [n] => r == 1 && c == n,
            [a, b] => a == r && b == c,
            _ => false,
        };
        if !ok {
            return Err(NnError::ShapeMismatch {
                name: name.to_string(),
                expected: vec![r, c],
                got: shape.to_vec(),
            });
        }
        if values.len() != r * c {
            return Err(NnError::ValueCount {
                name: name.to_string(),
                shape: shape.to_vec(),
                got: values.len(),
            });
        }
        // Invariant: `ParamStore::add` stores every value in standard layout.
        target
            .as_slice_mut()
            .expect("parameters are contiguous")
            .copy_from_slice(values);
        Ok(())
    }

    /// Sets a parameter from an array of the same shape.
    pub fn set(&mut self, id: ParamId, value: ArrayView2<'_, f32>) -> Result<(), NnError> {
        let target = &mut self.values[id.0];
        if target.dim() != value.dim() {
            return Err(NnError::ShapeMismatch {
                name: self.names[id.0].clone(),
                expected: vec![target.nrows(), target.ncols()],
                got: vec![value.nrows(), value.ncols()],
            });
        }
        target.assign(&value);
        Ok(())
    }

    /// Copies all values from `other`, which must have the same names and shapes (e.g. to
    /// sync a learner's weights to an acting copy without reallocating).
    pub fn copy_from(&mut self, other: &ParamStore) -> Result<(), NnError> {
        if self.names != other.names {
            return Err(NnError::StateMismatch("parameter names differ".into()));
        }
        for (i, (a, b)) in self.values.iter_mut().zip(&other.values).enumerate() {
            if a.dim() != b.dim() {
                return Err(NnError::ShapeMismatch {
                    name: self.names[i].clone(),
                    expected: vec![a.nrows(), a.ncols()],
                    got: vec![b.nrows(), b.ncols()],
                });
            }
            a.assign(b);
        }
        Ok(())
    }
}

/// Where [`Grads::first_non_finite`] found a NaN or infinite gradient.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonFinite {
    /// The parameter (name it with [`ParamStore::name`]).
    pub param: ParamId,
    /// The element's index in the parameter, row-major.
    pub index: usize,
    /// The value (NaN or ±∞).
    pub value: f32,
}

/// Whether every element is finite: `x · 0` is 0 for finite `x` and NaN otherwise, so one
/// sum (in eight lanes, which vectorizes) tells.
pub fn all_finite(a: &Array2<f32>) -> bool {
    let Some(xs) = a.as_slice_memory_order() else {
        return a.iter().all(|x| x.is_finite());
    };
    let mut lanes = [0.0f32; 8];
    let mut chunks = xs.chunks_exact(8);
    for c in &mut chunks {
        for (l, &x) in lanes.iter_mut().zip(c) {
            *l += x * 0.0;
        }
    }
    let rest: f32 = chunks.remainder().iter().map(|&x| x * 0.0).sum();
    lanes.iter().sum::<f32>() + rest == 0.0
}

/// Gradients aligned with a [`ParamStore`]: one array per parameter, same shapes.
/// [`Tape::backward`](crate::Tape::backward) *adds* into it (as torch accumulates `.grad`);
/// call [`Grads::zero`] between updates.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Grads {
    values: Vec<Array2<f32>>,
}

impl Grads {
    /// Zero gradients shaped like `store`'s parameters.
    pub fn new(store: &ParamStore) -> Self {
        Grads {
            values: store
                .values
                .iter()
                .map(|v| Array2::zeros(v.dim()))
                .collect(),
        }
    }

    /// Sets every gradient to zero (keeps the buffers).
    pub fn zero(&mut self) {
        for g in &mut self.values {
            g.fill(0.0);
        }
    }

    /// Number of gradient arrays.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there is no gradient array.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The gradient of one parameter.
    pub fn get(&self, id: ParamId) -> &Array2<f32> {
        &self.values[id.0]
    }

    /// Mutable access to the gradient of one parameter.
    pub fn get_mut(&mut self, id: ParamId) -> &mut Array2<f32> {
        &mut self.values[id.0]
    }

    /// All gradients in parameter order.
    pub fn values(&self) -> &[Array2<f32>] {
        &self.values
    }

    /// All gradients in parameter order, mutable.
    pub fn values_mut(&mut self) -> &mut [Array2<f32>] {
        &mut self.values
    }

    /// Whether the shapes match `store`'s parameters one for one.
    pub fn matches(&self, store: &ParamStore) -> bool {
        self.values.len() == store.values.len()
            && self
                .values
                .iter()
                .zip(&store.values)
                .all(|(g, p)| g.dim() == p.dim())
    }

    /// The global L2 norm over all gradients (squares accumulated in f64, in eight lanes
    /// so the loop vectorizes).
    pub fn global_norm(&self) -> f32 {
        let mut lanes = [0.0f64; 8];
        let sq = |x: f32| f64::from(x) * f64::from(x);
        for g in &self.values {
            match g.as_slice_memory_order() {
                Some(xs) => {
                    let mut chunks = xs.chunks_exact(8);
                    for c in &mut chunks {
                        for (l, &x) in lanes.iter_mut().zip(c) {
                            *l += sq(x);
                        }
                    }
                    for &x in chunks.remainder() {
                        lanes[0] += sq(x);
                    }
                }
                None => {
                    for &x in g.iter() {
                        lanes[0] += sq(x);
                    }
                }
            }
        }
        lanes.iter().sum::<f64>().sqrt() as f32
    }

    /// The first NaN or infinite gradient element: its parameter, flat index and value.
    /// `None` when every gradient is finite (one vectorized pass; the search for the
    /// element runs only when there is one).
    pub fn first_non_finite(&self) -> Option<NonFinite> {
        for (p, g) in self.values.iter().enumerate() {
            if all_finite(g) {
                continue;
            }
            if let Some((index, &value)) = g.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return Some(NonFinite {
                    param: ParamId(p),
                    index,
                    value,
                });
            }
        }
        None
    }

    /// Adds `other`'s gradients into these (merging gradients recorded on separate tapes).
    /// Errors when the two are not shaped alike.
    pub fn add_assign(&mut self, other: &Grads) -> Result<(), NnError> {
        let alike = self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| a.dim() == b.dim());
        if !alike {
            return Err(NnError::StateMismatch(
                "cannot add gradients of differently shaped parameter sets; build both with Grads::new on the same store".into(),
            ));
        }
        for (a, b) in self.values.iter_mut().zip(&other.values) {
            *a += b;
        }
        Ok(())
    }

    /// Multiplies every gradient by `factor`.
    pub fn scale(&mut self, factor: f32) {
        for g in &mut self.values {
            g.mapv_inplace(|x| x * factor);
        }
    }
}
