//! Segment trees over `f64` leaves (RLlib's `ray.rllib.execution.segment_tree`): the sum
//! tree that prioritized replay samples from and the min tree that gives the smallest
//! priority for the importance-weight normalization.
//!
//! The layout is RLlib's: `2 * capacity` values, the leaves in the second half
//! (`values[capacity + i]` is item `i`), node `k` reducing nodes `2k` and `2k + 1`, node 1
//! the whole array. Every internal node is recomputed from its two children on each write,
//! so a tree rebuilt from the same leaves holds the same bits (checkpoints rely on this).

use std::marker::PhantomData;

use super::ReplayError;

/// The reduction of a [`SegmentTree`].
pub trait Reduction {
    /// The neutral element (what an empty leaf holds): 0 for a sum, +∞ for a min.
    const NEUTRAL: f64;
    /// Combines two children.
    fn combine(a: f64, b: f64) -> f64;
}

/// Sum reduction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sum;

/// Min reduction.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Min;

impl Reduction for Sum {
    const NEUTRAL: f64 = 0.0;
    fn combine(a: f64, b: f64) -> f64 {
        a + b
    }
}

impl Reduction for Min {
    const NEUTRAL: f64 = f64::INFINITY;
    fn combine(a: f64, b: f64) -> f64 {
        // Python's `min(a, b)`: `b` only when strictly smaller.
        if b < a {
            b
        } else {
            a
        }
    }
}

/// A segment tree of `capacity` (a power of two) leaves with an O(log n) write and range
/// reduction.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentTree<R> {
    capacity: usize,
    values: Vec<f64>,
    reduction: PhantomData<R>,
}

/// RLlib's `SumSegmentTree`.
pub type SumSegmentTree = SegmentTree<Sum>;
/// RLlib's `MinSegmentTree`.
pub type MinSegmentTree = SegmentTree<Min>;

impl<R: Reduction> SegmentTree<R> {
    /// A tree of `capacity` neutral leaves; `capacity` must be a positive power of two.
    pub fn new(capacity: usize) -> Result<Self, ReplayError> {
        if capacity == 0 || !capacity.is_power_of_two() {
            return Err(ReplayError::InvalidConfig(format!(
                "segment tree capacity {capacity} must be a positive power of two"
            )));
        }
        Ok(SegmentTree {
            capacity,
            values: vec![R::NEUTRAL; 2 * capacity],
            reduction: PhantomData,
        })
    }

    /// A tree holding `leaves` (padded with neutral leaves to `capacity`), every internal
    /// node computed from its children.
    pub fn from_leaves(capacity: usize, leaves: &[f64]) -> Result<Self, ReplayError> {
        let mut tree = Self::new(capacity)?;
        if leaves.len() > capacity {
            return Err(ReplayError::InvalidConfig(format!(
                "{} leaves do not fit a segment tree of capacity {capacity}",
                leaves.len()
            )));
        }
        tree.values[capacity..capacity + leaves.len()].copy_from_slice(leaves);
        tree.rebuild();
        Ok(tree)
    }

    fn rebuild(&mut self) {
        for k in (1..self.capacity).rev() {
            self.values[k] = R::combine(self.values[2 * k], self.values[2 * k + 1]);
        }
    }

    /// Number of leaves.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Leaf `idx`, or `None` past the capacity.
    pub fn get(&self, idx: usize) -> Option<f64> {
        (idx < self.capacity).then(|| self.values[self.capacity + idx])
    }

    /// The leaves, in order.
    pub fn leaves(&self) -> &[f64] {
        &self.values[self.capacity..]
    }

    /// Writes leaf `idx` and recomputes its ancestors.
    pub fn set(&mut self, idx: usize, value: f64) -> Result<(), ReplayError> {
        if idx >= self.capacity {
            return Err(ReplayError::InvalidConfig(format!(
                "segment tree index {idx} is past its capacity {}",
                self.capacity
            )));
        }
        let mut k = idx + self.capacity;
        self.values[k] = value;
        k >>= 1;
        while k >= 1 {
            self.values[k] = R::combine(self.values[2 * k], self.values[2 * k + 1]);
            k >>= 1;
        }
        Ok(())
    }

    /// The reduction over leaves `start..end` (RLlib's `reduce`: the neutral element for an
    /// empty range; `end` is clamped to the capacity).
    pub fn reduce(&self, start: usize, end: usize) -> f64 {
        let mut result = R::NEUTRAL;
        let mut start = start.min(self.capacity) + self.capacity;
        let mut end = end.min(self.capacity) + self.capacity;
        while start < end {
            if start & 1 == 1 {
                result = R::combine(result, self.values[start]);
                start += 1;
            }
            if end & 1 == 1 {
                end -= 1;
                result = R::combine(result, self.values[end]);
            }
            start >>= 1;
            end >>= 1;
        }
        result
    }

    /// The reduction over all leaves (the root).
    pub fn total(&self) -> f64 {
        self.values[1]
    }

    /// The same leaves in a tree of `capacity` leaves (at least the current one).
    pub fn grown(&self, capacity: usize) -> Result<Self, ReplayError> {
        Self::from_leaves(capacity.max(self.capacity), self.leaves())
    }
}

impl SegmentTree<Sum> {
    /// Sum of all leaves.
    pub fn sum(&self) -> f64 {
        self.total()
    }

    /// RLlib's `find_prefixsum_idx`: the highest `i` with `leaf[0] + … + leaf[i - 1] <=
    /// prefixsum`, found by descending from the root (left when the left child's sum
    /// exceeds what is left of `prefixsum`). Unlike RLlib it never descends into an empty
    /// subtree, so float rounding cannot land it on an empty leaf
    /// (ray-project/ray#54284): on a tree with a positive sum the leaf returned always has
    /// a positive value. `None` when the tree's sum is not positive.
    pub fn find_prefixsum_idx(&self, prefixsum: f64) -> Option<usize> {
        if self.values[1].is_nan() || self.values[1] <= 0.0 {
            return None;
        }
        let mut prefix = prefixsum.max(0.0);
        let mut k = 1;
        while k < self.capacity {
            let (left, right) = (self.values[2 * k], self.values[2 * k + 1]);
            if left > prefix || right.is_nan() || right <= 0.0 {
                k *= 2;
            } else {
                prefix -= left;
                k = 2 * k + 1;
            }
        }
        Some(k - self.capacity)
    }
}

impl SegmentTree<Min> {
    /// Minimum over all leaves (+∞ when every leaf is empty).
    pub fn min(&self) -> f64 {
        self.total()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn capacity_must_be_a_power_of_two() {
        assert!(SumSegmentTree::new(0).is_err());
        assert!(SumSegmentTree::new(6).is_err());
        assert!(SumSegmentTree::new(8).is_ok());
        let mut t = SumSegmentTree::new(4).unwrap();
        assert!(t.set(4, 1.0).is_err());
        assert_eq!(t.get(4), None);
    }

    #[test]
    fn rllib_docstring_example() {
        // RLlib's comment: leaves 1 0 2 3 → sum(0, 3) = 3.
        let t = SumSegmentTree::from_leaves(4, &[1.0, 0.0, 2.0, 3.0]).unwrap();
        assert_eq!(t.reduce(0, 3), 3.0);
        assert_eq!(t.sum(), 6.0);
        assert_eq!(t.find_prefixsum_idx(0.5), Some(0));
        // Prefix 1.0 passes leaf 0 (1.0 <= 1.0) and skips the empty leaf 1.
        assert_eq!(t.find_prefixsum_idx(1.0), Some(2));
        assert_eq!(t.find_prefixsum_idx(2.999), Some(2));
        assert_eq!(t.find_prefixsum_idx(3.0), Some(3));
        // Past the sum (float rounding) lands on the last non-empty leaf, never an empty one.
        assert_eq!(t.find_prefixsum_idx(100.0), Some(3));
        assert_eq!(
            SumSegmentTree::new(4).unwrap().find_prefixsum_idx(0.0),
            None
        );
        let m = MinSegmentTree::from_leaves(4, &[1.0, 0.5, 2.0]).unwrap();
        assert_eq!(m.min(), 0.5);
        assert_eq!(m.reduce(2, 4), 2.0);
    }

    #[test]
    fn empty_tail_leaf_is_never_returned() {
        // A sum whose rounding exceeds the path sums: the descent must stay on filled leaves.
        let mut t = SumSegmentTree::new(8).unwrap();
        for (i, v) in [0.1, 0.2, 0.3].iter().enumerate() {
            t.set(i, *v).unwrap();
        }
        for u in [0.0, 0.3, 0.5999999999999999, 0.6, 0.6000000000000001, 1e9] {
            let idx = t.find_prefixsum_idx(u).unwrap();
            assert!(
                t.get(idx).unwrap() > 0.0,
                "prefix {u} gave empty leaf {idx}"
            );
        }
    }

    fn brute_prefix_idx(leaves: &[f64], prefix: f64) -> usize {
        // First leaf whose inclusive cumulative sum exceeds `prefix`; the last non-empty
        // leaf when none does.
        let mut acc = 0.0;
        let mut last_filled = 0;
        for (i, &v) in leaves.iter().enumerate() {
            if v > 0.0 {
                last_filled = i;
            }
            acc += v;
            if acc > prefix && v > 0.0 {
                return i;
            }
        }
        last_filled
    }

    proptest! {
        // Integer-valued leaves keep every sum exact, so the tree must agree to the bit.
        #[test]
        fn agrees_with_brute_force(
            log_cap in 0usize..7,
            writes in proptest::collection::vec((0usize..64, 0u32..20), 1..80),
            queries in proptest::collection::vec((0usize..65, 0usize..65, 0.0f64..1.0), 1..20),
        ) {
            let cap = 1 << log_cap;
            let mut sum = SumSegmentTree::new(cap).unwrap();
            let mut min = MinSegmentTree::new(cap).unwrap();
            let mut naive_sum = vec![0.0; cap];
            let mut naive_min = vec![f64::INFINITY; cap];
            for (idx, v) in writes {
                let idx = idx % cap;
                sum.set(idx, f64::from(v)).unwrap();
                min.set(idx, f64::from(v)).unwrap();
                naive_sum[idx] = f64::from(v);
                naive_min[idx] = f64::from(v);
            }
            prop_assert_eq!(sum.sum(), naive_sum.iter().sum::<f64>());
            prop_assert_eq!(min.min(), naive_min.iter().copied().fold(f64::INFINITY, f64::min));
            for (a, b, u) in queries {
                let (a, b) = (a.min(cap), b.min(cap));
                let expect_sum: f64 = naive_sum[a..b.max(a)].iter().sum();
                let expect_min = naive_min[a..b.max(a)].iter().copied().fold(f64::INFINITY, f64::min);
                prop_assert_eq!(sum.reduce(a, b), expect_sum);
                prop_assert_eq!(min.reduce(a, b), expect_min);
                if sum.sum() > 0.0 {
                    let prefix = u * sum.sum();
                    let idx = sum.find_prefixsum_idx(prefix).unwrap();
                    prop_assert_eq!(idx, brute_prefix_idx(&naive_sum, prefix));
                    prop_assert!(naive_sum[idx] > 0.0);
                }
            }
            let rebuilt = SumSegmentTree::from_leaves(cap, &naive_sum).unwrap();
            prop_assert_eq!(&rebuilt, &sum);
            let grown = sum.grown(cap * 2).unwrap();
            prop_assert_eq!(grown.sum(), sum.sum());
            prop_assert_eq!(&grown.leaves()[..cap], sum.leaves());
        }
    }
}
