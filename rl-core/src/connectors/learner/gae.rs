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
//!   limit or the end of the rollout) and on every extra step.
//! - `δ_t = r_t + γ (1 − term_t) V(s_{t+1}) − V(s_t)`,
//!   `A_t = δ_t + γ λ (1 − term_t)(1 − trunc_t) A_{t+1}`, targets = A + V. So a truncated
//!   chunk bootstraps with the value of its extra step (the final observation's value), a
//!   terminated one with 0, and the recursion never crosses a chunk boundary. The extra
//!   steps' own targets are meaningless (they bootstrap from the next chunk's first value)
//!   and are masked out of the loss.
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
    if advantages.is_empty() {
        return;
    }
    let n = advantages.len() as f64;
    let mean = advantages.iter().map(|&a| f64::from(a)).sum::<f64>() / n;
    let var = advantages
        .iter()
        .map(|&a| (f64::from(a) - mean).powi(2))
        .sum::<f64>()
        / n;
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
            &[false, false, true],
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
            &[false, true, true],
            0.5,
            1.0,
        )
        .unwrap();
        assert_eq!(t[..2], [1.0 + 0.5 * (1.0 + 0.5 * 8.0), 1.0 + 0.5 * 8.0]);
    }

    #[test]
    fn mismatched_lengths_are_refused() {
        assert!(compute_value_targets(&[0.0], &[], &[false], &[false], 0.9, 1.0).is_none());
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
