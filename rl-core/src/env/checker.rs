//! `check_env`: exercises any [`Env`] the way Gymnasium's `env_checker.check_env` does and
//! reports every violation of the contract it finds.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::SeedableRng;

use super::{Env, EnvError, Info, Space, StepOutcome, StepResult, Value};
use crate::Rng;

/// One way an env broke the [`Env`] contract, found by [`check_env`]: each kind (check)
/// is reported once, with the first occurrence's message, how often it happened and the
/// first step it happened at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which check failed, e.g. `"reset_obs_in_space"`.
    pub check: &'static str,
    /// What happened the first time and how to fix it.
    pub message: String,
    /// How many times the check failed.
    pub count: usize,
    /// The step of the checked trajectory (from 1) it first failed at; `None` when it
    /// failed outside a trajectory (spaces, reset, …).
    pub first_step: Option<usize>,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{}] {}", self.check, self.message)?;
        match (self.count, self.first_step) {
            (1, _) => Ok(()),
            (n, Some(t)) => write!(f, " ({n} times, first at step {t})"),
            (n, None) => write!(f, " ({n} times)"),
        }
    }
}

/// Steps of the trajectories compared for determinism.
const TRAJ_STEPS: usize = 100;
/// Steps run at most while looking for the end of an episode.
const MAX_EPISODE_SEARCH: usize = 100_000;

struct Checker<'a> {
    env: &'a mut dyn Env,
    violations: Vec<Violation>,
}

/// The message of a caught panic.
pub(crate) fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

/// One recorded step of a trajectory.
type Record = (Value, f64, bool, bool);

impl Checker<'_> {
    fn fail(&mut self, check: &'static str, message: impl Into<String>) {
        self.fail_at(check, None, message);
    }

    /// Records a violation of `check`, or counts it again when that check already failed.
    fn fail_at(&mut self, check: &'static str, step: Option<usize>, message: impl Into<String>) {
        if let Some(v) = self.violations.iter_mut().find(|v| v.check == check) {
            v.count += 1;
            v.first_step = v.first_step.or(step);
            return;
        }
        self.violations.push(Violation {
            check,
            message: message.into(),
            count: 1,
            first_step: step,
        });
    }

    /// Runs `f` on the env, turning a panic into a violation (`None`).
    fn guarded<T>(
        &mut self,
        check: &'static str,
        what: &str,
        f: impl FnOnce(&mut dyn Env) -> T,
    ) -> Option<T> {
        let env: &mut dyn Env = &mut *self.env;
        match catch_unwind(AssertUnwindSafe(|| f(env))) {
            Ok(v) => Some(v),
            Err(p) => {
                let msg = panic_message(&*p);
                self.fail(
                    check,
                    format!("{what} panicked ({msg}); envs must return an EnvError instead of panicking"),
                );
                None
            }
        }
    }

    fn reset(&mut self, check: &'static str, seed: Option<u64>) -> Option<(Value, Info)> {
        match self.guarded(check, &format!("reset(seed = {seed:?})"), |e| {
            e.reset(seed, None)
        })? {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(
                    check,
                    format!("reset(seed = {seed:?}) returned an error: {e}"),
                );
                None
            }
        }
    }

    fn step(&mut self, check: &'static str, action: &Value) -> Option<StepResult> {
        match self.guarded(check, &format!("step({action:?})"), |e| e.step(action))? {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(
                    check,
                    format!("step({action:?}) on a running episode returned an error: {e}"),
                );
                None
            }
        }
    }

    fn check_obs(&mut self, check: &'static str, when: &str, obs: &Value) {
        self.check_obs_at(check, None, when, obs);
    }

    fn check_obs_at(&mut self, check: &'static str, step: Option<usize>, when: &str, obs: &Value) {
        let space = self.env.observation_space().clone();
        let kind_ok = matches!(
            (&space, obs),
            (Space::Discrete { .. }, Value::Discrete(_)) | (Space::Box { .. }, Value::Box(_))
        );
        if !kind_ok {
            self.fail_at(
                check,
                step,
                format!("{when}: observation {obs:?} is not of the observation space's kind ({space:?})"),
            );
            return;
        }
        if let (Space::Box { low, shape, .. }, Value::Box(v)) = (&space, obs) {
            if v.len() != low.len() {
                self.fail_at(
                    check,
                    step,
                    format!(
                        "{when}: observation has {} elements but the observation space has shape {shape:?} ({} elements)",
                        v.len(),
                        low.len()
                    ),
                );
                return;
            }
        }
        if !space.contains(obs) {
            self.fail_at(
                check,
                step,
                format!("{when}: observation {obs:?} is outside the observation space {space:?}"),
            );
        }
    }

    /// Runs up to `TRAJ_STEPS` steps from `reset(seed)` with the actions drawn from an RNG
    /// seeded with `action_seed`; `None` when something failed (already reported).
    fn trajectory(
        &mut self,
        check: &'static str,
        seed: u64,
        action_seed: u64,
    ) -> Option<(Value, Vec<Record>)> {
        let (obs0, _) = self.reset(check, Some(seed))?;
        let space = self.env.action_space().clone();
        let mut rng = Rng::seed_from_u64(action_seed);
        let mut out = Vec::new();
        for _ in 0..TRAJ_STEPS {
            let a = space.sample(&mut rng);
            let r = self.step(check, &a)?;
            let done = r.terminated || r.truncated;
            out.push((r.obs, r.reward, r.terminated, r.truncated));
            if done {
                break;
            }
        }
        Some((obs0, out))
    }

    fn run(&mut self) {
        // Spaces.
        let obs_space = self.env.observation_space().clone();
        let act_space = self.env.action_space().clone();
        let mut spaces_ok = true;
        if let Err(e) = obs_space.validate() {
            self.fail(
                "observation_space_valid",
                format!("the observation space is invalid: {e}"),
            );
            spaces_ok = false;
        }
        if let Err(e) = act_space.validate() {
            self.fail(
                "action_space_valid",
                format!("the action space is invalid: {e}"),
            );
            spaces_ok = false;
        }
        if !spaces_ok {
            return;
        }
        let mut rng = Rng::seed_from_u64(0);

        // Step before reset (the env must be fresh).
        let a = act_space.sample(&mut rng);
        if let Some(r) = self.guarded("step_before_reset_errors", "step() before reset()", |e| {
            e.step(&a)
        }) {
            if r.is_ok() {
                self.fail(
                    "step_before_reset_errors",
                    "step() before the first reset() returned Ok; return EnvError::StepBeforeReset (pass check_env a freshly built env)",
                );
            }
        }

        // Reset: observation in the space, same seed ⇒ same observation.
        let Some((obs1, _)) = self.reset("reset_works", Some(123)) else {
            return;
        };
        self.check_obs("reset_obs_in_space", "reset(seed = 123)", &obs1);
        if let Some((obs2, _)) = self.reset("reset_works", Some(123)) {
            if obs1 != obs2 {
                self.fail(
                    "reset_seed_determinism",
                    format!("reset(seed = 123) twice gave different observations {obs1:?} and {obs2:?}; reseed the env's RNG from the seed in reset"),
                );
            }
        }
        if let Some((obs3, _)) = self.reset("reset_works", None) {
            self.check_obs("reset_obs_in_space", "reset(seed = None)", &obs3);
        }

        // One trajectory: observations, rewards, truncation after one step.
        let Some((_, traj1)) = self.trajectory("step_works", 7, 11) else {
            return;
        };
        for (t, (obs, reward, _, truncated)) in traj1.iter().enumerate() {
            self.check_obs_at(
                "step_obs_in_space",
                Some(t + 1),
                &format!("step {}", t + 1),
                obs,
            );
            if !reward.is_finite() {
                self.fail_at(
                    "reward_finite",
                    Some(t + 1),
                    format!("step {} returned the reward {reward}", t + 1),
                );
            }
            if t == 0 && *truncated {
                self.fail(
                    "not_truncated_after_one_step",
                    "the first step of an episode returned truncated = true; is max_episode_steps 1 or the truncation condition inverted?",
                );
            }
        }

        // Same seed and actions ⇒ same trajectory.
        if let Some((_, traj2)) = self.trajectory("step_works", 7, 11) {
            if traj1 != traj2 {
                let t = traj1
                    .iter()
                    .zip(&traj2)
                    .position(|(a, b)| a != b)
                    .unwrap_or(traj1.len().min(traj2.len()));
                self.fail_at(
                    "step_determinism",
                    Some(t + 1),
                    format!("two runs from reset(seed = 7) with the same actions differ at step {}; the dynamics must depend only on the seed and the actions", t + 1),
                );
            }
        }

        // step_into / reset_into agree with step / reset.
        self.check_into(&traj1);

        // Invalid actions are errors, not panics; out-of-bounds Box actions are clipped.
        self.check_invalid_actions();

        // Step after the episode ended.
        self.check_step_after_done();

        // save_state / load_state round trip.
        self.check_save_load();
    }

    fn check_into(&mut self, traj: &[Record]) {
        const CHECK: &str = "step_into_matches_step";
        let obs_space = self.env.observation_space().clone();
        let act_space = self.env.action_space().clone();
        let mut buf = vec![0.0f32; obs_space.flat_dim()];
        let reset = self.guarded(CHECK, "reset_into(seed = 7)", |e| {
            e.reset_into(Some(7), None, &mut buf)
        });
        match reset {
            None => return,
            Some(Err(e)) => {
                self.fail(
                    CHECK,
                    format!("reset_into(seed = 7) returned an error: {e}"),
                );
                return;
            }
            Some(Ok(_)) => {}
        }
        let mut rng = Rng::seed_from_u64(11);
        for (t, (obs, reward, term, trunc)) in traj.iter().enumerate() {
            let a = act_space.sample(&mut rng);
            let r = self.guarded(CHECK, "step_into", |e| e.step_into(&a, &mut buf));
            let out: StepOutcome = match r {
                None => return,
                Some(Err(e)) => {
                    self.fail(
                        CHECK,
                        format!("step_into returned an error where step did not: {e}"),
                    );
                    return;
                }
                Some(Ok(o)) => o,
            };
            let want = obs_space.flatten(obs).unwrap_or_default();
            if want != buf
                || out.reward != *reward
                || out.terminated != *term
                || out.truncated != *trunc
            {
                self.fail(
                    CHECK,
                    format!(
                        "at step {} step_into wrote {buf:?} (reward {}, terminated {}, truncated {}) but step returned {want:?} (reward {reward}, terminated {term}, truncated {trunc}); both must behave identically",
                        t + 1,
                        out.reward,
                        out.terminated,
                        out.truncated
                    ),
                );
                return;
            }
        }
    }

    fn check_invalid_actions(&mut self) {
        const CHECK: &str = "invalid_action_errors";
        let act_space = self.env.action_space().clone();
        let bad: Vec<Value> = match &act_space {
            Space::Discrete { n, start } => vec![
                Value::Discrete(start.saturating_add(*n)),
                Value::Discrete(start.saturating_sub(1)),
                Value::Box(vec![0.0]),
            ],
            Space::Box { low, .. } => {
                vec![Value::Box(vec![0.0; low.len() + 1]), Value::Discrete(0)]
            }
        };
        for a in bad {
            if self.reset(CHECK, Some(1)).is_none() {
                return;
            }
            if let Some(r) =
                self.guarded(CHECK, &format!("step({a:?}) with an invalid action"), |e| {
                    e.step(&a)
                })
            {
                if r.is_ok() {
                    self.fail(
                        CHECK,
                        format!("step({a:?}) accepted an action outside the action space {act_space:?}; return EnvError::InvalidAction"),
                    );
                }
            }
        }
        if let Space::Box { low, high, .. } = &act_space {
            let outside: Vec<f32> = low
                .iter()
                .zip(high)
                .map(|(&l, &h)| {
                    if h.is_finite() {
                        h + 1.0 + h.abs()
                    } else if l.is_finite() {
                        l - 1.0 - l.abs()
                    } else {
                        0.0
                    }
                })
                .collect();
            if outside
                .iter()
                .zip(low.iter().zip(high))
                .any(|(&v, (&l, &h))| v < l || v > h)
            {
                const CLIP: &str = "box_action_clipped";
                if self.reset(CLIP, Some(1)).is_none() {
                    return;
                }
                let a = Value::Box(outside);
                if let Some(r) = self.guarded(
                    CLIP,
                    &format!("step({a:?}) with an out-of-bounds action"),
                    |e| e.step(&a),
                ) {
                    match r {
                        Ok(r) => self.check_obs("step_obs_in_space", "step with a clipped action", &r.obs),
                        Err(e) => self.fail(
                            CLIP,
                            format!("step({a:?}) rejected an out-of-bounds continuous action ({e}); clip it to the action space as Gymnasium's envs do"),
                        ),
                    }
                }
            }
        }
    }

    fn check_step_after_done(&mut self) {
        const CHECK: &str = "step_after_done_errors";
        if self.reset(CHECK, Some(3)).is_none() {
            return;
        }
        let space = self.env.action_space().clone();
        let mut rng = Rng::seed_from_u64(5);
        for _ in 0..MAX_EPISODE_SEARCH {
            let a = space.sample(&mut rng);
            let Some(r) = self.step(CHECK, &a) else {
                return;
            };
            if r.terminated || r.truncated {
                let a = space.sample(&mut rng);
                if let Some(r) =
                    self.guarded(CHECK, "step() after the episode ended", |e| e.step(&a))
                {
                    if r.is_ok() {
                        self.fail(
                            CHECK,
                            "step() after a step that returned terminated or truncated returned Ok; return EnvError::StepAfterDone",
                        );
                    }
                }
                return;
            }
        }
        // No episode ended within the search: nothing to check.
    }

    fn check_save_load(&mut self) {
        const CHECK: &str = "save_load_state";
        if self.reset(CHECK, Some(9)).is_none() {
            return;
        }
        let space = self.env.action_space().clone();
        let mut rng = Rng::seed_from_u64(13);
        let actions: Vec<Value> = (0..3).map(|_| space.sample(&mut rng)).collect();
        let saved = match self.guarded(CHECK, "save_state()", |e| e.save_state()) {
            None => return,
            Some(Err(EnvError::Unsupported(_))) => return,
            Some(Err(e)) => {
                self.fail(CHECK, format!("save_state() failed: {e}"));
                return;
            }
            Some(Ok(s)) => s,
        };
        let run = |c: &mut Self| -> Option<Vec<Result<Record, String>>> {
            let mut out = Vec::new();
            for a in &actions {
                let r = c.guarded(CHECK, "step() after load_state()", |e| e.step(a))?;
                let done = r
                    .as_ref()
                    .map(|r| r.terminated || r.truncated)
                    .unwrap_or(true);
                out.push(
                    r.map(|r| (r.obs, r.reward, r.terminated, r.truncated))
                        .map_err(|e| e.to_string()),
                );
                if done {
                    break;
                }
            }
            Some(out)
        };
        let Some(first) = run(self) else { return };
        match self.guarded(CHECK, "load_state()", |e| e.load_state(&saved)) {
            None => return,
            Some(Err(e)) => {
                self.fail(
                    CHECK,
                    format!("load_state() of a state save_state() returned failed: {e}"),
                );
                return;
            }
            Some(Ok(())) => {}
        }
        let Some(second) = run(self) else { return };
        if first != second {
            self.fail(
                CHECK,
                "steps after load_state(save_state()) differ from the steps taken after the save; save every piece of state (physics, RNG, step counters)",
            );
        }
    }
}

/// Exercises `env` as Gymnasium's env checker does and returns every violation found
/// (empty when the env passes).
///
/// Pass a **freshly built** env (never reset): the checker first verifies that `step`
/// before `reset` is an error. It then checks that the spaces are valid; `reset` and `step`
/// return observations of the right kind and shape inside the observation space; the same
/// seed gives the same reset and, with the same actions, the same trajectory; rewards are
/// finite; `truncated` is not set after one step; `step_into`/`reset_into` agree with
/// `step`/`reset`; invalid actions (and `step` after an episode ended) are errors rather
/// than panics, while out-of-bounds continuous actions are accepted (clipped); and, when
/// the env supports it, `load_state(save_state())` reproduces the following steps.
///
/// Panics inside the env are caught and reported (the default panic hook still prints
/// them). Leaves the env in an arbitrary state: reset it before use.
pub fn check_env(env: &mut dyn Env) -> Vec<Violation> {
    let mut c = Checker {
        env,
        violations: Vec::new(),
    };
    c.run();
    c.violations
}
