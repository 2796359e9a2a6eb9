//! One module per `rl` subcommand.

pub mod completions;
pub mod config;
pub mod envs;
pub mod evaluate;
pub mod plot;
pub mod resume;
pub mod train;
pub mod tune;
