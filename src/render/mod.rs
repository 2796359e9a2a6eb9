//! Environments drawn as text, for `rl evaluate --render` in a terminal.

pub mod cartpole;

pub use cartpole::{render_observation, CartPoleRenderer, CartPoleState, RenderError};
