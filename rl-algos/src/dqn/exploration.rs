//! Epsilon-greedy exploration as a module→env connector: RLlib 2.60's
//! `DefaultDQNTorchRLModule._forward_exploration`, moved to where our pipelines pick
//! actions from the module's outputs (the Q-values). It replaces `GetActions` in DQN's
//! default module→env pipeline.
//!
//! RLlib's semantics, kept exactly:
//! - ε is the schedule's value at the `t` the env runner passes to exploration, which is
//!   [`ConnectorContext::global_env_steps`] (the run's env steps synced once per
//!   iteration, plus this sample call's steps; see `EnvRunner::global_env_steps`).
//! - Each row explores with probability ε (`rand() < ε`); an exploring row takes an action
//!   uniformly among those whose Q-value is not 0, NaN or −∞ (RLlib's
//!   `multinomial(nan_to_num(q, neginf=0) != 0)`, its masked-action convention); all
//!   actions when none qualifies (where torch would raise).
//! - The greedy action is the argmax with ties to the lowest index, NaN counting as the
//!   maximum (`torch.argmax`). Evaluation (`explore = false`) is greedy.
//!
//! Where we differ: RLlib's module returns actions only, so its episodes record no
//! `action_logp`; ours record the log-probability of the action under the epsilon-greedy
//! policy that chose it (`ln((1 − ε)·[a = greedy] + ε/|candidates|·[a ∈ candidates])`,
//! 0 when greedy), which costs nothing and keeps the column meaningful. The Q-values are
//! recorded as the steps' `action_dist_inputs`.

use ndarray::Array2;
use rand::Rng as _;
use rl_core::connectors::module_to_env::env_action;
use rl_core::connectors::{ConnectorContext, ConnectorError, ModuleToEnv, ModuleToEnvBatch};
use rl_core::env::Space;
use serde::{Deserialize, Serialize};

use super::config::Epsilon;

/// Picks actions from Q-values epsilon-greedily (see the [module docs](self)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpsilonGreedy {
    /// ε as a constant or a schedule over the run's env steps.
    pub epsilon: Epsilon,
}

/// The index of the largest value, the first on ties; a NaN counts as the largest
/// (`torch.argmax`).
pub fn argmax(q: &[f32]) -> usize {
    let mut best = 0;
    for (k, &x) in q.iter().enumerate().skip(1) {
        let b = q[best];
        if !b.is_nan() && (x.is_nan() || x > b) {
            best = k;
        }
    }
    best
}

/// Whether an exploring row may take an action with Q-value `q` (RLlib's
/// `nan_to_num(q, neginf=0) != 0`).
fn explorable(q: f32) -> bool {
    !(q.is_nan() || q == f32::NEG_INFINITY || q == 0.0)
}

#[typetag::serde]
impl ModuleToEnv for EpsilonGreedy {
    fn process(
        &mut self,
        batch: &mut ModuleToEnvBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        let bad = |reason: String| ConnectorError::BadInput {
            connector: "EpsilonGreedy".into(),
            reason,
        };
        let n = batch.action_dist_inputs.ncols();
        match ctx.action_space {
            Space::Discrete { n: k, .. } if *k as usize == n => {}
            other => {
                return Err(bad(format!(
                    "the module gives {n} Q-values per row but the action space is {other:?}; epsilon-greedy needs Discrete({n})"
                )))
            }
        }
        let rows = batch.action_dist_inputs.nrows();
        if batch.actions.dim() != (rows, 1) {
            batch.actions = Array2::zeros((rows, 1));
        }
        batch.action_logp.clear();
        batch.env_actions.clear();
        let epsilon = if ctx.explore {
            self.epsilon.value(ctx.global_env_steps) as f32
        } else {
            0.0
        };
        for (r, q) in batch.action_dist_inputs.rows().into_iter().enumerate() {
            let q = q
                .as_slice()
                .ok_or_else(|| bad("the Q-values are not contiguous".into()))?;
            let greedy = argmax(q);
            let (action, logp) = if ctx.explore {
                let candidates = q.iter().filter(|&&x| explorable(x)).count();
                let explore = ctx.rng.gen::<f32>() < epsilon;
                let action = if explore {
                    let pick = ctx.rng.gen_range(0..candidates.max(1));
                    if candidates == 0 {
                        pick
                    } else {
                        q.iter()
                            .enumerate()
                            .filter(|(_, &x)| explorable(x))
                            .nth(pick)
                            .map_or(greedy, |(k, _)| k)
                    }
                } else {
                    greedy
                };
                (
                    action,
                    behaviour_logp(q, action, greedy, epsilon, candidates),
                )
            } else {
                (greedy, 0.0)
            };
            batch.actions[[r, 0]] = action as f32;
            batch.action_logp.push(logp);
            batch
                .env_actions
                .push(env_action(ctx.action_space, &[action as f32]));
        }
        Ok(())
    }
}

/// `ln P(action)` under epsilon-greedy with `candidates` explorable actions (all when 0).
fn behaviour_logp(q: &[f32], action: usize, greedy: usize, epsilon: f32, candidates: usize) -> f32 {
    let (eps, n) = (f64::from(epsilon), q.len());
    let random = if candidates == 0 {
        eps / n as f64
    } else if explorable(q[action]) {
        eps / candidates as f64
    } else {
        0.0
    };
    let p = random + if action == greedy { 1.0 - eps } else { 0.0 };
    p.ln() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rl_core::env::Value;
    use rl_core::Rng;

    fn run(
        conn: &mut EpsilonGreedy,
        q: Array2<f32>,
        explore: bool,
        t: u64,
        rng: &mut Rng,
    ) -> ModuleToEnvBatch {
        let space = Space::Discrete {
            n: q.ncols() as i64,
            start: 0,
        };
        let obs = Space::Box {
            low: vec![-1.0],
            high: vec![1.0],
            shape: vec![1],
        };
        let mut batch = ModuleToEnvBatch {
            action_dist_inputs: q,
            ..Default::default()
        };
        let mut ctx = ConnectorContext {
            explore,
            update_stats: false,
            rng,
            observation_space: &obs,
            action_space: &space,
            global_env_steps: t,
        };
        conn.process(&mut batch, &mut ctx).unwrap();
        batch
    }

    #[test]
    fn argmax_is_torchs() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), 1);
        assert_eq!(argmax(&[5.0, 5.0]), 0);
        assert_eq!(argmax(&[1.0, f32::NAN, 9.0]), 1);
        assert_eq!(argmax(&[f32::NEG_INFINITY, -1.0]), 1);
    }

    #[test]
    fn greedy_without_exploration_and_epsilon_follows_the_schedule() {
        let mut rng = Rng::seed_from_u64(0);
        let mut conn = EpsilonGreedy {
            epsilon: Epsilon::Schedule(vec![(0, 1.0), (1000, 0.0)]),
        };
        let q = Array2::from_shape_fn((2000, 3), |(r, c)| if c == r % 3 { 1.0 } else { -1.0 });
        let b = run(&mut conn, q.clone(), false, 0, &mut rng);
        for (r, a) in b.actions.column(0).iter().enumerate() {
            assert_eq!(*a as usize, r % 3);
        }
        assert!(b.action_logp.iter().all(|&l| l == 0.0));
        assert_eq!(b.env_actions[4], Value::Discrete(1));
        // ε = 0.5 at t = 500: about half the rows explore, a third of those hit greedy.
        let b = run(&mut conn, q.clone(), true, 500, &mut rng);
        let greedy = b
            .actions
            .column(0)
            .iter()
            .enumerate()
            .filter(|(r, &a)| a as usize == r % 3)
            .count();
        let frac = greedy as f64 / 2000.0;
        assert!((frac - (0.5 + 0.5 / 3.0)).abs() < 0.04, "{frac}");
        for (r, (&a, &l)) in b.actions.column(0).iter().zip(&b.action_logp).enumerate() {
            let want = if a as usize == r % 3 {
                0.5 + 0.5 / 3.0
            } else {
                0.5 / 3.0
            };
            assert!((f64::from(l) - f64::ln(want)).abs() < 1e-6);
        }
        // Past the schedule's end ε = 0: greedy, log-probability 0.
        let b = run(&mut conn, q, true, 5000, &mut rng);
        assert!(b.action_logp.iter().all(|&l| l == 0.0));
    }

    #[test]
    fn exploring_rows_skip_masked_actions() {
        let mut rng = Rng::seed_from_u64(1);
        let mut conn = EpsilonGreedy {
            epsilon: Epsilon::Constant(1.0),
        };
        let q = Array2::from_shape_fn((500, 4), |(_, c)| match c {
            0 => 0.0,
            1 => f32::NEG_INFINITY,
            2 => 0.3,
            _ => -0.2,
        });
        let b = run(&mut conn, q, true, 0, &mut rng);
        let mut seen = [0; 4];
        for &a in b.actions.column(0) {
            seen[a as usize] += 1;
        }
        assert_eq!((seen[0], seen[1]), (0, 0), "{seen:?}");
        assert!(seen[2] > 200 && seen[3] > 200, "{seen:?}");
    }

    #[test]
    fn wrong_action_space_is_an_error() {
        let mut conn = EpsilonGreedy {
            epsilon: Epsilon::Constant(0.1),
        };
        let mut rng = Rng::seed_from_u64(0);
        let space = Space::Discrete { n: 3, start: 0 };
        let mut batch = ModuleToEnvBatch {
            action_dist_inputs: Array2::zeros((1, 2)),
            ..Default::default()
        };
        let mut ctx = ConnectorContext {
            explore: true,
            update_stats: false,
            rng: &mut rng,
            observation_space: &space,
            action_space: &space,
            global_env_steps: 0,
        };
        let e = conn.process(&mut batch, &mut ctx).unwrap_err();
        assert!(e.to_string().contains("Discrete(2)"), "{e}");
    }
}
