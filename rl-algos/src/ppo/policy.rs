//! `PPOPolicy`: the PPO module behind rl-core's [`RLModule`] (acting) and
//! [`ValueFunctionAPI`] (its critic, for GAE) traits, as env runners and the learner
//! pipeline use it (no autodiff, reused buffers).

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2};
use rl_core::module::{ModuleError, RLModule, ValueFunctionAPI};
use rl_nn::{ActionDistribution, ParamStore};

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

    fn check(&self, obs: &ArrayView2<f32>) -> Result<(), ModuleError> {
        if obs.ncols() != self.module.obs_dim() {
            return Err(ModuleError::ObsWidth {
                expected: self.module.obs_dim(),
                got: obs.ncols(),
            });
        }
        Ok(())
    }
}

impl RLModule for PPOPolicy {
    fn action_dist(&self) -> Arc<dyn ActionDistribution> {
        Arc::new(self.module.dist_kind())
    }

    fn obs_dim(&self) -> usize {
        self.module.obs_dim()
    }

    fn dist_dim(&self) -> usize {
        self.module.dist_dim()
    }

    fn forward_inference(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
        self.check(&obs)?;
        Ok(self.module.forward_dist_inputs(obs))
    }

    fn forward_exploration(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
        self.check(&obs)?;
        Ok(self.module.forward_dist_inputs(obs))
    }

    fn params(&self) -> &ParamStore {
        self.module.params()
    }

    fn params_mut(&mut self) -> &mut ParamStore {
        self.module.params_mut()
    }

    fn clone_module(&self) -> Box<dyn RLModule> {
        Box::new(self.clone())
    }

    fn as_value_function(&mut self) -> Option<&mut dyn ValueFunctionAPI> {
        Some(self)
    }
}

impl ValueFunctionAPI for PPOPolicy {
    fn compute_values(&mut self, obs: ArrayView2<f32>) -> Result<Array1<f32>, ModuleError> {
        self.check(&obs)?;
        Ok(self.module.forward_values(obs))
    }
}
