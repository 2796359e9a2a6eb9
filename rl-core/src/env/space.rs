//! Spaces: the sets observations and actions live in, as in `gymnasium.spaces`.

use serde::{Deserialize, Serialize};

use crate::Rng;

/// A value drawn from a [`Space`]: an observation or an action.
///
/// `Discrete` spaces hold integers, `Box` spaces flat `f32` vectors in row-major order
/// (the space carries the shape). More variants (multi-discrete, tuple, dict) can be added
/// without changing the [`Env`](crate::env::Env) trait.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Value {
    /// An element of a [`Space::Discrete`].
    Discrete(i64),
    /// An element of a [`Space::Box`], flattened row-major.
    Box(#[serde(with = "nonfinite_f32_vec")] Vec<f32>),
}

/// A set of observations or actions, as in `gymnasium.spaces`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Space {
    /// `{start, start + 1, …, start + n − 1}`, as `gymnasium.spaces.Discrete(n, start)`.
    Discrete {
        /// Number of elements.
        n: i64,
        /// Smallest element (Gymnasium's `start`, usually 0).
        start: i64,
    },
    /// A box in ℝⁿ with per-element bounds, as `gymnasium.spaces.Box(low, high, shape, float32)`.
    /// `low` and `high` are flattened row-major and may hold infinities.
    Box {
        /// Lower bounds, one per element.
        #[serde(with = "nonfinite_f32_vec")]
        low: Vec<f32>,
        /// Upper bounds, one per element.
        #[serde(with = "nonfinite_f32_vec")]
        high: Vec<f32>,
        /// The shape; the product of its dimensions equals `low.len()`.
        shape: Vec<usize>,
    },
}

use rand::Rng as _;

/// Serde for `Vec<f32>` that survives JSON: in human-readable formats, infinities and NaN
/// (which JSON cannot hold) are written as the strings `"inf"`, `"-inf"` and `"nan"`.
mod nonfinite_f32_vec {
    use serde::de::Error as _;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[f32], s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return v.serialize(s);
        }
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            if x.is_finite() {
                seq.serialize_element(x)?;
            } else if x.is_nan() {
                seq.serialize_element("nan")?;
            } else if *x > 0.0 {
                seq.serialize_element("inf")?;
            } else {
                seq.serialize_element("-inf")?;
            }
        }
        seq.end()
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum F {
        N(f32),
        S(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f32>, D::Error> {
        if !d.is_human_readable() {
            return Vec::<f32>::deserialize(d);
        }
        Vec::<F>::deserialize(d)?
            .into_iter()
            .map(|f| match f {
                F::N(x) => Ok(x),
                F::S(s) => match s.to_ascii_lowercase().as_str() {
                    "inf" | "+inf" | "infinity" | "+infinity" => Ok(f32::INFINITY),
                    "-inf" | "-infinity" => Ok(f32::NEG_INFINITY),
                    "nan" => Ok(f32::NAN),
                    _ => Err(D::Error::custom(format!(
                        "expected a number or one of \"inf\", \"-inf\", \"nan\", got {s:?}"
                    ))),
                },
            })
            .collect()
    }
}
use rand_distr::{Distribution, Exp1, StandardNormal};

use crate::env::EnvError;

impl Value {
    /// The integer of a `Discrete` value, `None` for other kinds.
    pub fn as_discrete(&self) -> Option<i64> {
        match self {
            Value::Discrete(i) => Some(*i),
            _ => None,
        }
    }

    /// The elements of a `Box` value, `None` for other kinds.
    pub fn as_box(&self) -> Option<&[f32]> {
        match self {
            Value::Box(v) => Some(v),
            _ => None,
        }
    }
}

fn invalid(name: &str, reason: impl Into<String>) -> EnvError {
    EnvError::InvalidArgument {
        name: name.to_string(),
        reason: reason.into(),
    }
}

impl Space {
    /// `Discrete(n)`: the integers `0 … n − 1`, as `gymnasium.spaces.Discrete(n)`.
    ///
    /// Errors when `n` is not positive.
    pub fn discrete(n: i64) -> Result<Space, EnvError> {
        Space::discrete_with_start(n, 0)
    }

    /// `Discrete(n, start)`: the integers `start … start + n − 1`.
    ///
    /// Errors when `n` is not positive or `start + n` overflows.
    pub fn discrete_with_start(n: i64, start: i64) -> Result<Space, EnvError> {
        let space = Space::Discrete { n, start };
        space.validate()?;
        Ok(space)
    }

    /// A `Box` space with per-element bounds `low`, `high` (flattened row-major) and `shape`,
    /// as `gymnasium.spaces.Box(low, high, shape, dtype=float32)`.
    ///
    /// Errors when the lengths of `low` and `high` differ from the product of `shape`, a
    /// bound is NaN, `low > high` somewhere, or `low` is `+inf` / `high` is `−inf`.
    pub fn box_(low: Vec<f32>, high: Vec<f32>, shape: Vec<usize>) -> Result<Space, EnvError> {
        let space = Space::Box { low, high, shape };
        space.validate()?;
        Ok(space)
    }

    /// A `Box` space whose every element has the same bounds, as
    /// `gymnasium.spaces.Box(low=-1.0, high=1.0, shape=(3,))`.
    pub fn box_uniform(low: f32, high: f32, shape: Vec<usize>) -> Result<Space, EnvError> {
        let len = shape.iter().product::<usize>();
        Space::box_(vec![low; len], vec![high; len], shape)
    }

    /// Checks that the space is well formed (as the constructors do); useful after
    /// deserializing one. Returns what is wrong and how to fix it.
    pub fn validate(&self) -> Result<(), EnvError> {
        match self {
            Space::Discrete { n, start } => {
                if *n <= 0 {
                    return Err(invalid(
                        "n",
                        format!(
                            "a Discrete space needs at least one element, got n = {n}; pass n >= 1"
                        ),
                    ));
                }
                if start.checked_add(*n).is_none() {
                    return Err(invalid(
                        "start",
                        format!("start + n overflows i64 (start = {start}, n = {n}); use a smaller start"),
                    ));
                }
                Ok(())
            }
            Space::Box { low, high, shape } => {
                let len = shape
                    .iter()
                    .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                    .ok_or_else(|| {
                        invalid(
                            "shape",
                            format!("the product of shape {shape:?} overflows usize"),
                        )
                    })?;
                if low.len() != len || high.len() != len {
                    return Err(invalid(
                        "low/high",
                        format!(
                            "a Box of shape {shape:?} needs {len} bounds, got {} low and {} high; give one bound per element, flattened row-major",
                            low.len(),
                            high.len()
                        ),
                    ));
                }
                for (i, (&l, &h)) in low.iter().zip(high.iter()).enumerate() {
                    if l.is_nan() || h.is_nan() {
                        return Err(invalid(
                            "low/high",
                            format!("bound {i} is NaN; use ±inf for an unbounded element"),
                        ));
                    }
                    if l > h {
                        return Err(invalid(
                            "low/high",
                            format!(
                                "low[{i}] = {l} > high[{i}] = {h}; swap them or fix the bounds"
                            ),
                        ));
                    }
                    if l == f32::INFINITY || h == f32::NEG_INFINITY {
                        return Err(invalid(
                            "low/high",
                            format!("element {i} has low = {l}, high = {h}: the set is empty; low may be −inf and high +inf, not the reverse"),
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// The shape of one element: `[]` for `Discrete` (as Gymnasium's `()`), the box's shape
    /// for `Box`.
    pub fn shape(&self) -> &[usize] {
        match self {
            Space::Discrete { .. } => &[],
            Space::Box { shape, .. } => shape,
        }
    }

    /// The length of the flat `f32` vector a network consumes for one element: `n` for
    /// `Discrete` (one-hot), the number of elements for `Box`.
    pub fn flat_dim(&self) -> usize {
        match self {
            Space::Discrete { n, .. } => (*n).max(0) as usize,
            Space::Box { low, .. } => low.len(),
        }
    }

    /// Whether this is a `Discrete` space.
    pub fn is_discrete(&self) -> bool {
        matches!(self, Space::Discrete { .. })
    }

    /// Whether `value` is an element of the space: same kind, right length, inside the
    /// bounds (NaN is never inside), as `gymnasium.spaces.Space.contains`.
    pub fn contains(&self, value: &Value) -> bool {
        match (self, value) {
            (Space::Discrete { n, start }, Value::Discrete(x)) => {
                *x >= *start && (*x - *start) < *n
            }
            (Space::Box { low, high, .. }, Value::Box(x)) => {
                x.len() == low.len()
                    && x.iter()
                        .zip(low.iter().zip(high.iter()))
                        .all(|(&v, (&l, &h))| v >= l && v <= h)
            }
            _ => false,
        }
    }

    /// Draws a random element, as Gymnasium's `sample()`: `Discrete` uniformly; each `Box`
    /// element uniformly on `[low, high]` when bounded on both sides, from a standard normal
    /// when unbounded, from `low + Exp(1)` or `high − Exp(1)` when bounded on one side only
    /// (computed in float64, then rounded to float32).
    pub fn sample(&self, rng: &mut Rng) -> Value {
        match self {
            Space::Discrete { n, start } => Value::Discrete(*start + rng.gen_range(0..(*n).max(1))),
            Space::Box { low, .. } => {
                let mut out = vec![0.0f32; low.len()];
                self.sample_box_into(rng, &mut out);
                Value::Box(out)
            }
        }
    }

    /// Draws a random element into `value`, reusing its allocation when it already holds a
    /// `Box` value of the right length (the allocation-free form of [`Space::sample`]).
    pub fn sample_into(&self, rng: &mut Rng, value: &mut Value) {
        match (self, &mut *value) {
            (Space::Box { low, .. }, Value::Box(out)) if out.len() == low.len() => {
                self.sample_box_into(rng, out);
            }
            _ => *value = self.sample(rng),
        }
    }

    fn sample_box_into(&self, rng: &mut Rng, out: &mut [f32]) {
        if let Space::Box { low, high, .. } = self {
            for ((o, &l), &h) in out.iter_mut().zip(low.iter()).zip(high.iter()) {
                let lb = l.is_finite();
                let hb = h.is_finite();
                let x: f64 = match (lb, hb) {
                    (true, true) => {
                        let (l, h) = (l as f64, h as f64);
                        l + (h - l) * rng.gen::<f64>()
                    }
                    (false, false) => StandardNormal.sample(rng),
                    (true, false) => l as f64 + <Exp1 as Distribution<f64>>::sample(&Exp1, rng),
                    (false, true) => h as f64 - <Exp1 as Distribution<f64>>::sample(&Exp1, rng),
                };
                *o = x as f32;
            }
        }
    }

    /// Writes `value` flattened into `out` (length [`Space::flat_dim`]) without allocating:
    /// a `Discrete` value becomes a one-hot vector (`out[x − start] = 1`), a `Box` value is
    /// copied. Errors when the value's kind or length does not fit the space, or `out` has
    /// the wrong length. Does not check bounds (use [`Space::contains`]).
    pub fn flatten_into(&self, value: &Value, out: &mut [f32]) -> Result<(), EnvError> {
        let dim = self.flat_dim();
        if out.len() != dim {
            return Err(invalid(
                "out",
                format!("the output slice has length {} but the space {self:?} flattens to {dim}; pass a slice of length flat_dim()", out.len()),
            ));
        }
        match (self, value) {
            (Space::Discrete { n, start }, Value::Discrete(x)) => {
                let i = x.checked_sub(*start).filter(|i| *i >= 0 && *i < *n).ok_or_else(|| {
                    invalid("value", format!("{x} is not in Discrete(n = {n}, start = {start}); one-hot needs start <= x < start + n"))
                })?;
                out.fill(0.0);
                out[i as usize] = 1.0;
                Ok(())
            }
            (Space::Box { .. }, Value::Box(x)) if x.len() == dim => {
                out.copy_from_slice(x);
                Ok(())
            }
            _ => Err(invalid(
                "value",
                format!("{value:?} does not fit the space {self:?}: a Discrete space needs Value::Discrete, a Box space Value::Box with flat_dim() elements"),
            )),
        }
    }

    /// Returns `value` flattened into a new vector (see [`Space::flatten_into`]).
    pub fn flatten(&self, value: &Value) -> Result<Vec<f32>, EnvError> {
        let mut out = vec![0.0; self.flat_dim()];
        self.flatten_into(value, &mut out)?;
        Ok(out)
    }

    /// The inverse of [`Space::flatten_into`]: a `Box` value from its elements, a
    /// `Discrete` value from a one-hot vector (the index of its largest entry).
    pub fn unflatten(&self, flat: &[f32]) -> Result<Value, EnvError> {
        if flat.len() != self.flat_dim() {
            return Err(invalid(
                "flat",
                format!(
                    "got {} numbers but the space {self:?} flattens to {}",
                    flat.len(),
                    self.flat_dim()
                ),
            ));
        }
        match self {
            Space::Discrete { start, .. } => {
                let mut best = 0usize;
                for (i, &v) in flat.iter().enumerate() {
                    if v > flat[best] {
                        best = i;
                    }
                }
                Ok(Value::Discrete(*start + best as i64))
            }
            Space::Box { .. } => Ok(Value::Box(flat.to_vec())),
        }
    }

    /// Clips each element of `values` into the box's bounds in place, as `np.clip(action,
    /// low, high)` in Gymnasium's continuous envs (NaN stays NaN). Does nothing for
    /// `Discrete` spaces; errors when the length differs from the box's.
    pub fn clip_in_place(&self, values: &mut [f32]) -> Result<(), EnvError> {
        if let Space::Box { low, high, .. } = self {
            if values.len() != low.len() {
                return Err(invalid(
                    "values",
                    format!(
                        "got {} numbers for a Box of {} elements",
                        values.len(),
                        low.len()
                    ),
                ));
            }
            for ((v, &l), &h) in values.iter_mut().zip(low.iter()).zip(high.iter()) {
                if *v < l {
                    *v = l;
                } else if *v > h {
                    *v = h;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn constructors_validate() {
        assert!(Space::discrete(0).is_err());
        assert!(Space::discrete(3).is_ok());
        assert!(Space::box_(vec![0.0], vec![1.0, 2.0], vec![1]).is_err());
        assert!(Space::box_(vec![2.0], vec![1.0], vec![1]).is_err());
        assert!(Space::box_(vec![f32::NAN], vec![1.0], vec![1]).is_err());
        assert!(Space::box_(
            vec![f32::NEG_INFINITY; 4],
            vec![f32::INFINITY; 4],
            vec![2, 2]
        )
        .is_ok());
    }

    #[test]
    fn contains_sample_flatten() {
        let mut rng = Rng::seed_from_u64(0);
        let d = Space::discrete_with_start(3, -1).unwrap();
        for _ in 0..100 {
            let v = d.sample(&mut rng);
            assert!(d.contains(&v));
        }
        assert!(!d.contains(&Value::Discrete(2)));
        assert!(!d.contains(&Value::Box(vec![0.0])));
        let mut out = [9.0; 3];
        d.flatten_into(&Value::Discrete(0), &mut out).unwrap();
        assert_eq!(out, [0.0, 1.0, 0.0]);
        assert_eq!(d.unflatten(&out).unwrap(), Value::Discrete(0));
        assert!(d.flatten_into(&Value::Discrete(5), &mut out).is_err());

        let b = Space::box_(
            vec![-1.0, f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY],
            vec![1.0, f32::INFINITY, f32::INFINITY, 0.0],
            vec![4],
        )
        .unwrap();
        for _ in 0..1000 {
            let v = b.sample(&mut rng);
            assert!(b.contains(&v), "{v:?}");
        }
        assert!(!b.contains(&Value::Box(vec![0.0, f32::NAN, 0.0, 0.0])));
        assert_eq!(b.flat_dim(), 4);
        assert_eq!(b.shape(), &[4]);
        let mut a = vec![-3.0, 5.0, -1.0, 2.0];
        b.clip_in_place(&mut a).unwrap();
        assert_eq!(a, vec![-1.0, 5.0, 0.0, 0.0]);
    }
}
