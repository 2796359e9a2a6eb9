//! The error type of rl-nn.

use thiserror::Error;

/// Errors from loading parameters, restoring optimizer state, building distributions
/// from malformed inputs, or forcing a kernel path.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NnError {
    /// No parameter has this name.
    #[error("unknown parameter `{0}`")]
    UnknownParam(String),
    /// A parameter with this name already exists.
    #[error("duplicate parameter `{0}`")]
    DuplicateParam(String),
    /// The given shape does not match the parameter's.
    #[error("parameter `{name}`: shape {got:?} does not match {expected:?}")]
    ShapeMismatch {
        /// The parameter's name.
        name: String,
        /// Its shape in the store (`[rows, cols]`).
        expected: Vec<usize>,
        /// The shape given.
        got: Vec<usize>,
    },
    /// The number of values does not match the shape.
    #[error("parameter `{name}`: {got} values for shape {shape:?}")]
    ValueCount {
        /// The parameter's name.
        name: String,
        /// The declared shape.
        shape: Vec<usize>,
        /// How many values were given.
        got: usize,
    },
    /// Optimizer state or gradients that do not match the parameter store.
    #[error("state does not match the parameters: {0}")]
    StateMismatch(String),
    /// Distribution inputs of the wrong size (e.g. an odd number for a diagonal Gaussian).
    #[error("invalid distribution inputs: {0}")]
    InvalidDistInputs(String),
    /// An action that does not fit the distribution (wrong size, index out of range).
    #[error("invalid action: {0}")]
    InvalidAction(String),
    /// A kernel path this CPU cannot run, or an unknown path name.
    #[error("kernel path: {0}")]
    Kernel(String),
    /// A tape op got operands whose shapes do not fit (e.g. they do not broadcast). The
    /// tape records the first such error and refuses to run backward ([`Tape::check`]).
    ///
    /// [`Tape::check`]: crate::Tape::check
    #[error("tape: {0}")]
    Shape(String),
}
