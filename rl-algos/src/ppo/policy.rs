//! `PPOPolicy`: the PPO module behind rl-core's [`Policy`] trait, as env runners and the
//! learner pipeline use it (no autodiff, reused buffers).

use ndarray::{Array1, Array2, ArrayView2};
use rl_core::policy::{Policy, PolicyError};
use rl_nn::ActionDistKind;

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

    fn num_trainable_parameters(&self) -> usize {
        self.module.params().num_scalars()
    }

    fn get_weights(&self) -> Vec<f32> {
        let mut w = Vec::with_capacity(self.module.params().num_scalars());
        for (_, _, v) in self.module.params().iter() {
            w.extend(v.iter().copied());
        }
        w
    }

    fn set_weights(&mut self, weights: &[f32]) -> Result<(), PolicyError> {
        let total = self.module.params().num_scalars();
        if weights.len() != total {
            return Err(PolicyError::Weights(format!(
                "{} numbers given, the module has {total} parameters",
                weights.len()
            )));
        }
        let mut offset = 0;
        for v in self.module.params_mut().values_mut() {
            let n = v.len();
            v.iter_mut()
                .zip(&weights[offset..offset + n])
                .for_each(|(d, &s)| *d = s);
            offset += n;
        }
        Ok(())
    }

    fn clone_policy(&self) -> Box<dyn Policy> {
        Box::new(self.clone())
    }
}
