//! PPO's part of a checkpoint: the module (architecture and weights) and the learner (Adam,
//! KL coefficient, shuffling RNG), under `learner/`. The driver writes the rest
//! (`rl_core::algorithm::Driver::save_to_path`), and [`load_module`] reads the module alone.
//!
//! ```text
//! learner/learner_state.json                      KL coefficient, shuffling RNG, Adam scalars
//! learner/module/default_policy/module_config.json   the module's architecture
//! learner/module/default_policy/weights.safetensors  the module's weights (RLlib's names)
//! learner/optimizer/default_policy/adam_moments.safetensors   exp_avg.*, exp_avg_sq.*
//! ```

use std::path::Path;

use rand::SeedableRng;
use rl_core::algorithm::checkpoint::{
    self as ckpt, AdamScalars, CheckpointError, CheckpointReader, CheckpointWriter, RngState,
};
use rl_core::algorithm::{AlgorithmError, DEFAULT_MODULE_ID};
use rl_core::Rng;
use serde::{Deserialize, Serialize};

use super::learner::{LearnerState, PPOLearner};
use super::module::{PPOModule, PPOModuleConfig};

/// The algorithm name in `metadata.json`.
pub const ALGORITHM: &str = "PPO";
/// The module id (RLlib's `DEFAULT_MODULE_ID`).
pub const MODULE_ID: &str = DEFAULT_MODULE_ID;
/// The learner's scalars and RNG.
pub const LEARNER_STATE_FILE: &str = "learner/learner_state.json";
/// The module's architecture.
pub const MODULE_CONFIG_FILE: &str = "learner/module/default_policy/module_config.json";
/// The module's weights.
pub const MODULE_WEIGHTS_FILE: &str = "learner/module/default_policy/weights.safetensors";
/// Adam's moments.
pub const OPTIMIZER_MOMENTS_FILE: &str =
    "learner/optimizer/default_policy/adam_moments.safetensors";

/// `learner/learner_state.json`.
#[derive(Serialize, Deserialize)]
struct LearnerStateFile {
    curr_kl_coeff: f64,
    shuffle_rng: RngState,
    optimizer: AdamScalars,
}

/// PPO's state as read from a checkpoint and validated: the module and the learner state.
#[derive(Debug)]
pub struct PPOState {
    module: PPOModule,
    learner: LearnerState,
}

/// Writes the module and the learner state.
pub(super) fn write(learner: &PPOLearner, w: &mut CheckpointWriter) -> Result<(), AlgorithmError> {
    let module = learner.module();
    w.write_json(MODULE_CONFIG_FILE, module.config())?;
    w.write(MODULE_WEIGHTS_FILE, &ckpt::encode_params(module.params()))?;
    let ls = learner.state();
    let shuffle_rng = RngState::of(&ls.rng)
        .map_err(|e| CheckpointError::malformed(w.final_dir().join(LEARNER_STATE_FILE), e))?;
    w.write_json(
        LEARNER_STATE_FILE,
        &LearnerStateFile {
            curr_kl_coeff: ls.curr_kl_coeff,
            shuffle_rng,
            optimizer: AdamScalars::of(&ls.optimizer),
        },
    )?;
    w.write(
        OPTIMIZER_MOMENTS_FILE,
        &ckpt::encode_adam_moments(&ls.optimizer, module.params()),
    )?;
    Ok(())
}

/// Reads and checks the module (same architecture as `own`) and the learner state.
pub(super) fn read(reader: &CheckpointReader, own: &PPOModule) -> Result<PPOState, AlgorithmError> {
    let module = read_module(reader)?;
    if module.config() != own.config() {
        return Err(CheckpointError::malformed(
            reader.path(MODULE_CONFIG_FILE),
            format!(
                "the checkpoint's module is {:?} but this algorithm's is {:?}; build the algorithm with the checkpoint's model_config (or use PPO::from_checkpoint)",
                module.config(),
                own.config()
            ),
        )
        .into());
    }
    let ls: LearnerStateFile = reader.read_json(LEARNER_STATE_FILE)?;
    let rng = ls
        .shuffle_rng
        .to_rng()
        .map_err(|r| CheckpointError::malformed(reader.path(LEARNER_STATE_FILE), r))?;
    let optimizer = ckpt::read_adam(
        reader,
        LEARNER_STATE_FILE,
        &ls.optimizer,
        OPTIMIZER_MOMENTS_FILE,
        module.params(),
    )?;
    let learner = LearnerState {
        optimizer,
        curr_kl_coeff: ls.curr_kl_coeff,
        rng,
    };
    Ok(PPOState { module, learner })
}

/// Applies a state from [`read`].
pub(super) fn apply(learner: &mut PPOLearner, state: PPOState) -> Result<(), AlgorithmError> {
    learner
        .module_mut()
        .params_mut()
        .copy_from(state.module.params())
        .map_err(|e| CheckpointError::malformed(MODULE_WEIGHTS_FILE, e.to_string()))?;
    learner.set_state(state.learner);
    Ok(())
}

/// Reads only the module component of a checkpoint (`learner/module/default_policy/`):
/// its architecture and weights. Needs neither the learner's nor the env runners' files.
pub fn load_module(dir: impl AsRef<Path>) -> Result<PPOModule, AlgorithmError> {
    let reader = CheckpointReader::open(dir)?;
    reader.expect_algorithm(ALGORITHM)?;
    read_module(&reader)
}

pub(crate) fn read_module(reader: &CheckpointReader) -> Result<PPOModule, AlgorithmError> {
    crate::checkpoint_io::check_module_listed(reader)?;
    let config: PPOModuleConfig = reader.read_json(MODULE_CONFIG_FILE)?;
    let bad_config = |r: String| CheckpointError::malformed(reader.path(MODULE_CONFIG_FILE), r);
    if config.obs_dim == 0
        || config.action_dim == 0
        || config.obs_dim > 1 << 20
        || config.action_dim > 1 << 20
        || config.hiddens.len() > 64
        || config.hiddens.iter().any(|&h| h == 0 || h > 1 << 16)
    {
        return Err(bad_config(format!("implausible module architecture {config:?}")).into());
    }
    // The weights file must be able to hold the architecture: refuse before allocating.
    let weights_bytes = reader.listed_bytes(MODULE_WEIGHTS_FILE).unwrap_or(0);
    let dims = std::iter::once(config.obs_dim)
        .chain(config.hiddens.iter().copied())
        .chain(std::iter::once(config.action_dim));
    if !ckpt::fits_in(dims, weights_bytes) {
        return Err(bad_config(format!(
            "the architecture {config:?} needs more weights than {MODULE_WEIGHTS_FILE} ({weights_bytes} bytes) holds"
        ))
        .into());
    }
    let mut rng = Rng::seed_from_u64(0);
    let mut module = PPOModule::new(&config, &mut rng)
        .map_err(|e| bad_config(format!("cannot build the module: {e}")))?;
    ckpt::read_module_weights(reader, module.params_mut())?;
    Ok(module)
}
