//! `rl-nn`: pure-Rust reverse-mode autodiff on `ndarray` for reinforcement learning.
//!
//! Small enough to read in one sitting, fast on the sizes RL uses (batch 1–4000,
//! widths 2–512). `docs/autodiff.md` in the repository explains the tape in one page.
//!
//! # The pieces
//! - [`Tape`] records a forward pass; [`Var`] is a `Copy` handle to one of its nodes.
//!   Every value is a 2-D `f32` array, batch-major (`B × F`); scalars are `1 × 1`, biases
//!   `1 × n`. Inputs: [`Tape::constant`], [`Tape::variable`], [`Tape::param`]. Ops are
//!   methods: [`Tape::linear`] (fused `x·Wᵀ + b`, `W` stored `[out, in]` as torch),
//!   [`Tape::matmul`], `add sub mul div` (broadcasting), `minimum maximum neg affine
//!   scale tanh relu exp log square sqrt clamp`, reductions `sum mean sum_axis
//!   mean_axis masked_mean`, `log_softmax softmax gather concat slice_cols split`.
//!   [`Tape::value`] reads a value, [`Tape::backward`] adds parameter gradients into
//!   [`Grads`], [`Tape::reset`] starts the next pass keeping every buffer.
//! - [`ParamStore`]: named parameters (RLlib/torch names such as
//!   `encoder.actor_encoder.net.mlp.0.weight`), serde-serializable, loadable from
//!   `(name, shape, values)` with typed errors ([`NnError`]). [`Grads`] mirrors it.
//! - Layers: [`Linear`], [`Mlp`] ([`MlpConfig`], [`Activation`]), each with `forward` on a
//!   tape and a no-grad `forward_array` on plain arrays for acting.
//! - Initializers ([`Init`], module [`init`]): torch's Linear default, orthogonal, Xavier.
//! - Optimizers: [`Adam`] (torch semantics, serializable state), [`Sgd`],
//!   [`clip_grad_norm`].
//! - [`distributions`]: `Categorical`, `DiagGaussian`, [`ActionDistKind`]; on arrays for
//!   acting and on the tape for losses (RLlib's conventions).
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
//! Matrix products run on one thread unless [`set_num_threads`] allows more (via `gemm`'s
//! rayon parallelism, used only for large products).

pub mod distributions;
mod error;
pub mod init;
pub mod kernels;
mod layers;
mod optim;
mod params;
mod tape;

pub use distributions::{ActionDistKind, Categorical, DiagGaussian};
pub use error::NnError;
pub use init::Init;
pub use kernels::{num_threads, set_num_threads};
pub use layers::{Activation, Linear, Mlp, MlpConfig, Workspace};
pub use optim::{clip_grad_norm, Adam, Sgd};
pub use params::{Grads, NamedParam, ParamId, ParamStore};
pub use tape::{Tape, Var};

/// The random-number generator used everywhere in the workspace: seeded explicitly,
/// serializable (its state goes into checkpoints), fast.
pub type Rng = rand_pcg::Pcg64;
