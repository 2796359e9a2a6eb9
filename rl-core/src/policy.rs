//! The `Policy` trait: RLlib's `RLModule` as env runners and learner connectors use it.

use ndarray::{Array1, Array2, ArrayView2};
use rl_nn::distributions::ActionDistKind;
use rl_nn::{ParamStore, Tape, Var};

/// Errors from policies (modules).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// An input batch has the wrong width.
    #[error("observation batch has {got} columns but the module takes {expected}")]
    ObsWidth {
        /// Columns the module expects.
        expected: usize,
        /// Columns given.
        got: usize,
    },
    /// A weight vector or parameter does not fit the module.
    #[error("weights do not fit the module: {0}")]
    Weights(String),
}

/// A module that maps observations to action-distribution inputs and values, as RLlib's
/// `RLModule` with its three forward passes.
///
/// Acting goes through plain arrays (no autodiff): `forward_inference` (greedy evaluation)
/// and `forward_exploration` (training rollouts) return the action-distribution inputs, and
/// the module→env connectors sample or pick from them (RLlib's `GetActions`), computing the
/// log-probabilities the learner needs. `forward_train` records the same computation on an
/// autodiff [`Tape`] for the loss; `compute_values` is the critic.
pub trait Policy: Send {
    /// What the distribution inputs parameterize.
    fn dist_kind(&self) -> ActionDistKind;
    /// Width of one observation row the module takes.
    fn obs_dim(&self) -> usize;
    /// Width of one row of action-distribution inputs.
    fn dist_dim(&self) -> usize;
    /// Action-distribution inputs for greedy action selection (evaluation).
    fn forward_inference(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, PolicyError>;
    /// Action-distribution inputs for sampling (training rollouts).
    fn forward_exploration(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, PolicyError>;
    /// The critic's value for each observation row.
    fn compute_values(&mut self, obs: ArrayView2<f32>) -> Result<Array1<f32>, PolicyError>;
    /// RLlib's `forward_train`: the pass on `tape`, from an observation batch `obs`
    /// (`B × obs_dim`) to `(action_dist_inputs B × dist_dim, values B × 1)`.
    fn forward_train(&self, tape: &mut Tape, obs: Var) -> (Var, Var);
    /// The trainable parameters, by name.
    fn params(&self) -> &ParamStore;
    /// The trainable parameters, mutably (optimizers step them).
    fn params_mut(&mut self) -> &mut ParamStore;
    /// Number of trainable parameters.
    fn num_trainable_parameters(&self) -> usize {
        self.params().num_scalars()
    }
    /// All weights, flattened in the module's fixed parameter order.
    fn get_weights(&self) -> Vec<f32> {
        let mut w = Vec::with_capacity(self.params().num_scalars());
        for (_, _, v) in self.params().iter() {
            w.extend(v.iter().copied());
        }
        w
    }
    /// Sets all weights from [`get_weights`](Policy::get_weights)' layout.
    fn set_weights(&mut self, weights: &[f32]) -> Result<(), PolicyError> {
        let total = self.params().num_scalars();
        if weights.len() != total {
            return Err(PolicyError::Weights(format!(
                "{} numbers given, the module has {total} parameters",
                weights.len()
            )));
        }
        let mut offset = 0;
        for v in self.params_mut().values_mut() {
            let n = v.len();
            v.iter_mut()
                .zip(&weights[offset..offset + n])
                .for_each(|(d, &s)| *d = s);
            offset += n;
        }
        Ok(())
    }
    /// A boxed copy (env runners each hold one).
    fn clone_policy(&self) -> Box<dyn Policy>;
}
