//! `DQNLearner`: RLlib's `DQNTorchLearner` — one gradient step (Adam, global-norm
//! clipping) on each replayed train batch, then, in `after_gradient_based_update`, the
//! target-network update once `target_network_update_freq` env steps were sampled since
//! the last one.

use rl_core::batch::Column;
use rl_core::learner::{
    check_finite_update, columns, Learner, LearnerError, TrainBatch, UpdateReport,
};
use rl_core::metrics::float;
use rl_core::module::{RLModule, TargetNetworkAPI};
use rl_core::replay::ReplayBatch;
use rl_nn::{clip_grad_norm, Adam, Grads, Tape};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::DQNConfig;
use super::loss::{dqn_loss, DqnMinibatch, LossHyperparameters, TargetScratch};
use super::module::DQNModule;

/// The learner's state beyond the module's weights (what a checkpoint must hold).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetUpdateState {
    /// `num_env_steps_sampled_lifetime` at the last target update (RLlib's
    /// `last_target_update_ts`, 0 before the first).
    pub last_target_update_ts: u64,
    /// Target updates so far (RLlib's `num_target_updates`).
    pub num_target_updates: u64,
}

/// What one update returns besides its statistics: the TD error of every row, for the
/// priorities.
#[derive(Clone, Debug, Default)]
pub struct DQNUpdate {
    /// Statistics and row counts.
    pub report: UpdateReport,
    /// `|Q(s, a) − target|` per train-batch row.
    pub td_errors: Vec<f32>,
}

#[derive(Clone, Debug)]
struct Settings {
    hp: LossHyperparameters,
    grad_clip: Option<f64>,
    lr: f64,
    tau: f32,
    target_network_update_freq: u64,
}

/// DQN's learner: owns the module (online and target networks) and its optimizer.
pub struct DQNLearner {
    module: DQNModule,
    optimizer: Adam,
    grads: Grads,
    tape: Tape,
    scratch: TargetScratch,
    target: TargetUpdateState,
    settings: Settings,
}

impl std::fmt::Debug for DQNLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DQNLearner")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl DQNLearner {
    /// A learner for `module` (its target networks are made here, as RLlib's
    /// `DQNLearner.build`) with the config's training settings.
    pub fn new(mut module: DQNModule, config: &DQNConfig) -> Self {
        module.make_target_networks();
        let b = &config.base;
        DQNLearner {
            optimizer: Adam::new(b.lr as f32).with_eps(config.adam_epsilon as f32),
            grads: Grads::new(module.params()),
            tape: Tape::new(),
            scratch: TargetScratch::default(),
            target: TargetUpdateState {
                last_target_update_ts: 0,
                num_target_updates: 0,
            },
            settings: Settings {
                hp: LossHyperparameters {
                    gamma: b.gamma as f32,
                    double_q: config.double_q,
                    td_error_loss_fn: config.td_error_loss_fn,
                },
                grad_clip: b.grad_clip,
                lr: b.lr,
                tau: config.tau as f32,
                target_network_update_freq: config.target_network_update_freq,
            },
            module,
        }
    }

    /// The module being trained (online and target networks).
    pub fn module(&self) -> &DQNModule {
        &self.module
    }

    /// The module, mutably (to load weights).
    pub fn module_mut(&mut self) -> &mut DQNModule {
        &mut self.module
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &Adam {
        &self.optimizer
    }

    /// The target-update bookkeeping.
    pub fn target_state(&self) -> &TargetUpdateState {
        &self.target
    }

    /// Restores the optimizer and the target-update bookkeeping (checkpoints).
    pub fn set_state(&mut self, optimizer: Adam, target: TargetUpdateState) {
        self.optimizer = optimizer;
        self.target = target;
    }

    /// The online network's weights, flattened (what env runners receive).
    pub fn get_weights(&self) -> Vec<f32> {
        RLModule::get_weights(&self.module)
    }

    /// One gradient step on `batch` (columns `obs`, `actions`, `rewards`, `terminateds`,
    /// `new_obs`, `weights`, `n_step`), then the target update if due at
    /// `lifetime_steps` (the run's `num_env_steps_sampled_lifetime`).
    ///
    /// A failed update changes nothing: a NaN or infinite loss or gradient
    /// ([`LearnerError::NonFinite`]) and every other error are found before the optimizer
    /// step, the first write to the weights, the optimizer or the target networks (Adam
    /// checks its shapes before it writes), so unlike PPO's several minibatches there is
    /// no snapshot to put back.
    pub fn update(
        &mut self,
        batch: &TrainBatch,
        lifetime_steps: u64,
    ) -> Result<DQNUpdate, LearnerError> {
        let minibatch = DqnMinibatch::from_batch(batch)?;
        let s = self.settings.clone();
        self.tape.reset();
        self.grads.zero();
        let out = dqn_loss(
            &mut self.tape,
            &mut self.module,
            &minibatch,
            &s.hp,
            &mut self.scratch,
        )?;
        self.tape.backward(out.total_loss, &mut self.grads);
        // A shape mismatch on the tape is a typed error (the tape does not panic).
        self.tape
            .check()
            .map_err(|e| LearnerError::BadBatch(e.to_string()))?;
        check_finite_update(out.stats.qf_loss, &self.grads, self.module.params(), 0)?;
        let grad_norm = match s.grad_clip {
            Some(c) => clip_grad_norm(&mut self.grads, c as f32),
            None => self.grads.global_norm(),
        };
        self.optimizer.lr = s.lr as f32;
        self.optimizer
            .step(self.module.params_mut(), &self.grads)
            .map_err(|e| LearnerError::BadBatch(e.to_string()))?;
        self.after_gradient_based_update(lifetime_steps);

        let st = out.stats;
        let f = |x: f32| float(f64::from(x));
        let rows = batch.len() as u64;
        let stats = vec![
            ("qf_loss".to_string(), f(st.qf_loss)),
            ("qf_mean".into(), f(st.qf_mean)),
            ("qf_max".into(), f(st.qf_max)),
            ("qf_min".into(), f(st.qf_min)),
            ("td_error_mean".into(), f(st.td_error_mean)),
            ("total_loss".into(), f(st.qf_loss)),
            (
                "gradients_default_optimizer_global_norm".into(),
                f(grad_norm),
            ),
            ("default_optimizer_learning_rate".into(), float(s.lr)),
            (
                "num_trainable_parameters".into(),
                Value::from(self.module.params().num_scalars()),
            ),
            ("module_train_batch_size_mean".into(), Value::from(rows)),
            (
                "num_target_updates".into(),
                Value::from(self.target.num_target_updates),
            ),
            (
                "last_target_update_ts".into(),
                Value::from(self.target.last_target_update_ts),
            ),
        ];
        Ok(DQNUpdate {
            report: UpdateReport {
                stats,
                num_env_steps_trained: rows,
                num_module_steps_trained: rows,
            },
            td_errors: out.td_errors,
        })
    }

    /// RLlib's `DQNLearner.after_gradient_based_update`: when `timestep − last update ≥
    /// target_network_update_freq`, `target ← τ·online + (1 − τ)·target`.
    fn after_gradient_based_update(&mut self, timestep: u64) {
        let t = &mut self.target;
        if timestep.saturating_sub(t.last_target_update_ts)
            >= self.settings.target_network_update_freq
        {
            self.module.sync_target_networks(self.settings.tau);
            t.num_target_updates += 1;
            t.last_target_update_ts = timestep;
        }
    }
}

impl Learner for DQNLearner {
    fn get_weights(&self) -> Vec<f32> {
        DQNLearner::get_weights(self)
    }
}

/// A replay sample as a train batch (RLlib's learner connector output for DQN): `obs`,
/// `actions`, `rewards`, `terminateds`, `truncateds` and the named `new_obs`, `weights`,
/// `n_step`, into `out` (its buffers reused).
pub fn train_batch_from_replay(
    sample: &ReplayBatch,
    out: &mut TrainBatch,
) -> Result<(), LearnerError> {
    let rows = sample.len();
    let shape = |v: &[f32], w: usize, what: &str| {
        ndarray::Array2::from_shape_vec((rows, w), v.to_vec())
            .map_err(|e| LearnerError::BadBatch(format!("replay sample `{what}`: {e}")))
    };
    out.obs = shape(&sample.obs, sample.obs_dim, "obs")?;
    out.actions = shape(&sample.actions, sample.act_dim, "actions")?;
    out.rewards = sample.rewards.iter().copied().collect();
    out.terminateds = sample.terminateds.iter().copied().collect();
    out.truncateds = sample.truncateds.iter().copied().collect();
    out.set_column(
        columns::NEXT_OBS,
        Column::Matrix(shape(&sample.next_obs, sample.obs_dim, "new_obs")?),
    );
    out.set_column(
        columns::WEIGHTS,
        Column::F32(sample.weights.iter().copied().collect()),
    );
    out.set_column(
        columns::N_STEP,
        Column::F32(sample.n_step.iter().map(|&n| n as f32).collect()),
    );
    Ok(())
}
