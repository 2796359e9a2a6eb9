//! Your own algorithm against `rl`'s public API, as in your own crate: A2C (REINFORCE with a
//! learned value baseline and GAE), trained by the shared driver (`docs/custom_algorithm.md`).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rl::clap::{self, Parser}; // `self`: the derive's code names `clap::`
use rl::core::algorithm::checkpoint::{self as ckpt, CheckpointReader, CheckpointWriter};
use rl::core::algorithm::{build_algorithm, driver::seeded_rng, register_algorithm, Driver};
use rl::core::algorithm::{AlgoConfig, AlgorithmConfig, AlgorithmError, AlgorithmLogic};
use rl::core::algorithm::{ConfigError, ModelConfig, Spaces, StepContext};
use rl::core::connectors::Pipeline;
use rl::core::learner::{Learner, LearnerError, Loss, ModuleLearner, TrainBatch};
use rl::core::metrics::get_path;
use rl::core::module::{ModuleError, RLModule, ValueFunctionAPI};
use rl::ndarray::{Array1, Array2, ArrayView2, Axis};
use rl::nn::{ActionDistKind::Categorical, ActionDistribution, Adam, Mlp, ParamStore, Tape};
use rl::serde::{Deserialize, Serialize};
use rl::serde_json::{json, Value};

// ---- 1. The config: the shared settings (flattened: RLlib's flat keys) plus A2C's own.
/// A2C's settings. It takes one gradient step per train batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(crate = "rl::serde", default)]
pub struct A2CConfig {
    /// `env`, `lr`, `gamma`, `train_batch_size`, `grad_clip`, evaluation, checkpoints, …
    #[serde(flatten)]
    pub base: AlgorithmConfig,
    /// GAE's λ (1.0: Monte-Carlo returns, i.e. REINFORCE with a baseline).
    pub lambda_: f64,
    /// Weight of the critic's loss.
    pub vf_loss_coeff: f64,
    /// Weight of the entropy bonus.
    pub entropy_coeff: f64,
}

impl Default for A2CConfig {
    fn default() -> Self {
        let (base, lambda_) = (AlgorithmConfig::default(), 1.0);
        let (vf_loss_coeff, entropy_coeff) = (0.5, 0.01);
        A2CConfig {
            base,
            lambda_,
            vf_loss_coeff,
            entropy_coeff,
        }
    }
}

impl AlgoConfig for A2CConfig {
    fn base(&self) -> &AlgorithmConfig {
        &self.base
    }
    fn base_mut(&mut self) -> &mut AlgorithmConfig {
        &mut self.base
    }
    fn validate(&self) -> Result<(), ConfigError> {
        self.base.validate()?;
        match self.lambda_ {
            l if (0.0..=1.0).contains(&l) => Ok(()),
            l => Err(ConfigError(format!("lambda_ = {l} must lie in [0, 1]"))),
        }
    }
}

// ---- 2. The module: an actor MLP (logits) and a critic MLP (value) on rl::nn layers.
/// The actor-critic: env runners act with copies of it, the learner trains it.
#[derive(Clone, Debug)]
pub struct A2CModule {
    params: ParamStore,
    pi: Mlp,
    vf: Mlp,
}

impl A2CModule {
    /// The networks `model_config` describes (hidden layers, activation, initializer).
    fn new(spaces: &Spaces, model: &ModelConfig, seed: u64) -> Result<Self, AlgorithmError> {
        let (obs_dim, n) = (spaces.observation.flat_dim(), spaces.action.flat_dim());
        let (mut params, rng) = (ParamStore::new(), &mut seeded_rng(seed, "module_init"));
        let pi = Mlp::new(&mut params, "pi", &model.mlp(obs_dim, n, 0.01)?, rng)?;
        let vf = Mlp::new(&mut params, "vf", &model.mlp(obs_dim, 1, 1.0)?, rng)?;
        Ok(A2CModule { params, pi, vf })
    }
}

impl RLModule for A2CModule {
    fn action_dist(&self) -> Arc<dyn ActionDistribution> {
        Arc::new(Categorical)
    }
    fn obs_dim(&self) -> usize {
        self.pi.in_dim()
    }
    fn dist_dim(&self) -> usize {
        self.pi.out_dim()
    }
    /// Logits: evaluation takes the argmax, exploration (by default the same) samples.
    fn forward_inference(&mut self, obs: ArrayView2<f32>) -> Result<Array2<f32>, ModuleError> {
        Ok(self.pi.forward_owned(&self.params, obs)?)
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
        Some(self) // what the GAE learner connector asks for
    }
}

impl ValueFunctionAPI for A2CModule {
    fn compute_values(&mut self, obs: ArrayView2<f32>) -> Result<Array1<f32>, ModuleError> {
        let values = self.vf.forward_owned(&self.params, obs)?;
        Ok(values.column(0).to_owned())
    }
}

// ---- 3. The loss (RLlib's `compute_loss_for_module`) on the autodiff tape.
/// `−m(log π(a|s)·A) + vf_loss_coeff·m((V(s) − target)²) − entropy_coeff·m(H(π(s)))` on a
/// train batch with advantages `A` and value targets (GAE), `m` the mean over the rows the
/// loss mask keeps; with the values to report under RLlib's names.
fn loss(t: &mut Tape, m: &A2CModule, b: &TrainBatch, c: &A2CConfig) -> Result<Loss, LearnerError> {
    b.require(&["actions", "advantages", "value_targets", "loss_mask"])?;
    let col = |t: &mut Tape, x: &Array1<f32>| t.constant(x.view().insert_axis(Axis(1)));
    let obs = t.constant(b.obs.view());
    let logits = m.pi.forward(t, &m.params, obs);
    let values = m.vf.forward(t, &m.params, obs);
    let logp = Categorical.logp_var(t, logits, b.actions.view())?;
    let h = Categorical.entropy_var(t, logits)?;
    let (advantages, targets) = (col(t, &b.advantages), col(t, &b.value_targets));
    let mask = col(t, &b.loss_mask.mapv(|keep| f32::from(u8::from(keep))));
    let pg = t.mul(logp, advantages);
    let err = t.sub(values, targets);
    let err2 = t.square(err);
    let [pg, vf_loss, entropy] = [pg, err2, h].map(|x| t.masked_mean(x, mask));
    let policy_loss = t.neg(pg);
    let vf_term = t.scale(vf_loss, c.vf_loss_coeff as f32);
    let entropy_term = t.scale(entropy, -c.entropy_coeff as f32);
    let total = t.add(policy_loss, vf_term);
    let total = t.add(total, entropy_term);
    let names = ["policy_loss", "vf_loss", "entropy", "total_loss"];
    let vars = [policy_loss, vf_loss, entropy, total];
    Ok((total, names.into_iter().zip(vars).collect()))
}

// ---- 4. The algorithm: what the shared driver calls.
/// A2C's own part: its learner (module, learner pipeline, Adam, clipping) and config.
pub struct A2CLogic {
    learner: ModuleLearner<A2CModule>,
    config: A2CConfig,
}

impl AlgorithmLogic for A2CLogic {
    type Config = A2CConfig;
    type Learner = ModuleLearner<A2CModule>;
    type State = ckpt::ModuleLearnerState;
    const NAME: &'static str = "A2C";
    const MODULE_CLASS: &'static str = "A2CModule";

    fn prepare() {
        rl::envs::register_builtins(); // CartPole-v1 and the other built-in envs
    }
    fn build(config: &A2CConfig, spaces: &Spaces, seed: u64) -> Result<Self, AlgorithmError> {
        if !spaces.action.is_discrete() {
            return Err(ConfigError(format!("A2C needs Discrete actions: {spaces:?}")).into());
        }
        let module = A2CModule::new(spaces, &config.base.model_config, seed)?;
        let pipeline = Pipeline::gae_learner(config.base.gamma as f32, config.lambda_ as f32);
        let optimizer = Adam::new(config.base.lr as f32);
        let learner = ModuleLearner::new(module, pipeline, optimizer, config.base.grad_clip);
        let config = config.clone();
        Ok(A2CLogic { learner, config })
    }
    fn acting_module(&self) -> Box<dyn RLModule> {
        Box::new(self.learner.module().clone())
    }
    /// Sample, learn (learner pipeline with GAE, one gradient step), broadcast the weights.
    fn training_step(&mut self, ctx: &mut StepContext<'_>) -> Result<(), AlgorithmError> {
        let episodes = ctx.sample_env_steps(ctx.config().train_batch_size)?;
        let (learner, c) = (&mut self.learner, &self.config);
        ctx.learner_update(|| learner.update_from_episodes(episodes, |t, m, b| loss(t, m, b, c)))?;
        ctx.sync_weights(&learner.get_weights())
    }
    fn learner(&self) -> &Self::Learner {
        &self.learner
    }
    fn learner_mut(&mut self) -> &mut Self::Learner {
        &mut self.learner
    }
    // Checkpoints: the module's weights and Adam's state (the driver saves all the rest).
    fn save_state(&self, w: &mut CheckpointWriter) -> Result<(), AlgorithmError> {
        Ok(ckpt::write_module_learner(w, &self.learner)?)
    }
    fn read_state(&self, r: &CheckpointReader) -> Result<Self::State, AlgorithmError> {
        Ok(ckpt::read_module_learner(r, &self.learner)?)
    }
    fn apply_state(&mut self, state: Self::State) -> Result<(), AlgorithmError> {
        Ok(state.apply_to(&mut self.learner)?)
    }
}

// ---- 5. Training it by name on CartPole, as Tune or a command line would.
/// A2C on CartPole-v1, trained by the shared driver.
#[derive(Parser)] // clap through `rl::clap`: your crate needs no clap of its own
pub struct Flags {
    #[arg(long, default_value_t = 0, help = "Seed of every RNG of the run")]
    seed: u64,
    #[arg(long, default_value_t = 100, help = "Training iterations")]
    iterations: usize,
    #[arg(long, help = "Output [default: runs/A2C_CartPole-v1_seed<SEED>_<now>]")]
    output: Option<String>,
    #[arg(long, help = "Saves a checkpoint when the run ends")]
    checkpoint_at_end: bool,
}

/// Trains A2C as the flags say, printing the returns; trial files and checkpoints: `--output`.
pub fn run(flags: Flags) -> Result<(), Box<dyn std::error::Error>> {
    let (seed, iterations, out) = (flags.seed, flags.iterations, flags.output);
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let out = out.unwrap_or_else(|| format!("runs/A2C_CartPole-v1_seed{seed}_{now}"));
    register_algorithm(Driver::<A2CLogic>::registration()); // "A2C", by name from now on
    let config = json!({
        "env": "CartPole-v1", "num_env_runners": 0, "num_envs_per_env_runner": 8,
        "train_batch_size": 256, "lr": 3e-3, "lambda_": 0.95, "grad_clip": 0.5,
        "model_config": {"fcnet_hiddens": [64, 64], "initializer": "orthogonal"},
        "evaluation_interval": 5, "seed": seed, "checkpoint_at_end": flags.checkpoint_at_end,
    });
    let mut algo = build_algorithm("A2C", &config)?;
    rl::logger::log_to(algo.as_mut(), &out)?; // Tune's trial files and a TensorBoard file
    for i in 1..=iterations {
        let r = algo.train()?;
        let num = |k: &str| get_path(&r, k).and_then(Value::as_f64).unwrap_or(f64::NAN);
        let ret = num("env_runners/episode_return_mean");
        let eval = num("evaluation/env_runners/episode_return_mean");
        println!("iteration {i:>3}: return {ret:>5.1}, evaluation {eval:>5.1}");
    }
    if let Some(checkpoint) = algo.stop()? {
        println!("checkpoint: {}", checkpoint.display());
    }
    println!("trial files in {out}");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    run(Flags::parse()) // clap answers `--help` and refuses bad flags (exit code 2)
}
