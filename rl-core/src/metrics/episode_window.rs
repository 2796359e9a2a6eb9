//! Episode returns and lengths smoothed over the last N episodes
//! (RLlib's `metrics_num_episodes_for_smoothing`, default 100).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Return and length of one finished episode.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeStats {
    /// Sum of the episode's rewards.
    pub episode_return: f64,
    /// Number of steps.
    pub length: usize,
}

/// The last `capacity` finished episodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeWindow {
    capacity: usize,
    episodes: VecDeque<EpisodeStats>,
}

impl EpisodeWindow {
    /// A window over the last `capacity` episodes (at least 1).
    pub fn new(capacity: usize) -> Self {
        EpisodeWindow {
            capacity: capacity.max(1),
            episodes: VecDeque::new(),
        }
    }

    /// Adds finished episodes, dropping the oldest beyond the capacity.
    pub fn extend(&mut self, episodes: impl IntoIterator<Item = EpisodeStats>) {
        for e in episodes {
            if self.episodes.len() == self.capacity {
                self.episodes.pop_front();
            }
            self.episodes.push_back(e);
        }
    }

    /// Number of episodes in the window.
    pub fn len(&self) -> usize {
        self.episodes.len()
    }

    /// Whether no episode has finished yet.
    pub fn is_empty(&self) -> bool {
        self.episodes.is_empty()
    }

    fn stat(
        &self,
        f: impl Fn(&EpisodeStats) -> f64,
        fold: impl Fn(f64, f64) -> f64,
        init: f64,
    ) -> f64 {
        if self.episodes.is_empty() {
            return f64::NAN;
        }
        self.episodes.iter().map(f).fold(init, fold)
    }

    /// Mean return (NaN when empty).
    pub fn return_mean(&self) -> f64 {
        self.stat(|e| e.episode_return, |a, b| a + b, 0.0) / self.len() as f64
    }
    /// Smallest return (NaN when empty).
    pub fn return_min(&self) -> f64 {
        self.stat(|e| e.episode_return, f64::min, f64::INFINITY)
    }
    /// Largest return (NaN when empty).
    pub fn return_max(&self) -> f64 {
        self.stat(|e| e.episode_return, f64::max, f64::NEG_INFINITY)
    }
    /// Mean length (NaN when empty).
    pub fn len_mean(&self) -> f64 {
        self.stat(|e| e.length as f64, |a, b| a + b, 0.0) / self.len() as f64
    }
    /// Smallest length (NaN when empty).
    pub fn len_min(&self) -> f64 {
        self.stat(|e| e.length as f64, f64::min, f64::INFINITY)
    }
    /// Largest length (NaN when empty).
    pub fn len_max(&self) -> f64 {
        self.stat(|e| e.length as f64, f64::max, f64::NEG_INFINITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_the_last_n() {
        let mut w = EpisodeWindow::new(2);
        assert!(w.return_mean().is_nan());
        w.extend([1.0, 2.0, 4.0].map(|r| EpisodeStats {
            episode_return: r,
            length: r as usize,
        }));
        assert_eq!(w.len(), 2);
        assert_eq!(w.return_mean(), 3.0);
        assert_eq!(w.return_min(), 2.0);
        assert_eq!(w.len_max(), 4.0);
    }
}
