//! `rl-nn`: pure-Rust reverse-mode autodiff on `ndarray` for reinforcement learning.
//!
//! Small enough to read in one sitting, fast on the sizes RL uses (batch 1–4000,
//! widths 2–512). `docs/autodiff.md` in the repository explains the tape in one page.
//!
//! # The pieces
//! - [`Tape`] records a forward pass; [`Var`] is a `Copy` handle to one of its nodes.
//!   Every value is a 2-D `f32` array, batch-major (`B × F`); scalars are `1 × 1`, biases
//!   `1 × n`. Inputs: [`Tape::constant`], [`Tape::constant_with`], [`Tape::variable`]
//!   (gradient readable with [`Tape::grad`]), [`Tape::param`] (a [`ParamStore`] entry,
//!   copied onto the tape once per pass). Ops are methods: [`Tape::linear`] (fused
//!   `x·Wᵀ + b`, `W` stored `[out, in]` as torch), [`Tape::matmul`], `add sub mul div`
//!   (NumPy broadcasting on 2-D), `minimum maximum neg affine scale tanh relu exp log
//!   square sqrt clamp`, reductions `sum mean sum_axis mean_axis masked_mean`, and
//!   `log_softmax softmax gather gather_iter concat slice_cols split`.
//!   [`Tape::value`] / [`Tape::scalar`] read values, [`Tape::backward`]`(loss, &mut grads)`
//!   *adds* parameter gradients into [`Grads`] (zero them between updates), and
//!   [`Tape::reset`] starts the next pass keeping every buffer: a warmed-up pass recording
//!   the same graph allocates nothing (`tests/alloc.rs` checks this with a counting
//!   allocator).
//! - [`ParamStore`]: named parameters (RLlib/torch names such as
//!   `encoder.actor_encoder.net.mlp.0.weight`), serde-serializable as a list of
//!   `{name, value}`, [`ParamStore::id`] / [`ParamStore::get_by_name`], and
//!   [`ParamStore::load`]`(name, shape, values)` with typed errors ([`NnError`]) on an
//!   unknown name, a shape mismatch or a wrong value count (a 1-D `[n]` loads into a
//!   `1 × n` bias). [`Grads`] mirrors a store (same order and shapes).
//! - Layers: [`Linear`] and [`Mlp`] ([`MlpConfig`], [`Activation`]; names follow torch's
//!   `nn.Sequential` indices `{prefix}.0`, `{prefix}.2`, …). `forward(&self, tape, store,
//!   x) -> Var` records on a tape; `forward_array(&self, store, x, …)` is the no-grad path
//!   on plain arrays for acting, with reused buffers ([`Workspace`]) and dot-product
//!   kernels for batches of up to 16 rows.
//! - Initializers ([`Init`], module [`init`]): torch's Linear default (`U(±1/√fan_in)` for
//!   weight and bias), orthogonal with a gain, Xavier uniform — all from an explicit
//!   [`Rng`].
//! - Optimizers: [`Adam`] (torch semantics: betas, eps 1e-8, bias correction; its moments
//!   and step serialize), [`Sgd`], and [`clip_grad_norm`] (returns the pre-clip global
//!   norm, as torch).
//! - [`distributions`]: [`Categorical`] and [`DiagGaussian`] on arrays for acting (sample
//!   from a seeded [`Rng`], log-prob, argmax/mean, entropy, KL), [`ActionDistKind`] for
//!   code generic over the action space (`sample_into`, `deterministic_into`, `log_prob`,
//!   …), and the batched in-graph versions for losses (`logp_var`, `entropy_var`,
//!   `kl_var`, each `B × 1`). RLlib's conventions: summed over action dimensions.
//! - [`kernels`]: matrix products, the vectorized `tanh`, portable `exp`/`ln`, and the
//!   instruction-set paths ([`kernels::KernelPath`]: plain Rust, AVX2, AVX-512), which
//!   all give the same bits: results do not depend on the CPU.
//!
//! # Example: one gradient step
//! ```
//! use ndarray::array;
//! use rand::SeedableRng;
//! use rl_nn::{Activation, Adam, Grads, Init, Mlp, MlpConfig, ParamStore, Rng, Tape};
//!
//! let mut rng = Rng::seed_from_u64(0);
//! let mut store = ParamStore::new();
//! let cfg = MlpConfig {
//!     in_dim: 2, hidden: vec![8], activation: Activation::Tanh, output_dim: Some(1),
//!     hidden_init: Init::TorchDefault, output_init: Init::TorchDefault,
//! };
//! let mlp = Mlp::new(&mut store, "net", &cfg, &mut rng).unwrap();
//! let mut grads = Grads::new(&store);
//! let mut adam = Adam::new(1e-2);
//! let mut tape = Tape::new();
//! for _ in 0..3 {
//!     tape.reset();
//!     grads.zero();
//!     let x = tape.constant(array![[0.5f32, -1.0], [1.0, 2.0]].view());
//!     let y = mlp.forward(&mut tape, &store, x);
//!     let y2 = tape.square(y);
//!     let loss = tape.mean(y2);
//!     tape.backward(loss, &mut grads);
//!     adam.step(&mut store, &grads).unwrap();
//! }
//! ```
//!
//! # Threads
//! Matrix products run on one thread unless [`set_num_threads`] allows more (rayon, used
//! only for large products, splitting the outputs: the results do not depend on it).

#![warn(missing_docs)]

pub mod distributions;
mod error;
pub mod init;
pub mod kernels;
mod layers;
mod optim;
mod params;
mod tape;

pub use distributions::{ActionDistKind, ActionDistribution, Categorical, DiagGaussian};
pub use error::NnError;
pub use init::Init;
pub use kernels::{num_threads, set_num_threads};
pub use layers::{Activation, Linear, Mlp, MlpConfig, Workspace};
pub use optim::{clip_grad_norm, Adam, Sgd};
pub use params::{all_finite, Grads, NamedParam, NonFinite, ParamId, ParamStore};
pub use tape::{Tape, Var};

/// The random-number generator used everywhere in the workspace: seeded explicitly,
/// serializable (its state goes into checkpoints), fast.
pub type Rng = rand_pcg::Pcg64;
