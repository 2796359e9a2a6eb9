//! `PPOPolicy`: the PPO module behind rl-core's [`Policy`] trait, as env runners and the
//! learner pipeline use it (no autodiff, reused buffers).

use ndarray::{Array1, Array2, ArrayView2};
use rl_core::policy::{Policy, PolicyError};
use rl_nn::{ActionDistKind, ParamStore, Tape, Var};

use super::module::PPOModule;

/// A [`PPOModule`] acting through plain arrays.
#[derive(Clone, Debug)]
pub struct PPOPolicy {
    module: PPOModule,
}

impl PPOPolicy {
    /// Wraps a module.
    pub fn new(module: PPOModule) -> Self {
        PPOPolicy { module }
    }

    /// The module.
    pub fn module(&self) -> &PPOModule {
        &self.module
    }

    /// The module, mutably.
    pub fn module_mut(&mut self) -> &mut PPOModule {
        &mut self.module
    }

    fn check(&self, obs: &ArrayView2<f32>) -> Result<(), PolicyError> {
        if obs.ncols() != self.module.obs_dim() {
            return Err(PolicyError::ObsWidth {
                expected: self.module.obs_dim(),
                got: obs.ncols(),
            });
        }
        Ok(())
    }
}

impl Policy for PPOPolicy {
    fn dist_kind(&self) -> ActionDistKind {
        self.module.dist_kind()
    }

    fn obs_dim(&self) -> usize {
        self.module.obs_dim()
    }

    fn dist_dim(&self) -> usize {
        self.module.dist_dim()
    }

    fn forward_inference(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, PolicyError> {
        self.check(&obs)?;
        Ok(self.module.forward_dist_inputs(obs))
    }

    fn forward_exploration(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, PolicyError> {
        self.check(&obs)?;
        Ok(self.module.forward_dist_inputs(obs))
    }

    fn compute_values(&mut self, obs: ArrayView2<f32>) -> Result<Array1<f32>, PolicyError> {
        self.check(&obs)?;
        Ok(self.module.forward_values(obs))
    }

    fn forward_train(&self, tape: &mut Tape, obs: Var) -> (Var, Var) {
        self.module.forward_train(tape, obs)
    }

    fn params(&self) -> &ParamStore {
        self.module.params()
    }

    fn params_mut(&mut self) -> &mut ParamStore {
        self.module.params_mut()
    }

    fn clone_policy(&self) -> Box<dyn Policy> {
        Box::new(self.clone())
    }
}
