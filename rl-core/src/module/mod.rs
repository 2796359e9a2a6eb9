//! Modules: RLlib's `RLModule` split by who uses it.
//!
//! - [`RLModule`] is the acting side every algorithm's module has: env runners call
//!   `forward_exploration` (training rollouts) or `forward_inference` (greedy evaluation),
//!   and the module→env connectors turn the returned action-distribution inputs into
//!   actions with the module's [`ActionDistribution`].
//! - The training side is algorithm-specific and comes as optional APIs, as in RLlib:
//!   [`ValueFunctionAPI`] (a critic, for GAE), [`QNetAPI`] (Q-values, for DQN-style
//!   losses), [`TargetNetworkAPI`] (a target network). A module implements the ones its
//!   algorithm needs; a DQN module has no critic, a PPO module no target network.
//!   Connectors reach them through [`RLModule::as_value_function`] and friends.
//!
//! Each algorithm's learner records its loss on an autodiff tape with its own module type;
//! nothing here fixes the shape of a training forward pass.

use std::sync::Arc;

use ndarray::{Array1, Array2, ArrayView2};
use rl_nn::{ActionDistribution, ParamStore, Tape, Var};

/// Errors from modules.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
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
    /// A forward pass failed (an input that does not fit a layer).
    #[error("forward pass: {0}")]
    Nn(#[from] rl_nn::NnError),
}

/// The acting side of a module (RLlib's `RLModule` as env runners use it): observations in,
/// action-distribution inputs out, through plain arrays (no autodiff).
///
/// `forward_exploration` (training rollouts) and `forward_inference` (greedy evaluation)
/// return one row of action-distribution inputs per observation; the module→env pipeline
/// samples or picks an action from them with [`action_dist`](RLModule::action_dist) and
/// records its log-probability. For a Q-learning module the "distribution inputs" are the
/// Q-values and its exploration connector (e.g. epsilon-greedy) picks the action.
pub trait RLModule: Send {
    /// The distribution the action-distribution inputs parameterize.
    fn action_dist(&self) -> Arc<dyn ActionDistribution>;
    /// Width of one observation row the module takes.
    fn obs_dim(&self) -> usize;
    /// Width of one row of action-distribution inputs.
    fn dist_dim(&self) -> usize;
    /// Action-distribution inputs for greedy action selection (evaluation).
    fn forward_inference(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError>;
    /// Action-distribution inputs for exploring (training rollouts). By default the same as
    /// [`forward_inference`](RLModule::forward_inference) (RLlib: both default to
    /// `_forward`): a stochastic policy explores by sampling from the same distribution
    /// that greedy evaluation takes the mode of.
    fn forward_exploration(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
        self.forward_inference(obs)
    }
    /// The parameters the env runners need, by name (what weight syncs carry).
    fn params(&self) -> &ParamStore;
    /// The parameters, mutably (weight syncs write them).
    fn params_mut(&mut self) -> &mut ParamStore;
    /// Number of parameters.
    fn num_trainable_parameters(&self) -> usize {
        self.params().num_scalars()
    }
    /// All weights, flattened in the module's fixed parameter order.
    fn get_weights(&self) -> Vec<f32> {
        let mut w = Vec::with_capacity(self.params().num_scalars());
        for (_, _, v) in self.params().iter() {
            match v.as_slice() {
                Some(s) => w.extend_from_slice(s),
                None => w.extend(v.iter().copied()),
            }
        }
        w
    }
    /// Sets all weights from [`get_weights`](RLModule::get_weights)' layout.
    fn set_weights(&mut self, weights: &[f32]) -> Result<(), ModuleError> {
        let total = self.params().num_scalars();
        if weights.len() != total {
            return Err(ModuleError::Weights(format!(
                "{} numbers given, the module has {total} parameters",
                weights.len()
            )));
        }
        let mut offset = 0;
        for v in self.params_mut().values_mut() {
            let n = v.len();
            let src = &weights[offset..offset + n];
            match v.as_slice_mut() {
                Some(d) => d.copy_from_slice(src),
                None => v.iter_mut().zip(src).for_each(|(d, &s)| *d = s),
            }
            offset += n;
        }
        Ok(())
    }
    /// A boxed copy (env runners each hold one).
    fn clone_module(&self) -> Box<dyn RLModule>;
    /// The module's critic, if it has one (RLlib's `ValueFunctionAPI` check).
    fn as_value_function(&mut self) -> Option<&mut dyn ValueFunctionAPI> {
        None
    }
}

/// A module with a critic (RLlib's `ValueFunctionAPI`): what GAE needs.
pub trait ValueFunctionAPI {
    /// The critic's value for each observation row (no gradient).
    fn compute_values(&mut self, obs: ArrayView2<f32>) -> Result<Array1<f32>, ModuleError>;
}

/// A module with Q-values (RLlib's `QNetAPI`): what a DQN-style loss needs.
pub trait QNetAPI {
    /// Q-values of every action for each observation row, recorded on `tape`
    /// (`B × num_actions`), for the loss.
    fn q_values_train(&self, tape: &mut Tape, obs: Var) -> Var;
}

/// A module with target networks (RLlib's `TargetNetworkAPI`).
pub trait TargetNetworkAPI {
    /// The target network's outputs (for DQN: Q-values) for each observation row, no
    /// gradient.
    fn forward_target(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError>;
    /// Moves the target networks towards the online ones: `target ← τ·online + (1 − τ)·target`
    /// (`tau = 1`: a copy).
    fn sync_target_networks(&mut self, tau: f32);
}
