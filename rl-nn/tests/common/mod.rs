//! Shared by rl-nn's integration tests: an actor and a critic MLP, and a PPO-shaped loss
//! over them (clipped surrogate, value error, KL, entropy, masked mean).

use ndarray::Array2;
use rl_nn::distributions::ActionDistKind;
use rl_nn::{Activation, Init, Mlp, MlpConfig, ParamStore, Rng, Tape, Var};

/// An actor (`4 → hidden → 2` logits) and a critic (`4 → hidden → 1`), tanh, registered in
/// `store` as `pi.*` and `vf.*`.
pub fn actor_critic(store: &mut ParamStore, hidden: &[usize], rng: &mut Rng) -> (Mlp, Mlp) {
    let cfg = |out_dim| MlpConfig {
        in_dim: 4,
        hidden: hidden.to_vec(),
        activation: Activation::Tanh,
        output_dim: Some(out_dim),
        hidden_init: Init::TorchDefault,
        output_init: Init::TorchDefault,
    };
    let actor = Mlp::new(store, "pi", &cfg(2), rng).unwrap();
    let critic = Mlp::new(store, "vf", &cfg(1), rng).unwrap();
    (actor, critic)
}

/// A minibatch for [`ppo_shaped_loss`].
pub struct LossBatch {
    pub obs: Array2<f32>,
    pub actions: Array2<f32>,
    pub prev_logits: Array2<f32>,
    pub advantages: Array2<f32>,
    pub targets: Array2<f32>,
    pub mask: Array2<f32>,
}

impl LossBatch {
    /// `rows` random rows (every seventh masked out).
    pub fn random(rows: usize, rng: &mut Rng) -> Self {
        LossBatch {
            obs: rl_nn::init::uniform(rows, 4, 2.0, rng),
            actions: Array2::from_shape_fn((rows, 1), |(i, _)| (i % 2) as f32),
            prev_logits: rl_nn::init::uniform(rows, 2, 0.5, rng),
            advantages: rl_nn::init::uniform(rows, 1, 2.0, rng),
            targets: rl_nn::init::uniform(rows, 1, 5.0, rng),
            mask: Array2::from_shape_fn((rows, 1), |(i, _)| if i % 7 == 3 { 0.0 } else { 1.0 }),
        }
    }
}

/// Records the loss on `tape`; returns the logits and the `1 × 1` loss.
pub fn ppo_shaped_loss(
    tape: &mut Tape,
    store: &ParamStore,
    (actor, critic): (&Mlp, &Mlp),
    b: &LossBatch,
) -> (Var, Var) {
    let x = tape.constant(b.obs.view());
    let logits = actor.forward(tape, store, x);
    let v = critic.forward(tape, store, x);
    let k = ActionDistKind::Categorical;
    let logp = k.logp_var(tape, logits, b.actions.view()).unwrap();
    let kl = k.kl_var(tape, b.prev_logits.view(), logits).unwrap();
    let ent = k.entropy_var(tape, logits).unwrap();
    let ratio = tape.exp(logp);
    let adv = tape.constant(b.advantages.view());
    let surr = tape.mul(ratio, adv);
    let clipped = tape.clamp(ratio, 0.8, 1.2);
    let surr2 = tape.mul(clipped, adv);
    let s = tape.minimum(surr, surr2);
    let t = tape.constant(b.targets.view());
    let e = tape.sub(v, t);
    let e2 = tape.square(e);
    let l = tape.sub(e2, s);
    let l = tape.add(l, kl);
    let l = tape.sub(l, ent);
    let m = tape.constant(b.mask.view());
    (logits, tape.masked_mean(l, m))
}
