//! A stand-in module for the learner-pipeline tests: one-number observations, two actions
//! with uniform logits, and a critic given as a function of the observation.

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2};
use rl_core::module::{ModuleError, RLModule, ValueFunctionAPI};
use rl_nn::{ActionDistKind, ActionDistribution, ParamStore};

/// Uniform over two actions; `V(obs) = value(obs[0])`. No parameters.
#[derive(Clone)]
pub struct ObsValueModule {
    value: Arc<dyn Fn(f32) -> f32 + Send + Sync>,
    params: ParamStore,
}

impl ObsValueModule {
    /// A module whose critic is `value` of the (one-number) observation.
    pub fn new(value: impl Fn(f32) -> f32 + Send + Sync + 'static) -> Self {
        ObsValueModule {
            value: Arc::new(value),
            params: ParamStore::new(),
        }
    }
}

impl RLModule for ObsValueModule {
    fn action_dist(&self) -> Arc<dyn ActionDistribution> {
        Arc::new(ActionDistKind::Categorical)
    }
    fn obs_dim(&self) -> usize {
        1
    }
    fn dist_dim(&self) -> usize {
        2
    }
    fn forward_inference(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
        Ok(Array2::zeros((obs.nrows(), 2)))
    }
    fn forward_exploration(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
        Ok(Array2::zeros((obs.nrows(), 2)))
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
    fn as_value_function(&mut self) -> Option<&mut dyn ValueFunctionAPI> {
        Some(self)
    }
}

impl ValueFunctionAPI for ObsValueModule {
    fn compute_values(&mut self, obs: ArrayView2<f32>) -> Result<Array1<f32>, ModuleError> {
        Ok(obs.column(0).mapv(|x| (self.value)(x)))
    }
}
