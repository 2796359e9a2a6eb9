//! [`ModuleLearner`]: what a learner that trains one module by gradient descent shares with
//! every other (RLlib's `Learner` base for one module): the module, its learner connector
//! pipeline, its Adam optimizer, global-norm gradient clipping, and the tape and gradient
//! buffers reused across updates. An algorithm brings the loss (RLlib's
//! `compute_loss_for_module`) as a function that records it on the tape; checkpoints save
//! and read the learner with `rl_core::algorithm::checkpoint::{write,read}_module_learner`.
//!
//! Learners with more than one tape or optimizer (PPO's parallel actor and critic tapes,
//! DQN's target network) keep their own.

use rl_nn::{clip_grad_norm, Adam, Grads, ParamStore, Tape, Var};
use serde_json::Value;

use super::{check_finite_update, Learner, LearnerError, TrainBatch, UpdateReport};
use crate::connectors::{LearnerConnector, Pipeline};
use crate::episode::Episode;
use crate::metrics::float;
use crate::module::RLModule;

/// What a loss records: the `1 × 1` total loss, and the values to report with their names
/// (RLlib's: `policy_loss`, `vf_loss`, …; each `1 × 1`, read off the tape after the step).
pub type Loss = (Var, Vec<(&'static str, Var)>);

/// One module with its learner pipeline, its Adam optimizer and its gradient clipping.
pub struct ModuleLearner<M> {
    module: M,
    pipeline: Pipeline<dyn LearnerConnector>,
    optimizer: Adam,
    grad_clip: Option<f32>,
    tape: Tape,
    grads: Grads,
}

impl<M> std::fmt::Debug for ModuleLearner<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleLearner")
            .field("pipeline", &self.pipeline)
            .field("optimizer_steps", &self.optimizer.step)
            .field("grad_clip", &self.grad_clip)
            .finish_non_exhaustive()
    }
}

impl<M: RLModule> ModuleLearner<M> {
    /// `module` trained by `optimizer` on the train batches `pipeline` builds from episode
    /// chunks; gradients clipped to the global norm `grad_clip` (RLlib's `grad_clip` with
    /// `grad_clip_by = "global_norm"`; `None`: no clipping).
    pub fn new(
        module: M,
        pipeline: Pipeline<dyn LearnerConnector>,
        optimizer: Adam,
        grad_clip: Option<f64>,
    ) -> Self {
        let grads = Grads::new(module.params());
        ModuleLearner {
            module,
            pipeline,
            optimizer,
            grad_clip: grad_clip.map(|c| c as f32),
            tape: Tape::new(),
            grads,
        }
    }

    /// The module being trained.
    pub fn module(&self) -> &M {
        &self.module
    }

    /// The module, mutably.
    pub fn module_mut(&mut self) -> &mut M {
        &mut self.module
    }

    /// The learner pipeline (inspect or edit it: it is a list of plugins).
    pub fn pipeline_mut(&mut self) -> &mut Pipeline<dyn LearnerConnector> {
        &mut self.pipeline
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &Adam {
        &self.optimizer
    }

    /// RLlib's `Learner.update(episodes=…)`: the learner pipeline turns `episodes` into a
    /// train batch, then one gradient step on it ([`ModuleLearner::update`]).
    pub fn update_from_episodes(
        &mut self,
        episodes: Vec<Episode>,
        loss: impl FnOnce(&mut Tape, &M, &TrainBatch) -> Result<Loss, LearnerError>,
    ) -> Result<UpdateReport, LearnerError> {
        let batch = self
            .pipeline
            .batch_from_episodes(episodes, &mut self.module)?;
        if batch.is_empty() {
            return Err(LearnerError::BadBatch(
                "the learner pipeline produced an empty train batch".into(),
            ));
        }
        self.update(&batch, loss)
    }

    /// One gradient step on `batch`: `loss` records the loss on the (reset) tape from the
    /// module and the batch ([`Loss`]); then backward, clipping and an Adam step. The report
    /// holds the loss's named values, `gradients_default_optimizer_global_norm` (before
    /// clipping, as RLlib) and the batch's rows as the steps trained. When `loss` fails, or
    /// the loss or a gradient is NaN or infinite (the learner guard,
    /// [`LearnerError::NonFinite`], checked before the optimizer step), nothing changes.
    pub fn update(
        &mut self,
        batch: &TrainBatch,
        loss: impl FnOnce(&mut Tape, &M, &TrainBatch) -> Result<Loss, LearnerError>,
    ) -> Result<UpdateReport, LearnerError> {
        self.tape.reset();
        let (total, named) = loss(&mut self.tape, &self.module, batch)?;
        let shape_of = |name: &str, v: Var| {
            match self.tape.shape(v) {
            (1, 1) => Ok(()),
            shape => Err(LearnerError::BadBatch(format!(
                "the loss's `{name}` has shape {shape:?}; losses and the values they report are 1 × 1 (a mean or a sum)"
            ))),
        }
        };
        shape_of("total", total)?;
        for &(name, v) in &named {
            shape_of(name, v)?;
        }
        self.grads.zero();
        self.tape.backward(total, &mut self.grads);
        check_finite_update(
            self.tape.scalar(total),
            &self.grads,
            self.module.params(),
            0,
        )?;
        let norm = match self.grad_clip {
            Some(max_norm) => clip_grad_norm(&mut self.grads, max_norm),
            None => self.grads.global_norm(),
        };
        self.optimizer.step(self.module.params_mut(), &self.grads)?;
        let value = |v: f32| float(f64::from(v));
        let mut stats: Vec<(String, Value)> = named
            .iter()
            .map(|&(name, v)| (name.to_string(), value(self.tape.scalar(v))))
            .collect();
        stats.push((
            "gradients_default_optimizer_global_norm".into(),
            value(norm),
        ));
        Ok(UpdateReport {
            stats,
            num_env_steps_trained: batch.len() as u64,
            num_module_steps_trained: batch.len() as u64,
        })
    }

    /// Replaces the module's parameters and the optimizer (a checkpoint's, read and checked
    /// by `rl_core::algorithm::checkpoint::read_module_learner`). The parameters must have
    /// the module's names and shapes.
    pub fn set_state(&mut self, params: &ParamStore, optimizer: Adam) -> Result<(), LearnerError> {
        self.module.params_mut().copy_from(params)?;
        self.optimizer = optimizer;
        Ok(())
    }
}

impl<M: RLModule> Learner for ModuleLearner<M> {
    fn get_weights(&self) -> Vec<f32> {
        self.module.get_weights()
    }
}

/// A linear module for tests: `obs · Wᵀ + b` as logits, no critic.
#[cfg(test)]
pub(crate) mod test_support {
    use std::sync::Arc;

    use ndarray::{Array2, ArrayView2};
    use rand::SeedableRng;
    use rl_nn::{ActionDistKind, ActionDistribution, Init, Mlp, MlpConfig, ParamStore, Workspace};

    use crate::module::{ModuleError, RLModule};

    #[derive(Clone, Debug)]
    pub(crate) struct TinyModule {
        pub params: ParamStore,
        pub net: Mlp,
    }

    impl TinyModule {
        pub fn new(in_dim: usize, hidden: Vec<usize>, seed: u64) -> Self {
            let config = MlpConfig {
                in_dim,
                hidden,
                activation: rl_nn::Activation::Tanh,
                output_dim: Some(2),
                hidden_init: Init::TorchDefault,
                output_init: Init::TorchDefault,
            };
            let mut params = ParamStore::new();
            let mut rng = crate::Rng::seed_from_u64(seed);
            let net = Mlp::new(&mut params, "net", &config, &mut rng).unwrap();
            TinyModule { params, net }
        }
    }

    impl RLModule for TinyModule {
        fn action_dist(&self) -> Arc<dyn ActionDistribution> {
            Arc::new(ActionDistKind::Categorical)
        }
        fn obs_dim(&self) -> usize {
            self.net.in_dim()
        }
        fn dist_dim(&self) -> usize {
            self.net.out_dim()
        }
        fn forward_inference(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
            let mut out = Array2::zeros((0, 0));
            self.net
                .forward_array(&self.params, obs, &mut Workspace::new(), &mut out);
            Ok(out)
        }
        fn params(&self) -> &ParamStore {
            &self.params
        }
        fn params_mut(&mut self) -> &mut ParamStore {
            &mut self.params
        }
        fn clone_module(&self) -> Box<dyn RLModule> {
            Box::new(self.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{array, Array1};

    use super::test_support::TinyModule;
    use super::*;

    /// A batch whose loss is the mean squared logit: gradient descent drives it to 0.
    fn batch() -> TrainBatch {
        TrainBatch {
            obs: array![[1.0, -0.5], [0.3, 2.0], [-1.0, 0.0]],
            rewards: Array1::zeros(3),
            ..Default::default()
        }
    }

    fn squared_logits(t: &mut Tape, m: &TinyModule, b: &TrainBatch) -> Result<Loss, LearnerError> {
        let obs = t.constant(b.obs.view());
        let logits = m.net.forward(t, &m.params, obs);
        let sq = t.square(logits);
        let loss = t.mean(sq);
        let first = t.slice_cols(logits, 0, 1);
        let first = t.mean(first);
        Ok((loss, vec![("squared_logits", loss), ("first_logit", first)]))
    }

    fn stat(report: &UpdateReport, name: &str) -> f64 {
        let (_, v) = report.stats.iter().find(|(k, _)| k == name).unwrap();
        v.as_f64().unwrap()
    }

    #[test]
    fn update_descends_and_reports_named_values_and_the_gradient_norm() {
        let module = TinyModule::new(2, vec![4], 0);
        let mut learner = ModuleLearner::new(module, Pipeline::default(), Adam::new(0.05), None);
        let first = learner.update(&batch(), squared_logits).unwrap();
        assert_eq!(first.num_env_steps_trained, 3);
        assert_eq!(first.num_module_steps_trained, 3);
        assert!(stat(&first, "gradients_default_optimizer_global_norm") > 0.0);
        assert!(stat(&first, "first_logit").is_finite());
        let mut last = first.clone();
        for _ in 0..50 {
            last = learner.update(&batch(), squared_logits).unwrap();
        }
        assert!(
            stat(&last, "squared_logits") < 0.1 * stat(&first, "squared_logits"),
            "{:?} → {:?}",
            first.stats,
            last.stats
        );
        assert_eq!(learner.optimizer().step, 51);
    }

    #[test]
    fn gradients_are_clipped_to_grad_clip_and_the_norm_before_clipping_is_reported() {
        let (a, b) = (
            TinyModule::new(2, vec![4], 1),
            TinyModule::new(2, vec![4], 1),
        );
        let mut clipped = ModuleLearner::new(a, Pipeline::default(), Adam::new(1e-3), Some(1e-3));
        let mut free = ModuleLearner::new(b, Pipeline::default(), Adam::new(1e-3), None);
        let rc = clipped.update(&batch(), squared_logits).unwrap();
        let rf = free.update(&batch(), squared_logits).unwrap();
        let norm = stat(&rf, "gradients_default_optimizer_global_norm");
        assert_eq!(stat(&rc, "gradients_default_optimizer_global_norm"), norm);
        assert!(
            norm > 1e-2,
            "the test needs a norm well above the clip: {norm}"
        );
        // Adam's first step moves each parameter by about lr whatever the gradient's scale,
        // so compare its first moments: the clipped ones are scaled by 1e-3 / norm.
        let total = |l: &ModuleLearner<TinyModule>| -> f64 {
            let m = &l.optimizer().m;
            m.iter()
                .flat_map(|a| a.iter())
                .map(|x| f64::from(x.abs()))
                .sum()
        };
        let ratio = total(&clipped) / total(&free);
        let expected = 1e-3 / (norm + 1e-6);
        assert!(
            (ratio / expected - 1.0).abs() < 1e-4,
            "{ratio} vs {expected}"
        );
    }

    #[test]
    fn losses_that_are_not_scalars_are_refused_and_change_nothing() {
        let module = TinyModule::new(2, vec![], 2);
        let mut learner = ModuleLearner::new(module, Pipeline::default(), Adam::new(0.1), None);
        let before = learner.get_weights();
        let not_scalar =
            |t: &mut Tape, m: &TinyModule, b: &TrainBatch| -> Result<Loss, LearnerError> {
                let obs = t.constant(b.obs.view());
                let logits = m.net.forward(t, &m.params, obs);
                Ok((logits, vec![]))
            };
        let e = learner.update(&batch(), not_scalar).unwrap_err();
        assert!(e.to_string().contains("`total` has shape (3, 2)"), "{e}");
        let failing =
            |_: &mut Tape, _: &TinyModule, _: &TrainBatch| -> Result<Loss, LearnerError> {
                Err(LearnerError::BadBatch("no".into()))
            };
        assert!(learner.update(&batch(), failing).is_err());
        assert_eq!(learner.get_weights(), before);
        assert_eq!(learner.optimizer().step, 0);
    }

    #[test]
    fn a_non_finite_loss_or_gradient_is_refused_before_the_step_and_changes_nothing() {
        let module = TinyModule::new(2, vec![4], 5);
        let mut learner = ModuleLearner::new(module, Pipeline::default(), Adam::new(0.1), None);
        learner.update(&batch(), squared_logits).unwrap();
        let (weights, moments) = (learner.get_weights(), learner.optimizer().m.clone());
        // A NaN observation makes the loss NaN; an infinite one saturates tanh (a finite
        // loss) but makes a gradient NaN (∞ · 0).
        for (x, what) in [
            (f32::NAN, "loss total_loss"),
            (f32::INFINITY, "gradient of net.0."),
        ] {
            let mut bad = batch();
            bad.obs[[1, 0]] = x;
            let e = learner.update(&bad, squared_logits).unwrap_err();
            assert!(
                matches!(&e, LearnerError::NonFinite { tensor, minibatch: 0, .. } if tensor.starts_with(what)),
                "{e}"
            );
            assert_eq!(learner.get_weights(), weights);
            assert_eq!(learner.optimizer().m, moments);
            assert_eq!(learner.optimizer().step, 1);
        }
        learner.update(&batch(), squared_logits).unwrap();
        assert_eq!(
            learner.optimizer().step,
            2,
            "the learner trains on after a refusal"
        );
    }

    #[test]
    fn an_empty_pipeline_batch_is_refused() {
        let module = TinyModule::new(2, vec![], 3);
        let pipeline = Pipeline::gae_learner(0.99, 1.0);
        let mut learner = ModuleLearner::new(module, pipeline, Adam::new(0.1), None);
        let e = learner
            .update_from_episodes(Vec::new(), squared_logits)
            .unwrap_err();
        assert!(e.to_string().contains("empty train batch"), "{e}");
    }

    #[test]
    fn set_state_checks_names_and_shapes() {
        let mut learner = ModuleLearner::new(
            TinyModule::new(2, vec![4], 4),
            Pipeline::default(),
            Adam::new(0.1),
            None,
        );
        let other = TinyModule::new(2, vec![5], 4);
        assert!(learner.set_state(&other.params, Adam::new(0.2)).is_err());
        let same = TinyModule::new(2, vec![4], 9);
        learner.set_state(&same.params, Adam::new(0.2)).unwrap();
        assert_eq!(learner.get_weights(), same.get_weights());
        assert_eq!(learner.optimizer().lr, 0.2);
    }
}
