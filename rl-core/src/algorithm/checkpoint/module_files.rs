//! One trained module's files in a checkpoint, in the layout every algorithm shares
//! (RLlib's `learner/module/<module_id>/` and `learner/optimizer/<module_id>/`): its weights
//! and its Adam optimizer. A [`ModuleLearner`] is saved and read with
//! [`write_module_learner`] and [`read_module_learner`]; another learner uses the four calls
//! below them and adds its own files beside them (PPO's KL coefficient, a replay buffer).
//!
//! ```text
//! learner/module/default_policy/weights.safetensors          the weights under their names
//! learner/optimizer/default_policy/optimizer.json            Adam's scalars
//! learner/optimizer/default_policy/adam_moments.safetensors  exp_avg.<name>, exp_avg_sq.<name>
//! ```

use rl_nn::{Adam, ParamStore};

use crate::learner::ModuleLearner;
use crate::module::RLModule;

use super::{
    encode_adam_moments, encode_params, load_params, read_adam, AdamScalars, CheckpointError,
    CheckpointReader, CheckpointWriter,
};

/// The module's weights.
pub const MODULE_WEIGHTS_FILE: &str = "learner/module/default_policy/weights.safetensors";
/// Adam's scalars (learning rate, betas, ε, step count).
pub const OPTIMIZER_STATE_FILE: &str = "learner/optimizer/default_policy/optimizer.json";
/// Adam's moments.
pub const OPTIMIZER_MOMENTS_FILE: &str =
    "learner/optimizer/default_policy/adam_moments.safetensors";

/// Writes the module's weights (its parameters under their names, torch's shapes).
pub fn write_module_weights(
    w: &mut CheckpointWriter,
    params: &ParamStore,
) -> Result<(), CheckpointError> {
    w.write(MODULE_WEIGHTS_FILE, &encode_params(params))
}

/// Reads the module's weights into `params`, which must have the same parameter names and
/// shapes (a checkpoint of another architecture is refused, naming the tensor); on error
/// `params` is unchanged.
pub fn read_module_weights(
    r: &CheckpointReader,
    params: &mut ParamStore,
) -> Result<(), CheckpointError> {
    load_params(r, MODULE_WEIGHTS_FILE, params)
}

/// Writes the state of the Adam optimizer that trains `params`.
pub fn write_optimizer(
    w: &mut CheckpointWriter,
    adam: &Adam,
    params: &ParamStore,
) -> Result<(), CheckpointError> {
    w.write_json(OPTIMIZER_STATE_FILE, &AdamScalars::of(adam))?;
    w.write(OPTIMIZER_MOMENTS_FILE, &encode_adam_moments(adam, params))
}

/// Reads the Adam optimizer that trains `params`, its moments checked against them.
pub fn read_optimizer(r: &CheckpointReader, params: &ParamStore) -> Result<Adam, CheckpointError> {
    let scalars: AdamScalars = r.read_json(OPTIMIZER_STATE_FILE)?;
    read_adam(
        r,
        OPTIMIZER_STATE_FILE,
        &scalars,
        OPTIMIZER_MOMENTS_FILE,
        params,
    )
}

/// A [`ModuleLearner`]'s state as read from a checkpoint and checked against the learner:
/// apply it with [`ModuleLearnerState::apply_to`].
#[derive(Debug)]
pub struct ModuleLearnerState {
    params: ParamStore,
    optimizer: Adam,
}

impl ModuleLearnerState {
    /// Gives `learner` the checkpoint's parameters and optimizer.
    pub fn apply_to<M: RLModule>(
        self,
        learner: &mut ModuleLearner<M>,
    ) -> Result<(), CheckpointError> {
        learner
            .set_state(&self.params, self.optimizer)
            .map_err(|e| CheckpointError::malformed(MODULE_WEIGHTS_FILE, e.to_string()))
    }
}

/// Writes a [`ModuleLearner`]'s module weights and optimizer.
pub fn write_module_learner<M: RLModule>(
    w: &mut CheckpointWriter,
    learner: &ModuleLearner<M>,
) -> Result<(), CheckpointError> {
    let params = learner.module().params();
    write_module_weights(w, params)?;
    write_optimizer(w, learner.optimizer(), params)
}

/// Reads the state [`write_module_learner`] wrote, checked against `learner` (same
/// parameter names and shapes, moments to match) without changing it.
pub fn read_module_learner<M: RLModule>(
    r: &CheckpointReader,
    learner: &ModuleLearner<M>,
) -> Result<ModuleLearnerState, CheckpointError> {
    let mut params = learner.module().params().clone();
    read_module_weights(r, &mut params)?;
    let optimizer = read_optimizer(r, &params)?;
    Ok(ModuleLearnerState { params, optimizer })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use ndarray::array;

    use super::*;
    use crate::algorithm::checkpoint::Metadata;
    use crate::connectors::Pipeline;
    use crate::env::Space;
    use crate::learner::module_learner::test_support::TinyModule;
    use crate::learner::{Learner, LearnerError, Loss, TrainBatch};

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rl-module-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn meta() -> Metadata {
        crate::algorithm::checkpoint::tests::meta_with(
            Space::box_uniform(-1.0, 1.0, vec![2]).unwrap(),
        )
    }

    fn learner(hidden: Vec<usize>, seed: u64) -> ModuleLearner<TinyModule> {
        let module = TinyModule::new(2, hidden, seed);
        ModuleLearner::new(module, Pipeline::default(), Adam::new(0.01), Some(1.0))
    }

    fn step(l: &mut ModuleLearner<TinyModule>) {
        let batch = TrainBatch {
            obs: array![[0.5, -1.0], [1.0, 0.25]],
            ..Default::default()
        };
        let loss =
            |t: &mut rl_nn::Tape, m: &TinyModule, b: &TrainBatch| -> Result<Loss, LearnerError> {
                let obs = t.constant(b.obs.view());
                let y = m.net.forward(t, &m.params, obs);
                let y2 = t.square(y);
                Ok((t.mean(y2), vec![]))
            };
        l.update(&batch, loss).unwrap();
    }

    #[test]
    fn a_module_learner_round_trips_and_another_architecture_is_refused() {
        let dir = tmp("roundtrip");
        let mut saved = learner(vec![4], 0);
        step(&mut saved);
        step(&mut saved);
        let mut w = CheckpointWriter::begin(&dir).unwrap();
        write_module_learner(&mut w, &saved).unwrap();
        w.commit(meta()).unwrap();
        let r = CheckpointReader::open(&dir).unwrap();

        let mut restored = learner(vec![4], 7);
        assert_ne!(restored.get_weights(), saved.get_weights());
        let state = read_module_learner(&r, &restored).unwrap();
        state.apply_to(&mut restored).unwrap();
        assert_eq!(restored.get_weights(), saved.get_weights());
        assert_eq!(restored.optimizer(), saved.optimizer());
        // Both continue alike.
        step(&mut saved);
        step(&mut restored);
        assert_eq!(restored.get_weights(), saved.get_weights());

        let other = learner(vec![5], 0);
        let e = read_module_learner(&r, &other).unwrap_err();
        assert!(e.to_string().contains(MODULE_WEIGHTS_FILE), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn before_the_first_step_there_are_no_moments_and_that_round_trips_too() {
        let dir = tmp("fresh");
        let fresh = learner(vec![3], 1);
        let mut w = CheckpointWriter::begin(&dir).unwrap();
        write_module_learner(&mut w, &fresh).unwrap();
        w.commit(meta()).unwrap();
        let r = CheckpointReader::open(&dir).unwrap();
        let mut other = learner(vec![3], 2);
        read_module_learner(&r, &other)
            .unwrap()
            .apply_to(&mut other)
            .unwrap();
        assert_eq!(other.optimizer(), fresh.optimizer());
        assert_eq!(other.get_weights(), fresh.get_weights());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
