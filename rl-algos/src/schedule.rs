//! Schedules over the run's env steps, shared by the algorithms' configs.

/// Piecewise-linear interpolation of a `[[timestep, value], …]` schedule (RLlib's
/// `PiecewiseSchedule` with linear interpolation; constant beyond the ends).
pub fn schedule_value(schedule: &[(u64, f64)], t: u64) -> f64 {
    match schedule {
        [] => 0.0,
        [(t0, v0), ..] if t <= *t0 => *v0,
        _ => {
            for w in schedule.windows(2) {
                let ((ta, va), (tb, vb)) = (w[0], w[1]);
                if t < tb {
                    let alpha = (t - ta) as f64 / (tb - ta).max(1) as f64;
                    return va + alpha * (vb - va);
                }
            }
            schedule[schedule.len() - 1].1
        }
    }
}
