//! DQN's part of a checkpoint: the module (architecture, online and target weights), the
//! learner (Adam, target-update bookkeeping), the replay sampler's RNG and — with
//! `store_buffer_in_checkpoints` — the replay buffer. The driver writes the rest
//! (`rl_core::algorithm::Driver::save_to_path`).
//!
//! ```text
//! learner/learner_state.json                          Adam scalars, target updates, replay RNG
//! learner/module/default_policy/module_config.json    the module's architecture
//! learner/module/default_policy/weights.safetensors   online weights (RLlib's names)
//! learner/module/default_policy/target_weights.safetensors   _target_encoder.…, _target_af.…, _target_vf.…
//! learner/optimizer/default_policy/adam_moments.safetensors  exp_avg.*, exp_avg_sq.*
//! replay_buffer/buffer_state.json                     the buffer without its columns
//! replay_buffer/buffer_columns.safetensors            its f32 columns
//! ```
//!
//! Restoring a checkpoint without the buffer (saved with `store_buffer_in_checkpoints =
//! false`), or into an algorithm whose config does not ask for it, keeps the algorithm's
//! own buffer — empty for [`Driver::from_checkpoint`](rl_core::algorithm::Driver::from_checkpoint)
//! — which is what RLlib 2.60's new stack always does (its `Algorithm.get_state` never
//! holds the buffer, whatever `store_buffer_in_checkpoints` says); training then continues
//! from the restored weights with fresh replay data and does not repeat an uninterrupted
//! run.

use rand::SeedableRng;
use rl_core::algorithm::checkpoint::{
    self as ckpt, AdamScalars, CheckpointError, CheckpointReader, CheckpointWriter, RngState,
};
use rl_core::algorithm::AlgorithmError;
use rl_core::replay::EncodedState;
use rl_core::Rng;
use rl_nn::Adam;
use serde::{Deserialize, Serialize};

use super::learner::TargetUpdateState;
use super::module::{DQNModule, DQNModuleConfig};
use super::replay::ReplayBuffer;

/// The algorithm name in `metadata.json`.
pub const ALGORITHM: &str = "DQN";
/// The learner's scalars and the replay RNG.
pub const LEARNER_STATE_FILE: &str = "learner/learner_state.json";
/// The module's architecture.
pub const MODULE_CONFIG_FILE: &str = "learner/module/default_policy/module_config.json";
/// The online network's weights.
pub const MODULE_WEIGHTS_FILE: &str = "learner/module/default_policy/weights.safetensors";
/// The target networks' weights.
pub const TARGET_WEIGHTS_FILE: &str = "learner/module/default_policy/target_weights.safetensors";
/// Adam's moments.
pub const OPTIMIZER_MOMENTS_FILE: &str =
    "learner/optimizer/default_policy/adam_moments.safetensors";
/// The replay buffer without its columns.
pub const BUFFER_STATE_FILE: &str = "replay_buffer/buffer_state.json";
/// The replay buffer's f32 columns.
pub const BUFFER_COLUMNS_FILE: &str = "replay_buffer/buffer_columns.safetensors";

/// The target networks' names in checkpoints: RLlib's `_target_encoder.net.mlp.0.weight`, ….
fn target_name(name: &str) -> String {
    format!("_target_{name}")
}

/// `learner/learner_state.json`.
#[derive(Serialize, Deserialize)]
struct LearnerStateFile {
    target_updates: TargetUpdateState,
    optimizer: AdamScalars,
    replay_rng: RngState,
    /// Whether the checkpoint holds the replay buffer.
    replay_buffer_stored: bool,
}

/// What DQN's logic saves, borrowed.
pub(super) struct Saved<'a> {
    pub module: &'a DQNModule,
    pub optimizer: &'a Adam,
    pub target_updates: &'a TargetUpdateState,
    pub replay_rng: &'a Rng,
    /// The buffer, when `store_buffer_in_checkpoints`.
    pub buffer: Option<&'a ReplayBuffer>,
}

/// DQN's state as read from a checkpoint and validated.
#[derive(Debug)]
pub struct DQNState {
    pub(super) module: DQNModule,
    pub(super) optimizer: Adam,
    pub(super) target_updates: TargetUpdateState,
    pub(super) replay_rng: Rng,
    /// The buffer, when the checkpoint holds one and this algorithm's config asks for it.
    pub(super) buffer: Option<ReplayBuffer>,
}

/// Writes the module, the learner state and (if given) the buffer.
pub(super) fn write(s: Saved<'_>, w: &mut CheckpointWriter) -> Result<(), AlgorithmError> {
    let params = s.module.params();
    w.write_json(MODULE_CONFIG_FILE, s.module.config())?;
    w.write(MODULE_WEIGHTS_FILE, &ckpt::encode_params(params))?;
    let target = s.module.target_params().ok_or_else(|| {
        CheckpointError::malformed(
            TARGET_WEIGHTS_FILE,
            "the learner's module has no target networks",
        )
    })?;
    let entries: Vec<_> = target.iter().map(|(_, n, v)| (target_name(n), v)).collect();
    w.write(TARGET_WEIGHTS_FILE, &ckpt::encode_arrays(&entries))?;
    w.write(
        OPTIMIZER_MOMENTS_FILE,
        &ckpt::encode_adam_moments(s.optimizer, params),
    )?;
    let replay_rng = RngState::of(s.replay_rng)
        .map_err(|e| CheckpointError::malformed(w.final_dir().join(LEARNER_STATE_FILE), e))?;
    w.write_json(
        LEARNER_STATE_FILE,
        &LearnerStateFile {
            target_updates: s.target_updates.clone(),
            optimizer: AdamScalars::of(s.optimizer),
            replay_rng,
            replay_buffer_stored: s.buffer.is_some(),
        },
    )?;
    if let Some(buffer) = s.buffer {
        let encoded = buffer.encode()?;
        w.write(BUFFER_STATE_FILE, &encoded.json)?;
        w.write(BUFFER_COLUMNS_FILE, &encoded.safetensors)?;
    }
    Ok(())
}

/// Reads and checks everything: the module must have `own`'s architecture; the buffer is
/// read (and must be of `own_buffer`'s kind and capacity) only when `want_buffer` and the
/// checkpoint holds one.
pub(super) fn read(
    reader: &CheckpointReader,
    own: &DQNModule,
    own_buffer: &ReplayBuffer,
    want_buffer: bool,
) -> Result<DQNState, AlgorithmError> {
    let mut module = read_module(reader)?;
    if module.config() != own.config() {
        return Err(CheckpointError::malformed(
            reader.path(MODULE_CONFIG_FILE),
            format!(
                "the checkpoint's module is {:?} but this algorithm's is {:?}; build the algorithm with the checkpoint's model_config and dueling (or use DQN::from_checkpoint)",
                module.config(),
                own.config()
            ),
        )
        .into());
    }
    let tensors = reader.read_safetensors(TARGET_WEIGHTS_FILE)?;
    let target = ckpt::arrays_for_params(tensors, module.params(), target_name)
        .map_err(|r| CheckpointError::malformed(reader.path(TARGET_WEIGHTS_FILE), r))?;
    module.make_target_networks();
    if let Some(t) = module.target_params_mut() {
        for (dst, src) in t.values_mut().iter_mut().zip(target) {
            *dst = src;
        }
    }
    let ls: LearnerStateFile = reader.read_json(LEARNER_STATE_FILE)?;
    let bad_state = |r: String| CheckpointError::malformed(reader.path(LEARNER_STATE_FILE), r);
    let replay_rng = ls.replay_rng.to_rng().map_err(bad_state)?;
    let optimizer = ckpt::read_adam(
        reader,
        LEARNER_STATE_FILE,
        &ls.optimizer,
        OPTIMIZER_MOMENTS_FILE,
        module.params(),
    )?;
    let buffer = if want_buffer && ls.replay_buffer_stored {
        let encoded = EncodedState {
            json: reader.read(BUFFER_STATE_FILE)?,
            safetensors: reader.read(BUFFER_COLUMNS_FILE)?,
        };
        let buffer = own_buffer.decoded_like(&encoded).map_err(|e| {
            CheckpointError::malformed(reader.path(BUFFER_STATE_FILE), e.to_string())
        })?;
        if buffer.capacity() != own_buffer.capacity() {
            return Err(CheckpointError::malformed(
                reader.path(BUFFER_STATE_FILE),
                format!(
                    "the checkpoint's buffer holds {} env steps, this algorithm's replay_buffer_config says {}; restore with the checkpoint's capacity",
                    buffer.capacity(),
                    own_buffer.capacity()
                ),
            )
            .into());
        }
        Some(buffer)
    } else {
        None
    };
    Ok(DQNState {
        module,
        optimizer,
        target_updates: ls.target_updates,
        replay_rng,
        buffer,
    })
}

/// Reads the online module alone (`learner/module/default_policy/`): its architecture and
/// weights, without target networks.
pub(crate) fn read_module(reader: &CheckpointReader) -> Result<DQNModule, AlgorithmError> {
    crate::checkpoint_io::check_module_listed(reader)?;
    let config: DQNModuleConfig = reader.read_json(MODULE_CONFIG_FILE)?;
    let bad_config = |r: String| CheckpointError::malformed(reader.path(MODULE_CONFIG_FILE), r);
    let plausible = |n: usize| n > 0 && n <= 1 << 16;
    if !(plausible(config.obs_dim)
        && plausible(config.num_actions)
        && config.hiddens.len() <= 64
        && config.head_hiddens.len() <= 64
        && config
            .hiddens
            .iter()
            .chain(&config.head_hiddens)
            .all(|&h| plausible(h)))
    {
        return Err(bad_config(format!("implausible module architecture {config:?}")).into());
    }
    // The weights file must be able to hold the architecture (the encoder and the
    // advantage head at least): refuse before allocating.
    let weights_bytes = reader.listed_bytes(MODULE_WEIGHTS_FILE).unwrap_or(0);
    let dims = std::iter::once(config.obs_dim)
        .chain(config.hiddens.iter().copied())
        .chain(config.head_hiddens.iter().copied())
        .chain(std::iter::once(config.num_actions));
    if !ckpt::fits_in(dims, weights_bytes) {
        return Err(bad_config(format!(
            "the architecture {config:?} needs more weights than {MODULE_WEIGHTS_FILE} ({weights_bytes} bytes) holds"
        ))
        .into());
    }
    let mut rng = Rng::seed_from_u64(0);
    let mut module = DQNModule::new(&config, &mut rng)
        .map_err(|e| bad_config(format!("cannot build the module: {e}")))?;
    ckpt::read_module_weights(reader, module.params_mut())?;
    Ok(module)
}
