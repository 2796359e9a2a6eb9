//! `DQNModule`: RLlib's `DefaultDQNTorchRLModule` for a flat observation and `Discrete(n)`
//! actions — one encoder MLP feeding an advantage stream `af` (the Q-head without
//! dueling) and, with `dueling`, a value stream `vf`, combined as
//! `Q = (A − mean_a A) + V`; and target copies of all three.
//!
//! Parameter names are RLlib's, so RLlib's weights load as they are:
//! `encoder.net.mlp.{0,2,…}.{weight,bias}`, `af.net.mlp.{0,2,…}.{weight,bias}`,
//! `vf.net.mlp.{0,2,…}.{weight,bias}` (torch `nn.Sequential` indexing), target copies
//! under `_target_encoder.…`, `_target_af.…`, `_target_vf.…` in checkpoints.
//!
//! The module is the acting side ([`RLModule`]: its "action-distribution inputs" are the
//! Q-values, and the epsilon-greedy connector picks the action), [`QNetAPI`] (Q-values on
//! a tape for the loss) and [`TargetNetworkAPI`]. The target networks are a second
//! [`ParamStore`] run through the same layers; the copies env runners hold are
//! inference-only (no target, RLlib's `inference_only`).

use std::sync::Arc;

use ndarray::{Array2, ArrayView2};
use rl_core::algorithm::ModelConfig;
use rl_core::env::space::Space;
use rl_core::module::{ModuleError, QNetAPI, RLModule, TargetNetworkAPI};
use rl_nn::{
    ActionDistKind, ActionDistribution, Activation, Init, Mlp, MlpConfig, ParamStore, Rng, Tape,
    Var, Workspace,
};
use serde::{Deserialize, Serialize};

/// The architecture of a [`DQNModule`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DQNModuleConfig {
    /// Observation width (flattened).
    pub obs_dim: usize,
    /// Number of discrete actions.
    pub num_actions: usize,
    /// Encoder hidden sizes (`fcnet_hiddens`).
    pub hiddens: Vec<usize>,
    /// Encoder activation (`fcnet_activation`).
    pub activation: Activation,
    /// Head hidden sizes (`head_fcnet_hiddens`), in each stream.
    pub head_hiddens: Vec<usize>,
    /// Head activation (`head_fcnet_activation`).
    pub head_activation: Activation,
    /// Advantage and value streams (`dueling`).
    pub dueling: bool,
    /// Initializer of every weight (and bias unless zeroed).
    pub init: Init,
    /// Zero the encoder biases (`fcnet_bias_initializer = "zeros_"`).
    pub zero_encoder_bias: bool,
    /// Zero the head biases (`head_fcnet_bias_initializer = "zeros_"`).
    pub zero_head_bias: bool,
}

impl DQNModuleConfig {
    /// RLlib's default DQN module for these sizes: `[256, 256]` tanh encoder, heads
    /// without hidden layers, dueling, torch's initialization.
    pub fn new(obs_dim: usize, num_actions: usize) -> Self {
        DQNModuleConfig {
            obs_dim,
            num_actions,
            hiddens: vec![256, 256],
            activation: Activation::Tanh,
            head_hiddens: Vec::new(),
            head_activation: Activation::Relu,
            dueling: true,
            init: Init::TorchDefault,
            zero_encoder_bias: false,
            zero_head_bias: false,
        }
    }

    fn check(&self) -> Result<(), String> {
        if self.obs_dim == 0 || self.num_actions == 0 {
            return Err("zero-sized observation or action space".into());
        }
        if self.hiddens.contains(&0) || self.head_hiddens.contains(&0) {
            return Err(format!(
                "layer sizes {:?} / {:?} must be positive",
                self.hiddens, self.head_hiddens
            ));
        }
        Ok(())
    }
}

fn activation(name: &str) -> Result<Activation, String> {
    match name {
        "tanh" => Ok(Activation::Tanh),
        "relu" => Ok(Activation::Relu),
        "linear" => Ok(Activation::Linear),
        a => Err(format!("unknown activation {a:?}")),
    }
}

/// Reused buffers of the no-grad forwards.
#[derive(Clone, Debug, Default)]
struct Scratch {
    ws: Workspace,
    h: Array2<f32>,
    adv: Array2<f32>,
    value: Array2<f32>,
}

/// RLlib's default DQN module (see the [module docs](self)).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DQNModule {
    config: DQNModuleConfig,
    params: ParamStore,
    encoder: Mlp,
    af: Mlp,
    vf: Option<Mlp>,
    /// The target networks' parameters (same names and layout as `params`); `None` in an
    /// inference-only copy.
    target: Option<ParamStore>,
    #[serde(skip)]
    scratch: Scratch,
}

impl DQNModule {
    /// Builds the module and initializes its parameters from `rng` (encoder, `af`, `vf`, in
    /// RLlib's parameter order), without target networks
    /// ([`make_target_networks`](Self::make_target_networks) adds them).
    pub fn new(config: &DQNModuleConfig, rng: &mut Rng) -> Result<Self, ModuleError> {
        config.check().map_err(ModuleError::Weights)?;
        let mut params = ParamStore::new();
        let nn = |e: rl_nn::NnError| ModuleError::Weights(e.to_string());
        let mlp = |params: &mut ParamStore,
                   prefix: &str,
                   in_dim: usize,
                   hidden: &[usize],
                   act: Activation,
                   out: Option<usize>,
                   zero_bias: bool,
                   rng: &mut Rng|
         -> Result<Mlp, ModuleError> {
            let cfg = MlpConfig {
                in_dim,
                hidden: hidden.to_vec(),
                activation: act,
                output_dim: out,
                hidden_init: config.init,
                output_init: config.init,
            };
            let m = Mlp::new(params, prefix, &cfg, rng).map_err(nn)?;
            if zero_bias {
                for l in &m.layers {
                    if let Some(b) = l.bias {
                        params.get_mut(b).fill(0.0);
                    }
                }
            }
            Ok(m)
        };
        let encoder = mlp(
            &mut params,
            "encoder.net.mlp",
            config.obs_dim,
            &config.hiddens,
            config.activation,
            None,
            config.zero_encoder_bias,
            rng,
        )?;
        let latent = config.hiddens.last().copied().unwrap_or(config.obs_dim);
        let af = mlp(
            &mut params,
            "af.net.mlp",
            latent,
            &config.head_hiddens,
            config.head_activation,
            Some(config.num_actions),
            config.zero_head_bias,
            rng,
        )?;
        let vf = if config.dueling {
            Some(mlp(
                &mut params,
                "vf.net.mlp",
                latent,
                &config.head_hiddens,
                config.head_activation,
                Some(1),
                config.zero_head_bias,
                rng,
            )?)
        } else {
            None
        };
        Ok(DQNModule {
            config: config.clone(),
            params,
            encoder,
            af,
            vf,
            target: None,
            scratch: Scratch::default(),
        })
    }

    /// The architecture for an env's spaces and RLlib's model settings (`Box`
    /// observations, `Discrete(n)` actions).
    pub fn config_for(
        observation_space: &Space,
        action_space: &Space,
        model: &ModelConfig,
        dueling: bool,
    ) -> Result<DQNModuleConfig, ModuleError> {
        let unsupported = |s: String| ModuleError::Weights(s);
        let obs_dim = match observation_space {
            Space::Box { .. } => observation_space.flat_dim(),
            other => {
                return Err(unsupported(format!(
                    "DQN needs Box observations, got {other:?}"
                )))
            }
        };
        let num_actions = match action_space {
            Space::Discrete { n, .. } if *n > 0 => *n as usize,
            other => {
                return Err(unsupported(format!(
                    "DQN needs a Discrete action space, got {other:?}"
                )))
            }
        };
        let init = match model.initializer.as_str() {
            "torch_default" => Init::TorchDefault,
            "orthogonal" => Init::Orthogonal { gain: 1.0 },
            "xavier" => Init::XavierUniform { gain: 1.0 },
            i => return Err(unsupported(format!("unknown initializer {i:?}"))),
        };
        Ok(DQNModuleConfig {
            obs_dim,
            num_actions,
            hiddens: model.fcnet_hiddens.clone(),
            activation: activation(&model.fcnet_activation).map_err(unsupported)?,
            head_hiddens: model.head_fcnet_hiddens.clone(),
            head_activation: activation(&model.head_fcnet_activation).map_err(unsupported)?,
            dueling,
            init,
            zero_encoder_bias: model.fcnet_bias_initializer.as_deref() == Some("zeros_"),
            zero_head_bias: model.head_fcnet_bias_initializer.as_deref() == Some("zeros_"),
        })
    }

    /// The architecture.
    pub fn config(&self) -> &DQNModuleConfig {
        &self.config
    }

    /// The online network's parameters (RLlib's names).
    pub fn params(&self) -> &ParamStore {
        &self.params
    }

    /// The online parameters, mutably (optimizer steps, loading weights).
    pub fn params_mut(&mut self) -> &mut ParamStore {
        &mut self.params
    }

    /// The target networks' parameters (same names as [`params`](Self::params)), if made.
    pub fn target_params(&self) -> Option<&ParamStore> {
        self.target.as_ref()
    }

    /// The target parameters, mutably.
    pub fn target_params_mut(&mut self) -> Option<&mut ParamStore> {
        self.target.as_mut()
    }

    /// Makes the target networks as copies of the online ones (RLlib's
    /// `make_target_networks`).
    pub fn make_target_networks(&mut self) {
        self.target = Some(self.params.clone());
    }

    /// A copy without target networks: what env runners act with.
    pub fn inference_only(&self) -> Self {
        DQNModule {
            config: self.config.clone(),
            params: self.params.clone(),
            encoder: self.encoder.clone(),
            af: self.af.clone(),
            vf: self.vf.clone(),
            target: None,
            scratch: Scratch::default(),
        }
    }

    /// Number of actions (width of a Q-value row).
    pub fn num_actions(&self) -> usize {
        self.config.num_actions
    }

    /// Q-values of every action on a tape (`B × num_actions`), through the online network.
    pub fn q_values(&self, tape: &mut Tape, obs: Var) -> Var {
        let h = self.encoder.forward(tape, &self.params, obs);
        let adv = self.af.forward(tape, &self.params, h);
        match &self.vf {
            Some(vf) => {
                let value = vf.forward(tape, &self.params, h);
                let mean = tape.mean_axis(adv, 1);
                let centered = tape.sub(adv, mean);
                tape.add(centered, value)
            }
            None => adv,
        }
    }

    fn check_obs(&self, obs: &ArrayView2<f32>) -> Result<(), ModuleError> {
        if obs.ncols() != self.config.obs_dim {
            return Err(ModuleError::ObsWidth {
                expected: self.config.obs_dim,
                got: obs.ncols(),
            });
        }
        Ok(())
    }

    /// No-grad Q-values of the online (`target = false`) or target network into `out`
    /// (`B × num_actions`, resized as needed). Allocates nothing once warmed up.
    pub fn forward_q_into(
        &mut self,
        obs: ArrayView2<'_, f32>,
        target: bool,
        out: &mut Array2<f32>,
    ) -> Result<(), ModuleError> {
        self.check_obs(&obs)?;
        let store = if target {
            self.target.as_ref().ok_or_else(|| {
                ModuleError::Weights(
                    "this module has no target networks (an inference-only copy)".into(),
                )
            })?
        } else {
            &self.params
        };
        let s = &mut self.scratch;
        self.encoder.forward_array(store, obs, &mut s.ws, &mut s.h);
        match &self.vf {
            Some(vf) => {
                self.af
                    .forward_array(store, s.h.view(), &mut s.ws, &mut s.adv);
                vf.forward_array(store, s.h.view(), &mut s.ws, &mut s.value);
                let n = self.config.num_actions;
                if out.dim() != (obs.nrows(), n) {
                    *out = Array2::zeros((obs.nrows(), n));
                }
                for ((mut q, a), v) in out
                    .rows_mut()
                    .into_iter()
                    .zip(s.adv.rows())
                    .zip(s.value.rows())
                {
                    // As the tape: the mean is the row sum over n, then (a − mean) + v.
                    let mean = a.iter().sum::<f32>() / n as f32;
                    for (q, &a) in q.iter_mut().zip(a.iter()) {
                        *q = (a - mean) + v[0];
                    }
                }
            }
            None => self.af.forward_array(store, s.h.view(), &mut s.ws, out),
        }
        Ok(())
    }

    /// No-grad Q-values of the online network, as a new array.
    pub fn forward_q(&mut self, obs: ArrayView2<'_, f32>) -> Result<Array2<f32>, ModuleError> {
        let mut out = Array2::zeros((0, 0));
        self.forward_q_into(obs, false, &mut out)?;
        Ok(out)
    }
}

impl RLModule for DQNModule {
    /// A categorical over the Q-values as logits (RLlib's `TorchCategorical`, whose
    /// deterministic action is the argmax); exploration does not sample from it, the
    /// epsilon-greedy connector acts instead.
    fn action_dist(&self) -> Arc<dyn ActionDistribution> {
        Arc::new(ActionDistKind::Categorical)
    }

    fn obs_dim(&self) -> usize {
        self.config.obs_dim
    }

    fn dist_dim(&self) -> usize {
        self.config.num_actions
    }

    fn forward_inference(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
        self.forward_q(obs)
    }

    fn forward_exploration(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
        self.forward_q(obs)
    }

    fn params(&self) -> &ParamStore {
        &self.params
    }

    fn params_mut(&mut self) -> &mut ParamStore {
        &mut self.params
    }

    fn clone_module(&self) -> Box<dyn RLModule> {
        Box::new(self.inference_only())
    }
}

impl QNetAPI for DQNModule {
    fn q_values_train(&self, tape: &mut Tape, obs: Var) -> Var {
        self.q_values(tape, obs)
    }
}

impl TargetNetworkAPI for DQNModule {
    fn forward_target(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
        let mut out = Array2::zeros((0, 0));
        self.forward_q_into(obs, true, &mut out)?;
        Ok(out)
    }

    /// RLlib's `update_target_network`: `τ·online + (1 − τ)·target` per tensor, in f32
    /// (`tau = 1` copies exactly). Makes the target networks first if there are none.
    fn sync_target_networks(&mut self, tau: f32) {
        let online = &self.params;
        let target = self.target.get_or_insert_with(|| online.clone());
        let keep = (1.0 - f64::from(tau)) as f32;
        for (t, o) in target.values_mut().iter_mut().zip(online.iter()) {
            t.zip_mut_with(o.2, |t, &o| *t = tau * o + keep * *t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn tuned(dueling: bool) -> DQNModuleConfig {
        DQNModuleConfig {
            hiddens: vec![256],
            head_hiddens: vec![256],
            head_activation: Activation::Tanh,
            dueling,
            zero_encoder_bias: true,
            zero_head_bias: true,
            ..DQNModuleConfig::new(4, 2)
        }
    }

    #[test]
    fn tuned_cartpole_module_has_rllib_names_and_size() {
        let mut rng = Rng::seed_from_u64(0);
        let m = DQNModule::new(&tuned(true), &mut rng).unwrap();
        let names: Vec<&str> = m.params().iter().map(|(_, n, _)| n).collect();
        assert_eq!(
            names,
            [
                "encoder.net.mlp.0.weight",
                "encoder.net.mlp.0.bias",
                "af.net.mlp.0.weight",
                "af.net.mlp.0.bias",
                "af.net.mlp.2.weight",
                "af.net.mlp.2.bias",
                "vf.net.mlp.0.weight",
                "vf.net.mlp.0.bias",
                "vf.net.mlp.2.weight",
                "vf.net.mlp.2.bias",
            ]
        );
        // 4·256+256 + (256·256+256 + 256·2+2) + (256·256+256 + 256+1), as RLlib's.
        assert_eq!(m.params().num_scalars(), 133_635);
        assert!(m
            .params()
            .get_by_name("af.net.mlp.0.bias")
            .unwrap()
            .iter()
            .all(|&b| b == 0.0));
        let m = DQNModule::new(&tuned(false), &mut rng).unwrap();
        assert!(m.params().id("vf.net.mlp.0.weight").is_none());
    }

    #[test]
    fn array_forward_matches_tape_and_dueling_centres_advantages() {
        let mut rng = Rng::seed_from_u64(3);
        for dueling in [true, false] {
            let mut cfg = tuned(dueling);
            cfg.zero_head_bias = false;
            cfg.num_actions = 3;
            let mut m = DQNModule::new(&cfg, &mut rng).unwrap();
            m.make_target_networks();
            for rows in [1, 7, 40] {
                let obs = rl_nn::init::uniform(rows, 4, 1.5, &mut rng);
                let mut tape = Tape::new();
                let o = tape.constant(obs.view());
                let q = m.q_values(&mut tape, o);
                let q2 = m.forward_q(obs.view()).unwrap();
                for (a, b) in q2.iter().zip(tape.value(q).iter()) {
                    assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{a} vs {b}");
                }
                let qt = m.forward_target(obs.view()).unwrap();
                assert_eq!(qt, q2, "a fresh target equals the online network");
            }
        }
    }

    #[test]
    fn target_sync_is_polyak_and_copy_at_one() {
        let mut rng = Rng::seed_from_u64(4);
        let mut m = DQNModule::new(&tuned(true), &mut rng).unwrap();
        m.make_target_networks();
        let before = m.target_params().unwrap().clone();
        m.params_mut().values_mut()[0].fill(1.0);
        m.sync_target_networks(0.25);
        let t = m.target_params().unwrap().iter().next().unwrap().2.clone();
        let b = before.iter().next().unwrap().2;
        for (t, b) in t.iter().zip(b.iter()) {
            assert_eq!(*t, 0.25 * 1.0 + 0.75 * b);
        }
        m.sync_target_networks(1.0);
        assert_eq!(m.target_params().unwrap(), m.params());
        assert!(m.inference_only().target_params().is_none());
        let mut copy = m.inference_only();
        assert!(copy
            .forward_target(ndarray::Array2::zeros((1, 4)).view())
            .is_err());
    }
}
