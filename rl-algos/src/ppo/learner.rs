//! `PPOLearner`: RLlib's PPO learner — the learner pipeline, `num_epochs` passes of
//! `minibatch_size`-row minibatches (Adam, optional global-norm clipping), then the KL
//! coefficient update.
//!
//! With separate actor and critic encoders (RLlib's default) the loss is the sum of a part
//! that reads only the actor's parameters and a part that reads only the critic's, so each
//! minibatch records the two parts on two tapes in parallel (`rayon::join`) and adds the
//! gradients. The gradients are those of the single-tape loss, and the result does not
//! depend on the number of threads.

use rand::SeedableRng;
use rl_core::connectors::learner::{
    AddColumnsFromEpisodesToTrainBatch, AddOneTsToEpisodesAndTruncate, GeneralAdvantageEstimation,
};
use rl_core::connectors::{LearnerConnector, LearnerContext, LearnerData, Pipeline};
use rl_core::episode::Episode;
pub use rl_core::learner::UpdateReport;
use rl_core::learner::{
    check_finite_update, Learner, LearnerError, MiniBatchCyclicIterator, TrainBatch,
};
use rl_core::metrics::float;
use rl_core::Rng;
use rl_nn::{clip_grad_norm, Adam, Grads, ParamStore, Tape};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::schedule_value;
use super::loss::{
    check_module_batch, join_stats, policy_loss_terms, ppo_loss, value_loss_terms,
    LossHyperparameters, LossStats, PpoMinibatch,
};
use super::module::PPOModule;
use super::policy::PPOPolicy;
use super::PPOConfig;

/// The train-batch columns PPO's loss reads.
const PPO_COLUMNS: [&str; 7] = [
    "obs",
    "actions",
    "action_logp",
    "action_dist_inputs",
    "advantages",
    "value_targets",
    "loss_mask",
];

/// RLlib's PPO learner pipeline with these GAE parameters: one bootstrap step per chunk,
/// the batch columns, then GAE (value targets and standardized advantages). γ and λ must
/// equal the config's `gamma` and `lambda_` when the pipeline goes into a config; to edit
/// the pipeline and still sweep them, start from [`configurable_learner_pipeline`].
pub fn default_learner_pipeline(gamma: f32, lambda: f32) -> Pipeline<dyn LearnerConnector> {
    let mut pipeline = configurable_learner_pipeline();
    pipeline.connectors_mut()[2] = Box::new(GeneralAdvantageEstimation::with(gamma, lambda));
    pipeline
}

/// PPO's default learner pipeline with GAE's γ and λ left to the config (`gamma`,
/// `lambda_`, read when the learner is built): the one to edit for
/// [`learner_connector`](rl_core::algorithm::AlgorithmConfig::learner_connector).
pub fn configurable_learner_pipeline() -> Pipeline<dyn LearnerConnector> {
    Pipeline::new(vec![
        Box::new(AddOneTsToEpisodesAndTruncate),
        Box::new(AddColumnsFromEpisodesToTrainBatch),
        Box::new(GeneralAdvantageEstimation::default()),
    ])
}

/// The learner's state beyond the module weights: what a checkpoint must hold to resume.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LearnerState {
    /// Adam's moments and step count.
    pub optimizer: Adam,
    /// The adaptive KL coefficient.
    pub curr_kl_coeff: f64,
    /// The minibatch shuffling RNG.
    pub rng: Rng,
}

/// PPO's learner: owns the module, its optimizer and the learner connector pipeline.
pub struct PPOLearner {
    policy: PPOPolicy,
    optimizer: Adam,
    work: GradWorkspace,
    pipeline: Pipeline<dyn LearnerConnector>,
    curr_kl_coeff: f64,
    rng: Rng,
    minibatch: TrainBatch,
    rows: Vec<usize>,
    cfg: LearnerSettings,
    /// The state before the current update, put back if the update fails.
    before: Option<Snapshot>,
}

/// Weights, optimizer, KL coefficient and shuffling RNG as they were before an update
/// (copied into reused buffers: a memcpy per update).
struct Snapshot {
    params: ParamStore,
    optimizer: Adam,
    curr_kl_coeff: f64,
    rng: Rng,
}

impl PPOLearner {
    fn save_snapshot(&mut self) {
        let params = self.policy.module().params();
        let reused = match &mut self.before {
            Some(s) => {
                s.params.copy_from(params).is_ok()
                    && copy_moments(&mut s.optimizer, &self.optimizer)
            }
            None => false,
        };
        match (&mut self.before, reused) {
            (Some(s), true) => {
                s.curr_kl_coeff = self.curr_kl_coeff;
                s.rng.clone_from(&self.rng);
            }
            _ => {
                self.before = Some(Snapshot {
                    params: params.clone(),
                    optimizer: self.optimizer.clone(),
                    curr_kl_coeff: self.curr_kl_coeff,
                    rng: self.rng.clone(),
                })
            }
        }
    }

    /// Puts back the state [`save_snapshot`](Self::save_snapshot) kept.
    fn restore_snapshot(&mut self) {
        if let Some(s) = &self.before {
            // Same store, same shapes: the copy cannot fail.
            let _ = self.policy.module_mut().params_mut().copy_from(&s.params);
            self.optimizer.clone_from(&s.optimizer);
            self.curr_kl_coeff = s.curr_kl_coeff;
            self.rng.clone_from(&s.rng);
        }
    }
}

/// Copies Adam's state in place when the moment buffers are alike; false otherwise.
fn copy_moments(dst: &mut Adam, src: &Adam) -> bool {
    let alike = |a: &[ndarray::Array2<f32>], b: &[ndarray::Array2<f32>]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.dim() == y.dim())
    };
    if !alike(&dst.m, &src.m) || !alike(&dst.v, &src.v) {
        return false;
    }
    for (d, s) in dst
        .m
        .iter_mut()
        .zip(&src.m)
        .chain(dst.v.iter_mut().zip(&src.v))
    {
        d.assign(s);
    }
    (dst.lr, dst.betas, dst.eps, dst.weight_decay, dst.step) =
        (src.lr, src.betas, src.eps, src.weight_decay, src.step);
    true
}

#[derive(Clone, Debug)]
struct LearnerSettings {
    minibatch_size: usize,
    num_epochs: usize,
    shuffle: bool,
    grad_clip: Option<f64>,
    lr: f64,
    lr_schedule: Option<Vec<(u64, f64)>>,
    entropy_coeff: f64,
    entropy_coeff_schedule: Option<Vec<(u64, f64)>>,
    clip_param: f64,
    vf_clip_param: f64,
    vf_loss_coeff: f64,
    kl_target: f64,
    use_kl_loss: bool,
}

/// The tapes and gradient buffers of the minibatch updates, reused across updates.
struct GradWorkspace {
    /// The whole loss's (or the actor part's) tape and gradients.
    tape: Tape,
    grads: Grads,
    /// The critic part's tape and gradients (separate encoders only).
    critic_tape: Tape,
    critic_grads: Grads,
}

impl GradWorkspace {
    fn new(module: &PPOModule) -> Self {
        let grads = Grads::new(module.params());
        GradWorkspace {
            tape: Tape::new(),
            critic_tape: Tape::new(),
            critic_grads: grads.clone(),
            grads,
        }
    }

    /// Records the loss of `minibatch` and leaves its gradients in `self.grads`.
    fn loss_and_grads(
        &mut self,
        module: &PPOModule,
        minibatch: &TrainBatch,
        hp: &LossHyperparameters,
    ) -> Result<LossStats, rl_nn::NnError> {
        let batch = PpoMinibatch::from(minibatch);
        self.tape.reset();
        if module.shares_layers() {
            self.grads.zero();
            let out = ppo_loss(&mut self.tape, module, batch, hp)?;
            self.tape.backward(out.total_loss, &mut self.grads);
            self.tape.check()?;
            return Ok(out.stats);
        }
        check_module_batch(module, &batch)?;
        self.critic_tape.reset();
        let (actor_tape, actor_grads) = (&mut self.tape, &mut self.grads);
        let (critic_tape, critic_grads) = (&mut self.critic_tape, &mut self.critic_grads);
        let (p, v) = rayon::join(
            || {
                actor_grads.zero();
                let obs = actor_tape.constant(batch.obs);
                let dist_inputs = module.forward_actor(actor_tape, obs);
                let (loss, stats) =
                    policy_loss_terms(actor_tape, module.dist_kind(), dist_inputs, &batch, hp)?;
                actor_tape.backward(loss, actor_grads);
                Ok::<_, rl_nn::NnError>(stats)
            },
            || {
                critic_grads.zero();
                let obs = critic_tape.constant(batch.obs);
                let values = module.forward_critic(critic_tape, obs);
                let (loss, stats) = value_loss_terms(critic_tape, values, &batch, hp)?;
                critic_tape.backward(loss, critic_grads);
                Ok::<_, rl_nn::NnError>(stats)
            },
        );
        let (p, v) = (p?, v?);
        // A shape mismatch on either tape is a typed error (the tape does not panic).
        self.tape.check()?;
        self.critic_tape.check()?;
        self.grads.add_assign(&self.critic_grads)?;
        Ok(join_stats(&p, &v))
    }
}

impl std::fmt::Debug for PPOLearner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PPOLearner")
            .field("pipeline", &self.pipeline)
            .field("curr_kl_coeff", &self.curr_kl_coeff)
            .finish_non_exhaustive()
    }
}

impl PPOLearner {
    /// A learner for `module` with the config's training settings; `seed` seeds minibatch
    /// shuffling. The learner pipeline (the config's, or PPO's default) takes GAE's γ and λ
    /// from the config; a pipeline that contradicts the config is an error.
    pub fn new(module: PPOModule, config: &PPOConfig, seed: u64) -> Result<Self, LearnerError> {
        let b = &config.base;
        let mut pipeline = b
            .learner_connector
            .clone()
            .unwrap_or_else(configurable_learner_pipeline);
        pipeline
            .configure(&serde_json::to_value(config).map_err(|e| {
                LearnerError::State(format!("the config does not serialize: {e}"))
            })?)?;
        Ok(PPOLearner {
            optimizer: Adam::new(b.lr as f32).with_eps(config.adam_eps as f32),
            work: GradWorkspace::new(&module),
            pipeline,
            curr_kl_coeff: config.kl_coeff,
            rng: Rng::seed_from_u64(seed),
            minibatch: TrainBatch::default(),
            rows: Vec::new(),
            cfg: LearnerSettings {
                minibatch_size: b.minibatch_size,
                num_epochs: b.num_epochs,
                shuffle: b.shuffle_batch_per_epoch,
                grad_clip: b.grad_clip,
                lr: b.lr,
                lr_schedule: config.lr_schedule.clone(),
                entropy_coeff: config.entropy_coeff,
                entropy_coeff_schedule: config.entropy_coeff_schedule.clone(),
                clip_param: config.clip_param,
                vf_clip_param: config.vf_clip_param,
                vf_loss_coeff: config.vf_loss_coeff,
                kl_target: config.kl_target,
                use_kl_loss: config.use_kl_loss,
            },
            policy: PPOPolicy::new(module),
            before: None,
        })
    }

    /// The module being trained.
    pub fn module(&self) -> &PPOModule {
        self.policy.module()
    }

    /// The learner connector pipeline (inspect or edit it: it is a list of plugins).
    pub fn pipeline_mut(&mut self) -> &mut Pipeline<dyn LearnerConnector> {
        &mut self.pipeline
    }

    /// The current KL coefficient.
    pub fn curr_kl_coeff(&self) -> f64 {
        self.curr_kl_coeff
    }

    /// The module's weights, flattened (what env runners receive).
    pub fn get_weights(&self) -> Vec<f32> {
        rl_core::module::RLModule::get_weights(&self.policy)
    }

    /// Optimizer, KL coefficient and RNG, for checkpoints.
    pub fn state(&self) -> LearnerState {
        LearnerState {
            optimizer: self.optimizer.clone(),
            curr_kl_coeff: self.curr_kl_coeff,
            rng: self.rng.clone(),
        }
    }

    /// Restores [`PPOLearner::state`].
    pub fn set_state(&mut self, state: LearnerState) {
        self.optimizer = state.optimizer;
        self.curr_kl_coeff = state.curr_kl_coeff;
        self.rng = state.rng;
    }

    /// The module, mutably (to load weights).
    pub fn module_mut(&mut self) -> &mut PPOModule {
        self.policy.module_mut()
    }

    /// Runs the learner pipeline on `episodes`, then the minibatch epochs.
    /// `lifetime_steps` (env steps sampled so far) positions the schedules.
    pub fn update_from_episodes(
        &mut self,
        episodes: Vec<Episode>,
        lifetime_steps: u64,
    ) -> Result<UpdateReport, LearnerError> {
        let mut data = LearnerData {
            episodes,
            ..Default::default()
        };
        {
            let mut ctx = LearnerContext {
                module: &mut self.policy,
            };
            self.pipeline.run(&mut data, &mut ctx)?;
        }
        let batch = data.batch;
        if batch.is_empty() {
            return Err(LearnerError::BadBatch(
                "the learner pipeline produced an empty train batch".into(),
            ));
        }
        self.update_from_batch(&batch, lifetime_steps)
    }

    /// The minibatch epochs on a ready train batch (advantages and value targets filled).
    ///
    /// A failed update changes nothing: a NaN or infinite loss or gradient
    /// ([`LearnerError::NonFinite`], found before the optimizer step) or any other error
    /// puts the weights, the optimizer, the KL coefficient and the shuffling RNG back as
    /// they were before the update.
    pub fn update_from_batch(
        &mut self,
        batch: &TrainBatch,
        lifetime_steps: u64,
    ) -> Result<UpdateReport, LearnerError> {
        batch.require(&PPO_COLUMNS)?;
        self.save_snapshot();
        let out = self.run_update(batch, lifetime_steps);
        if out.is_err() {
            self.restore_snapshot();
        }
        out
    }

    fn run_update(
        &mut self,
        batch: &TrainBatch,
        lifetime_steps: u64,
    ) -> Result<UpdateReport, LearnerError> {
        let cfg = self.cfg.clone();
        let lr = cfg
            .lr_schedule
            .as_deref()
            .map_or(cfg.lr, |s| schedule_value(s, lifetime_steps));
        let entropy_coeff = cfg
            .entropy_coeff_schedule
            .as_deref()
            .map_or(cfg.entropy_coeff, |s| schedule_value(s, lifetime_steps));
        self.optimizer.lr = lr as f32;
        let hp = LossHyperparameters {
            clip_param: cfg.clip_param as f32,
            vf_clip_param: cfg.vf_clip_param as f32,
            vf_loss_coeff: cfg.vf_loss_coeff as f32,
            entropy_coeff: entropy_coeff as f32,
            curr_kl_coeff: self.curr_kl_coeff as f32,
            use_kl_loss: cfg.use_kl_loss,
        };
        let mut it = MiniBatchCyclicIterator::new(
            batch.len(),
            cfg.minibatch_size,
            cfg.num_epochs,
            cfg.shuffle,
            &mut self.rng,
        );
        let num_minibatches = it.remaining() as u64;
        let mut last = None;
        let mut grad_norm = 0.0f32;
        while it.next_into(&mut self.rows) {
            batch.select_into(&self.rows, &mut self.minibatch)?;
            let stats = self
                .work
                .loss_and_grads(self.policy.module(), &self.minibatch, &hp)
                .map_err(|e| LearnerError::BadBatch(e.to_string()))?;
            let minibatch = (num_minibatches as usize).saturating_sub(it.remaining() + 1);
            check_finite_update(
                stats.total_loss,
                &self.work.grads,
                self.policy.module().params(),
                minibatch,
            )?;
            // Only the last minibatch's norm is reported: without clipping, skip the others.
            grad_norm = match cfg.grad_clip {
                Some(c) => clip_grad_norm(&mut self.work.grads, c as f32),
                None if it.remaining() == 0 => self.work.grads.global_norm(),
                None => grad_norm,
            };
            self.optimizer
                .step(self.policy.module_mut().params_mut(), &self.work.grads)
                .map_err(|e| LearnerError::BadBatch(e.to_string()))?;
            last = Some(stats);
        }
        let stats =
            last.ok_or_else(|| LearnerError::BadBatch("no minibatch was trained".into()))?;
        // RLlib's KL coefficient update, once per update, from the last minibatch's KL.
        let kl = f64::from(stats.mean_kl_loss);
        let coeff_used = self.curr_kl_coeff;
        if cfg.use_kl_loss {
            if kl > 2.0 * cfg.kl_target {
                self.curr_kl_coeff *= 1.5;
            } else if kl < 0.5 * cfg.kl_target {
                self.curr_kl_coeff *= 0.5;
            }
        }
        let f = |x: f32| float(f64::from(x));
        let stats = vec![
            ("policy_loss".to_string(), f(stats.policy_loss)),
            ("vf_loss".into(), f(stats.vf_loss)),
            ("vf_loss_unclipped".into(), f(stats.vf_loss_unclipped)),
            ("total_loss".into(), f(stats.total_loss)),
            ("entropy".into(), f(stats.entropy)),
            ("mean_kl_loss".into(), f(stats.mean_kl_loss)),
            ("vf_explained_var".into(), f(stats.vf_explained_var)),
            ("curr_kl_coeff".into(), float(self.curr_kl_coeff)),
            ("curr_kl_coeff_used".into(), float(coeff_used)),
            ("curr_entropy_coeff".into(), float(entropy_coeff)),
            ("default_optimizer_learning_rate".into(), float(lr)),
            (
                "gradients_default_optimizer_global_norm".into(),
                f(grad_norm),
            ),
            (
                "num_trainable_parameters".into(),
                Value::from(self.module().params().num_scalars()),
            ),
            (
                "module_train_batch_size_mean".into(),
                Value::from(cfg.minibatch_size),
            ),
        ];
        Ok(UpdateReport {
            stats,
            num_env_steps_trained: num_minibatches * batch.len() as u64,
            num_module_steps_trained: num_minibatches * cfg.minibatch_size as u64,
        })
    }
}

impl Learner for PPOLearner {
    fn get_weights(&self) -> Vec<f32> {
        PPOLearner::get_weights(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ppo::module::PPOModuleConfig;
    use ndarray::{Array1, Array2};
    use rand::Rng as _;
    use rl_nn::ActionDistKind;

    /// The two-tape split gives bit for bit the gradients and statistics of the one-tape loss.
    #[test]
    fn split_loss_equals_single_tape_loss() {
        let mut rng = Rng::seed_from_u64(7);
        let mut mcfg = PPOModuleConfig::new(4, ActionDistKind::Categorical, 2);
        mcfg.hiddens = vec![32, 16];
        let module = PPOModule::new(&mcfg, &mut rng).unwrap();
        let mut config = PPOConfig::new();
        config.entropy_coeff = 0.01;
        let mut learner = PPOLearner::new(module.clone(), &config, 0).unwrap();
        let b = 64;
        let mut u = |lo: f32, hi: f32| rng.gen_range(lo..hi);
        learner.minibatch = TrainBatch {
            obs: Array2::from_shape_fn((b, 4), |_| u(-1.0, 1.0)),
            actions: Array2::from_shape_fn((b, 1), |_| if u(0.0, 1.0) < 0.5 { 0.0 } else { 1.0 }),
            action_logp: Array1::from_shape_fn(b, |_| u(-1.5, -0.2)),
            action_dist_inputs: Array2::from_shape_fn((b, 2), |_| u(-1.0, 1.0)),
            advantages: Array1::from_shape_fn(b, |_| u(-2.0, 2.0)),
            value_targets: Array1::from_shape_fn(b, |_| u(-3.0, 3.0)),
            loss_mask: Array1::from_shape_fn(b, |i| i % 7 != 3),
            ..Default::default()
        };
        let hp = LossHyperparameters {
            clip_param: 0.2,
            vf_clip_param: 4.0,
            vf_loss_coeff: 0.5,
            entropy_coeff: 0.01,
            curr_kl_coeff: 0.3,
            use_kl_loss: true,
        };
        let split = learner
            .work
            .loss_and_grads(&module, &learner.minibatch, &hp)
            .unwrap();

        let mut tape = Tape::new();
        let mut grads = Grads::new(module.params());
        let out = ppo_loss(&mut tape, &module, &learner.minibatch, &hp).unwrap();
        tape.backward(out.total_loss, &mut grads);
        assert_eq!(split, out.stats);
        assert_eq!(learner.work.grads, grads);
        assert!(grads.global_norm() > 0.0);
    }

    #[test]
    fn batch_with_a_short_column_is_refused() {
        let mut rng = Rng::seed_from_u64(3);
        let mut mcfg = PPOModuleConfig::new(4, ActionDistKind::Categorical, 2);
        mcfg.hiddens = vec![8];
        let module = PPOModule::new(&mcfg, &mut rng).unwrap();
        let mut learner = PPOLearner::new(module, &PPOConfig::new(), 0).unwrap();
        let batch = TrainBatch {
            obs: Array2::zeros((4, 4)),
            actions: Array2::zeros((4, 1)),
            ..Default::default()
        };
        let err = learner.update_from_batch(&batch, 0).unwrap_err();
        assert!(
            err.to_string().contains("`action_logp` has 0 rows"),
            "{err}"
        );
    }
}
