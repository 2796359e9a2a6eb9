//! RLlib's `MiniBatchCyclicIterator` (`utils/minibatch_utils.py`): fixed slices of exactly
//! `minibatch_size` rows that wrap around the batch, reshuffling it at every wrap.

use rand::seq::SliceRandom;

use crate::Rng;

/// Yields minibatches as lists of row indices into a train batch of `n` rows.
///
/// Semantics, as RLlib 2.60: the rows are taken in order (no shuffle before the first
/// pass); whenever a slice reaches the end of the batch it wraps to the start and, if
/// `shuffle` is set (RLlib: `shuffle_batch_per_epoch and num_epochs > 1`), the batch order is
/// reshuffled. It yields `ceil(num_epochs · n / minibatch_size)` minibatches, so every row is
/// seen `num_epochs` times (a few rows once more, to fill the last slice).
#[derive(Debug)]
pub struct MiniBatchCyclicIterator<'a> {
    order: Vec<usize>,
    minibatch_size: usize,
    start: usize,
    remaining: usize,
    shuffle: bool,
    rng: &'a mut Rng,
}

impl<'a> MiniBatchCyclicIterator<'a> {
    /// An iterator over a batch of `n` rows. `n` and `minibatch_size` must be positive
    /// (the config's `validate()` guarantees it); otherwise it yields nothing.
    pub fn new(
        n: usize,
        minibatch_size: usize,
        num_epochs: usize,
        shuffle: bool,
        rng: &'a mut Rng,
    ) -> Self {
        let remaining = if n == 0 || minibatch_size == 0 {
            0
        } else {
            (num_epochs * n).div_ceil(minibatch_size)
        };
        MiniBatchCyclicIterator {
            order: (0..n).collect(),
            minibatch_size,
            start: 0,
            remaining,
            shuffle: shuffle && num_epochs > 1,
            rng,
        }
    }

    /// How many minibatches are left.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Writes the next minibatch's row indices into `out` (cleared first); returns false
    /// when the iterator is exhausted.
    pub fn next_into(&mut self, out: &mut Vec<usize>) -> bool {
        if self.remaining == 0 {
            return false;
        }
        self.remaining -= 1;
        out.clear();
        let n = self.order.len();
        let mut need = self.minibatch_size;
        let mut s = self.start;
        while s + need >= n {
            out.extend_from_slice(&self.order[s..]);
            need -= n - s;
            s = 0;
            if self.shuffle {
                self.order.shuffle(self.rng);
            }
        }
        out.extend_from_slice(&self.order[s..s + need]);
        self.start = s + need;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn covers_every_row_num_epochs_times_in_exact_slices() {
        let mut rng = Rng::seed_from_u64(0);
        let mut it = MiniBatchCyclicIterator::new(512, 128, 5, true, &mut rng);
        let mut counts = [0usize; 512];
        let mut mb = Vec::new();
        let mut k = 0;
        while it.next_into(&mut mb) {
            assert_eq!(mb.len(), 128);
            mb.iter().for_each(|&i| counts[i] += 1);
            k += 1;
        }
        assert_eq!(k, 20);
        assert!(counts.iter().all(|&c| c == 5));
    }

    #[test]
    fn wraps_without_shuffle_in_order() {
        let mut rng = Rng::seed_from_u64(0);
        let mut it = MiniBatchCyclicIterator::new(5, 3, 2, false, &mut rng);
        let mut mb = Vec::new();
        let mut all = Vec::new();
        while it.next_into(&mut mb) {
            all.push(mb.clone());
        }
        assert_eq!(
            all,
            vec![vec![0, 1, 2], vec![3, 4, 0], vec![1, 2, 3], vec![4, 0, 1]]
        );
    }

    #[test]
    fn minibatch_larger_than_batch_cycles() {
        let mut rng = Rng::seed_from_u64(0);
        let mut it = MiniBatchCyclicIterator::new(3, 7, 1, false, &mut rng);
        let mut mb = Vec::new();
        assert!(it.next_into(&mut mb));
        assert_eq!(mb, vec![0, 1, 2, 0, 1, 2, 0]);
        assert!(!it.next_into(&mut mb));
    }
}
