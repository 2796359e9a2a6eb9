//! The numeric kernel of generalized advantage estimation, as RLlib 2.60's GAE learner
//! connector computes value targets (checked against RLlib's own output in the
//! `conformance_gae` test).
//!
//! Conventions:
//! - The inputs are episode chunks laid end to end, each followed by one extra time step
//!   (the final observation repeated, reward 0) appended by
//!   [`AddOneTsToEpisodesAndTruncate`](super::AddOneTsToEpisodesAndTruncate).
//! - `terminateds[t]` is set on the last real step of an episode that reached a terminal
//!   state; `truncateds[t]` on the last real step of a chunk that was cut (by the time
//!   limit or the end of the rollout). The extra steps carry neither flag (RLlib 2.60's
//!   `AddOneTsToEpisodesAndTruncate`: "a phantom slot for the value-function forward pass").
//! - `δ_t = r_t + γ (1 − term_t) V(s_{t+1}) − V(s_t)`,
//!   `A_t = δ_t + γ λ (1 − term_t)(1 − trunc_t) A_{t+1}`, targets = A + V. So a truncated
//!   chunk bootstraps with the value of its extra step (the final observation's value), a
//!   terminated one with 0, and no real step's recursion crosses a chunk boundary. The
//!   extra steps' own targets and advantages run on into the next chunk (the last one's
//!   bootstraps from 0); the loss masks them, but RLlib's standardization counts them.
//!
//! Arithmetic is in `f64`, rounded to `f32` at the end.

/// Value targets (returns to regress the critic on) for episode chunks laid end to end.
///
/// All slices must have the same length; returns `None` if they do not.
pub fn compute_value_targets(
    values: &[f32],
    rewards: &[f32],
    terminateds: &[bool],
    truncateds: &[bool],
    gamma: f32,
    lambda: f32,
) -> Option<Vec<f32>> {
    let n = values.len();
    if rewards.len() != n || terminateds.len() != n || truncateds.len() != n {
        return None;
    }
    let (gamma, lambda) = (f64::from(gamma), f64::from(lambda));
    let mut targets = vec![0.0f32; n];
    let mut next_advantage = 0.0f64;
    for t in (0..n).rev() {
        let v = f64::from(values[t]);
        let next_value = values.get(t + 1).map_or(0.0, |&x| f64::from(x));
        let not_terminal = if terminateds[t] { 0.0 } else { 1.0 };
        let carries = if terminateds[t] || truncateds[t] {
            0.0
        } else {
            1.0
        };
        let delta = f64::from(rewards[t]) + gamma * not_terminal * next_value - v;
        let advantage = delta + gamma * lambda * carries * next_advantage;
        targets[t] = (advantage + v) as f32;
        next_advantage = advantage;
    }
    Some(targets)
}

/// Standardizes advantages over the whole batch as RLlib's GAE connector does:
/// `(A − mean) / max(1e-4, std)` with the population standard deviation.
pub fn standardize(advantages: &mut [f32]) {
    standardize_by_rows(advantages, |_| true);
}

/// [`standardize`] with the mean and std taken over the rows where `counted[t]` is true
/// (e.g. the loss mask: real steps only); every row is shifted and scaled by them.
/// Returns `None` if the lengths differ.
pub fn standardize_over(advantages: &mut [f32], counted: &[bool]) -> Option<()> {
    if counted.len() != advantages.len() {
        return None;
    }
    standardize_by_rows(advantages, |t| counted[t]);
    Some(())
}

fn standardize_by_rows(advantages: &mut [f32], counted: impl Fn(usize) -> bool) {
    let rows = || {
        advantages
            .iter()
            .enumerate()
            .filter(|&(t, _)| counted(t))
            .map(|(_, &a)| f64::from(a))
    };
    let n = rows().count();
    if n == 0 {
        return;
    }
    let mean = rows().sum::<f64>() / n as f64;
    let var = rows().map(|a| (a - mean).powi(2)).sum::<f64>() / n as f64;
    let std = var.sqrt().max(1e-4);
    for a in advantages.iter_mut() {
        *a = ((f64::from(*a) - mean) / std) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminated_chunk_does_not_bootstrap() {
        // One chunk of 2 steps, terminated, plus its extra step.
        let t = compute_value_targets(
            &[5.0, 5.0, 5.0],
            &[1.0, 1.0, 0.0],
            &[false, true, false],
            &[false, false, false],
            0.5,
            1.0,
        )
        .unwrap();
        assert_eq!(t[..2], [1.5, 1.0]);
    }

    #[test]
    fn truncated_chunk_bootstraps_with_extra_step_value() {
        let t = compute_value_targets(
            &[0.0, 0.0, 8.0],
            &[1.0, 1.0, 0.0],
            &[false, false, false],
            &[false, true, false],
            0.5,
            1.0,
        )
        .unwrap();
        assert_eq!(t[..2], [1.0 + 0.5 * (1.0 + 0.5 * 8.0), 1.0 + 0.5 * 8.0]);
    }

    #[test]
    fn extra_step_runs_on_into_the_next_chunk() {
        // Chunk A (one real step, cut) + its extra step, then chunk B (one real step,
        // terminated) + its extra step. A's real step bootstraps from A's extra step only;
        // A's extra step (flagged neither) continues into B: δ = 0 + γ V(B₀) − V(A₁),
        // plus γλ A(B₀), as RLlib computes it.
        let t = compute_value_targets(
            &[1.0, 2.0, 4.0, 8.0],
            &[1.0, 0.0, 1.0, 0.0],
            &[false, false, true, false],
            &[true, false, false, false],
            0.5,
            1.0,
        )
        .unwrap();
        // B₀ terminated: target 1, advantage 1 − 4 = −3.
        assert_eq!(t[2], 1.0);
        // A's extra step: advantage 0.5·4 − 2 + 0.5·(−3) = −1.5, target −1.5 + 2.
        assert_eq!(t[1], 0.5);
        // A₀: 1 + 0.5·V(A₁), no recursion across the cut.
        assert_eq!(t[0], 2.0);
        // B's extra step is the batch's last row: it bootstraps from 0.
        assert_eq!(t[3], 0.0);
    }

    #[test]
    fn mismatched_lengths_are_refused() {
        assert!(compute_value_targets(&[0.0], &[], &[false], &[false], 0.9, 1.0).is_none());
    }

    #[test]
    fn standardize_over_counts_only_the_marked_rows() {
        let mut a = vec![1.0, 100.0, 3.0];
        standardize_over(&mut a, &[true, false, true]).unwrap();
        assert_eq!(a, vec![-1.0, 98.0, 1.0]);
        assert!(standardize_over(&mut a, &[true]).is_none());
    }

    #[test]
    fn standardize_has_zero_mean_unit_std() {
        let mut a = vec![1.0, 2.0, 3.0, 4.0];
        standardize(&mut a);
        let mean: f32 = a.iter().sum::<f32>() / 4.0;
        let var: f32 = a.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6 && (var - 1.0).abs() < 1e-5);
    }
}
