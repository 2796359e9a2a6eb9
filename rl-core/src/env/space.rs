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
    Box(Vec<f32>),
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
        low: Vec<f32>,
        /// Upper bounds, one per element.
        high: Vec<f32>,
        /// The shape; the product of its dimensions equals `low.len()`.
        shape: Vec<usize>,
    },
}
