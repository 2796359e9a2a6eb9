//! `PPOModule`: RLlib's default PPO RLModule (`DefaultPPOTorchRLModule`): by default
//! (`vf_share_layers=False`) separate actor and critic encoder MLPs; with
//! `vf_share_layers=True` one encoder feeding both heads. A `pi` head produces the
//! action-distribution inputs and a `vf` head one value.
//!
//! Parameter names are RLlib's, so RLlib's weights load as they are:
//! `encoder.actor_encoder.net.mlp.{0,2,…}.{weight,bias}`,
//! `encoder.critic_encoder.net.mlp.{0,2,…}.{weight,bias}` (or one
//! `encoder.encoder.net.mlp.{0,2,…}` when shared), `pi.net.mlp.0.{weight,bias}`,
//! `vf.net.mlp.0.{weight,bias}` (torch `nn.Sequential` indexing: activations take the odd
//! indices). Linear weights are `[out, in]`.

use ndarray::{Array1, Array2, ArrayView2};
use rl_core::algorithm::ModelConfig;
use rl_core::env::space::Space;
use rl_nn::{
    ActionDistKind, Activation, Init, Mlp, MlpConfig, NnError, ParamStore, Rng, Tape, Var,
    Workspace,
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors building a [`PPOModule`].
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// The observation or action space is not supported (e.g. an empty Box).
    #[error("unsupported space: {0}")]
    UnsupportedSpace(String),
    /// An invalid model setting (unknown activation or initializer, shared layers).
    #[error("invalid model config: {0}")]
    Config(String),
    /// From the parameter store.
    #[error(transparent)]
    Nn(#[from] NnError),
}

/// How the module's layers are initialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModuleInit {
    /// PyTorch's `nn.Linear` default (RLlib's default): `U(±1/√fan_in)` weights and biases.
    #[default]
    TorchDefault,
    /// CleanRL's: orthogonal weights with gain √2 in the encoders, 0.01 in `pi`, 1.0 in
    /// `vf`; zero biases.
    Orthogonal,
    /// Xavier-uniform weights (gain 1), zero biases.
    Xavier,
}

/// The architecture of a [`PPOModule`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PPOModuleConfig {
    /// Observation width (flattened).
    pub obs_dim: usize,
    /// The action distribution.
    pub dist_kind: ActionDistKind,
    /// Number of actions for `Categorical`, action dimension `d` for `DiagGaussian`.
    pub action_dim: usize,
    /// Encoder hidden sizes (RLlib's `fcnet_hiddens`, default `[256, 256]`).
    pub hiddens: Vec<usize>,
    /// Encoder activation (default tanh).
    pub activation: Activation,
    /// Initialization.
    pub init: ModuleInit,
    /// One encoder for the actor and the critic (RLlib's `vf_share_layers`, default false).
    #[serde(default)]
    pub vf_share_layers: bool,
}

impl PPOModuleConfig {
    /// RLlib's defaults (`[256, 256]`, tanh, torch init) for the given sizes.
    pub fn new(obs_dim: usize, dist_kind: ActionDistKind, action_dim: usize) -> Self {
        PPOModuleConfig {
            obs_dim,
            dist_kind,
            action_dim,
            hiddens: vec![256, 256],
            activation: Activation::Tanh,
            init: ModuleInit::TorchDefault,
            vf_share_layers: false,
        }
    }
}

/// Reused buffers of the no-grad forwards.
#[derive(Clone, Debug, Default)]
struct Scratch {
    ws: Workspace,
    h: Array2<f32>,
    out: Array2<f32>,
}

/// RLlib's default PPO module: actor encoder → `pi`, critic encoder → `vf` (or one shared
/// encoder → both heads).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PPOModule {
    config: PPOModuleConfig,
    params: ParamStore,
    /// The actor's encoder, or the shared one.
    actor_encoder: Mlp,
    /// The critic's own encoder; `None` when the layers are shared.
    critic_encoder: Option<Mlp>,
    pi: Mlp,
    vf: Mlp,
    #[serde(skip)]
    scratch: Scratch,
}

impl PPOModule {
    /// Builds the module and initializes its parameters from `rng` (actor encoder, critic
    /// encoder, `pi`, `vf`, in that order — RLlib's parameter order; the shared encoder
    /// first when `vf_share_layers`).
    pub fn new(config: &PPOModuleConfig, rng: &mut Rng) -> Result<Self, ModuleError> {
        if config.obs_dim == 0 || config.action_dim == 0 {
            return Err(ModuleError::UnsupportedSpace(
                "zero-sized observation or action".into(),
            ));
        }
        if config.hiddens.contains(&0) {
            return Err(ModuleError::Config(format!(
                "hidden sizes {:?} must be positive",
                config.hiddens
            )));
        }
        let (hidden_init, pi_init, vf_init) = match config.init {
            ModuleInit::TorchDefault => {
                (Init::TorchDefault, Init::TorchDefault, Init::TorchDefault)
            }
            ModuleInit::Orthogonal => (
                Init::Orthogonal {
                    gain: std::f32::consts::SQRT_2,
                },
                Init::Orthogonal { gain: 0.01 },
                Init::Orthogonal { gain: 1.0 },
            ),
            ModuleInit::Xavier => (
                Init::XavierUniform { gain: 1.0 },
                Init::XavierUniform { gain: 1.0 },
                Init::XavierUniform { gain: 1.0 },
            ),
        };
        let mut params = ParamStore::new();
        let encoder = |init| MlpConfig {
            in_dim: config.obs_dim,
            hidden: config.hiddens.clone(),
            activation: config.activation,
            output_dim: None,
            hidden_init: init,
            output_init: init,
        };
        let feat = config.hiddens.last().copied().unwrap_or(config.obs_dim);
        let head = |out, init| MlpConfig {
            in_dim: feat,
            hidden: vec![],
            activation: Activation::Linear,
            output_dim: Some(out),
            hidden_init: init,
            output_init: init,
        };
        let (actor_encoder, critic_encoder) = if config.vf_share_layers {
            let shared = Mlp::new(
                &mut params,
                "encoder.encoder.net.mlp",
                &encoder(hidden_init),
                rng,
            )?;
            (shared, None)
        } else {
            let actor = Mlp::new(
                &mut params,
                "encoder.actor_encoder.net.mlp",
                &encoder(hidden_init),
                rng,
            )?;
            let critic = Mlp::new(
                &mut params,
                "encoder.critic_encoder.net.mlp",
                &encoder(hidden_init),
                rng,
            )?;
            (actor, Some(critic))
        };
        let dist_dim = config.dist_kind.input_dim(config.action_dim);
        let pi = Mlp::new(&mut params, "pi.net.mlp", &head(dist_dim, pi_init), rng)?;
        let vf = Mlp::new(&mut params, "vf.net.mlp", &head(1, vf_init), rng)?;
        Ok(PPOModule {
            config: config.clone(),
            params,
            actor_encoder,
            critic_encoder,
            pi,
            vf,
            scratch: Scratch::default(),
        })
    }

    /// Builds the module for an env's spaces and RLlib-style model settings: `Discrete(n)`
    /// actions get a `Categorical` over `n` logits, `Box(d)` actions a `DiagGaussian` with
    /// `2·d` inputs. Observations must be a `Box` (flattened).
    pub fn from_spaces(
        observation_space: &Space,
        action_space: &Space,
        model: &ModelConfig,
        rng: &mut Rng,
    ) -> Result<Self, ModuleError> {
        let obs_dim = match observation_space {
            Space::Box { .. } => observation_space.flat_dim(),
            other => {
                return Err(ModuleError::UnsupportedSpace(format!(
                    "observations must be a Box, got {other:?}"
                )))
            }
        };
        let (dist_kind, action_dim) = match action_space {
            Space::Discrete { n, .. } => (ActionDistKind::Categorical, (*n).max(0) as usize),
            Space::Box { .. } => (ActionDistKind::DiagGaussian, action_space.flat_dim()),
            other => {
                return Err(ModuleError::UnsupportedSpace(format!(
                    "action space {other:?}"
                )))
            }
        };
        let activation = match model.fcnet_activation.as_str() {
            "tanh" => Activation::Tanh,
            "relu" => Activation::Relu,
            "linear" => Activation::Linear,
            a => return Err(ModuleError::Config(format!("unknown activation {a:?}"))),
        };
        let init = match model.initializer.as_str() {
            "torch_default" => ModuleInit::TorchDefault,
            "orthogonal" => ModuleInit::Orthogonal,
            "xavier" => ModuleInit::Xavier,
            i => return Err(ModuleError::Config(format!("unknown initializer {i:?}"))),
        };
        let config = PPOModuleConfig {
            obs_dim,
            dist_kind,
            action_dim,
            hiddens: model.fcnet_hiddens.clone(),
            activation,
            init,
            vf_share_layers: model.vf_share_layers,
        };
        Self::new(&config, rng)
    }

    /// The architecture.
    pub fn config(&self) -> &PPOModuleConfig {
        &self.config
    }

    /// The parameters (RLlib's names).
    pub fn params(&self) -> &ParamStore {
        &self.params
    }

    /// The parameters, mutably (optimizer steps, loading weights).
    pub fn params_mut(&mut self) -> &mut ParamStore {
        &mut self.params
    }

    /// Observation width.
    pub fn obs_dim(&self) -> usize {
        self.config.obs_dim
    }

    /// The action distribution.
    pub fn dist_kind(&self) -> ActionDistKind {
        self.config.dist_kind
    }

    /// Width of the action-distribution inputs (`n` logits or `2·d`).
    pub fn dist_dim(&self) -> usize {
        self.pi.out_dim()
    }

    /// Whether the actor and the critic share one encoder.
    pub fn shares_layers(&self) -> bool {
        self.critic_encoder.is_none()
    }

    /// RLlib's `forward_train` on a tape: `(action_dist_inputs B × dist_dim, values B × 1)`.
    pub fn forward_train(&self, tape: &mut Tape, obs: Var) -> (Var, Var) {
        let ha = self.actor_encoder.forward(tape, &self.params, obs);
        let logits = self.pi.forward(tape, &self.params, ha);
        let hc = match &self.critic_encoder {
            Some(critic) => critic.forward(tape, &self.params, obs),
            None => ha,
        };
        let values = self.vf.forward(tape, &self.params, hc);
        (logits, values)
    }

    /// The actor's half of [`Self::forward_train`] (action-distribution inputs). With
    /// separate encoders it touches no critic parameter, so it can run on its own tape.
    pub fn forward_actor(&self, tape: &mut Tape, obs: Var) -> Var {
        let ha = self.actor_encoder.forward(tape, &self.params, obs);
        self.pi.forward(tape, &self.params, ha)
    }

    /// The critic's half of [`Self::forward_train`] (values `B × 1`), through the shared
    /// encoder when the layers are shared.
    pub fn forward_critic(&self, tape: &mut Tape, obs: Var) -> Var {
        let encoder = self.critic_encoder.as_ref().unwrap_or(&self.actor_encoder);
        let hc = encoder.forward(tape, &self.params, obs);
        self.vf.forward(tape, &self.params, hc)
    }

    /// No-grad action-distribution inputs for `obs` (`B × obs_dim`) into `out`
    /// (`B × dist_dim`, resized as needed). Allocates nothing once warmed up.
    pub fn forward_dist_inputs_into(&mut self, obs: ArrayView2<'_, f32>, out: &mut Array2<f32>) {
        let s = &mut self.scratch;
        self.actor_encoder
            .forward_array(&self.params, obs, &mut s.ws, &mut s.h);
        self.pi
            .forward_array(&self.params, s.h.view(), &mut s.ws, out);
    }

    /// No-grad values for `obs` into `out` (`B × 1`, resized as needed).
    pub fn forward_values_into(&mut self, obs: ArrayView2<'_, f32>, out: &mut Array2<f32>) {
        let s = &mut self.scratch;
        let encoder = self.critic_encoder.as_ref().unwrap_or(&self.actor_encoder);
        encoder.forward_array(&self.params, obs, &mut s.ws, &mut s.h);
        self.vf
            .forward_array(&self.params, s.h.view(), &mut s.ws, out);
    }

    /// No-grad action-distribution inputs (`B × dist_dim`), as a new array.
    pub fn forward_dist_inputs(&mut self, obs: ArrayView2<'_, f32>) -> Array2<f32> {
        let mut out = Array2::zeros((0, 0));
        self.forward_dist_inputs_into(obs, &mut out);
        out
    }

    /// No-grad values (`B`), as a new array.
    pub fn forward_values(&mut self, obs: ArrayView2<'_, f32>) -> Array1<f32> {
        let mut out = std::mem::take(&mut self.scratch.out);
        self.forward_values_into(obs, &mut out);
        let v = out.column(0).to_owned();
        self.scratch.out = out;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn cartpole_default_has_rllib_size_and_names() {
        let mut rng = Rng::seed_from_u64(0);
        let m = PPOModule::new(
            &PPOModuleConfig::new(4, ActionDistKind::Categorical, 2),
            &mut rng,
        )
        .unwrap();
        assert_eq!(m.params().num_scalars(), 134_915);
        let names: Vec<&str> = m.params().iter().map(|(_, n, _)| n).collect();
        assert_eq!(
            names,
            [
                "encoder.actor_encoder.net.mlp.0.weight",
                "encoder.actor_encoder.net.mlp.0.bias",
                "encoder.actor_encoder.net.mlp.2.weight",
                "encoder.actor_encoder.net.mlp.2.bias",
                "encoder.critic_encoder.net.mlp.0.weight",
                "encoder.critic_encoder.net.mlp.0.bias",
                "encoder.critic_encoder.net.mlp.2.weight",
                "encoder.critic_encoder.net.mlp.2.bias",
                "pi.net.mlp.0.weight",
                "pi.net.mlp.0.bias",
                "vf.net.mlp.0.weight",
                "vf.net.mlp.0.bias",
            ]
        );
        assert_eq!(
            m.params()
                .get_by_name("encoder.actor_encoder.net.mlp.0.weight")
                .unwrap()
                .dim(),
            (256, 4)
        );
    }

    /// The seed's model at the batch sizes acting uses (1–9 rows take the small-batch
    /// kernels) and a minibatch: the no-grad forwards equal the tape's forwards.
    #[test]
    fn seed_model_forwards_match_tape_at_every_batch_size() {
        let mut rng = Rng::seed_from_u64(5);
        let mut m = PPOModule::new(
            &PPOModuleConfig::new(4, ActionDistKind::Categorical, 2),
            &mut rng,
        )
        .unwrap();
        for rows in (1..=9).chain([16, 33, 128]) {
            let obs = rl_nn::init::uniform(rows, 4, 2.0, &mut rng);
            let mut tape = Tape::new();
            let o = tape.constant(obs.view());
            let (d, v) = m.forward_train(&mut tape, o);
            let d2 = m.forward_dist_inputs(obs.view());
            let v2 = m.forward_values(obs.view());
            for (a, b) in d2.iter().zip(tape.value(d).iter()) {
                assert!(
                    (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                    "rows {rows}: {a} vs {b}"
                );
            }
            for (a, b) in v2.iter().zip(tape.value(v).iter()) {
                assert!(
                    (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                    "rows {rows}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn shared_encoder_has_rllib_names_and_size() {
        let mut rng = Rng::seed_from_u64(0);
        let mut cfg = PPOModuleConfig::new(4, ActionDistKind::Categorical, 2);
        cfg.vf_share_layers = true;
        let m = PPOModule::new(&cfg, &mut rng).unwrap();
        assert!(m.shares_layers());
        // 4·256+256 + 256·256+256 + 256·2+2 + 256+1.
        assert_eq!(m.params().num_scalars(), 67_843);
        let names: Vec<&str> = m.params().iter().map(|(_, n, _)| n).collect();
        assert_eq!(
            names,
            [
                "encoder.encoder.net.mlp.0.weight",
                "encoder.encoder.net.mlp.0.bias",
                "encoder.encoder.net.mlp.2.weight",
                "encoder.encoder.net.mlp.2.bias",
                "pi.net.mlp.0.weight",
                "pi.net.mlp.0.bias",
                "vf.net.mlp.0.weight",
                "vf.net.mlp.0.bias",
            ]
        );
    }

    #[test]
    fn array_forwards_match_tape() {
        let mut rng = Rng::seed_from_u64(1);
        for (init, shared) in [
            (ModuleInit::TorchDefault, false),
            (ModuleInit::Orthogonal, false),
            (ModuleInit::Xavier, false),
            (ModuleInit::TorchDefault, true),
        ] {
            let mut cfg = PPOModuleConfig::new(3, ActionDistKind::DiagGaussian, 2);
            cfg.hiddens = vec![16, 8, 8];
            cfg.init = init;
            cfg.vf_share_layers = shared;
            let mut m = PPOModule::new(&cfg, &mut rng).unwrap();
            let last_bias = if shared {
                "encoder.encoder.net.mlp.4.bias"
            } else {
                "encoder.critic_encoder.net.mlp.4.bias"
            };
            assert!(m.params().id(last_bias).is_some());
            for rows in [1, 5] {
                let obs = rl_nn::init::uniform(rows, 3, 1.0, &mut rng);
                let mut tape = Tape::new();
                let o = tape.constant(obs.view());
                let (d, v) = m.forward_train(&mut tape, o);
                let d2 = m.forward_dist_inputs(obs.view());
                let v2 = m.forward_values(obs.view());
                assert_eq!(d2.dim(), (rows, 4));
                for (a, b) in d2.iter().zip(tape.value(d).iter()) {
                    assert!((a - b).abs() < 1e-5);
                }
                for (a, b) in v2.iter().zip(tape.value(v).iter()) {
                    assert!((a - b).abs() < 1e-5);
                }
                // The halves record the same values as the whole.
                let a = m.forward_actor(&mut tape, o);
                let c = m.forward_critic(&mut tape, o);
                assert_eq!(tape.value(a), tape.value(d));
                assert_eq!(tape.value(c), tape.value(v));
            }
        }
    }
}
