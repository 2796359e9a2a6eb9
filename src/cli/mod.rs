//! The `rl` command line (feature `cli`, on by default): `rl train`, `rl tune`, `rl evaluate`,
//! `rl resume`, `rl envs`, `rl check-env`, `rl config show`, `rl plot`, `rl completions`.
//!
//! The argument structs ([`RunArgs`], [`EvaluateArgs`], [`OutputArgs`]) are public so that
//! examples and users' own binaries read the same flags (`#[command(flatten)]`). Exit
//! codes: 0 success, 2 usage errors (bad flags, unknown config keys, bad values, unknown
//! names), 1 run failures (a corrupted checkpoint, an env that fails); errors are one line
//! on stderr, without a backtrace. `docs/cli.md` is the manual.

pub mod args;
pub mod commands;
pub mod experiment;
pub mod progress;
pub mod sweep;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use rl_core::algorithm::AlgorithmError;
use rl_core::env::EnvError;

pub use args::{EvaluateArgs, KeyValue, OutputArgs, RunArgs, StopArg};
pub use experiment::{RunPlan, StopCriteria};

/// Why a command failed, and so its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command cannot run as asked (exit code 2): a bad flag, file, key or value.
    #[error("{0}")]
    Usage(String),
    /// The command ran and failed (exit code 1).
    #[error("{0}")]
    Run(String),
}

impl CliError {
    /// 2 for usage errors, 1 for run failures.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Run(_) => 1,
        }
    }

    /// An error building an algorithm: its config or env is what the user got wrong.
    pub fn building(e: AlgorithmError) -> Self {
        match e {
            AlgorithmError::Config(_)
            | AlgorithmError::Env(EnvError::UnknownEnv { .. } | EnvError::InvalidArgument { .. }) => {
                CliError::Usage(e.to_string())
            }
            other => CliError::Run(other.to_string()),
        }
    }
}

impl From<AlgorithmError> for CliError {
    fn from(e: AlgorithmError) -> Self {
        CliError::Run(e.to_string())
    }
}

/// `rl`: RLlib's workflow from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "rl",
    version,
    about = "Train, tune, evaluate and plot RL algorithms with RLlib's names (PPO on CartPole-v1, …)",
    after_help = "Examples:\n  rl train --config configs/cartpole_ppo.toml\n  rl tune --config configs/tune_minibatch.toml\n  rl train --algo PPO --env CartPole-v1 --set lr=1e-4 --stop training_iteration=20\n  rl evaluate ~/rl_results/PPO_CartPole-v1_.../checkpoint_000000 --render\n  rl plot ~/rl_results/PPO_CartPole-v1_...\n\nExit codes: 0 success, 1 run failure, 2 usage error. Manual: docs/cli.md"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Trains an algorithm until the stop criterion, writing Tune's trial files, a
    /// TensorBoard events file and checkpoints.
    Train(commands::train::TrainArgs),
    /// Runs a Ray Tune sweep from a sweep file: trials, schedulers, checkpoints, resume.
    Tune(commands::tune::TuneArgs),
    /// Evaluates a checkpoint: episode returns of its policy.
    Evaluate(commands::evaluate::EvaluateCmd),
    /// Continues a run from its latest checkpoint until its stop criterion.
    Resume(commands::resume::ResumeArgs),
    /// Lists the registered envs with their spaces.
    Envs,
    /// Checks a registered env against Gymnasium's env contract.
    CheckEnv(commands::envs::CheckEnvArgs),
    /// Shows algorithm configs.
    #[command(subcommand)]
    Config(commands::config::ConfigCmd),
    /// Writes learning curves (PNG and SVG) of a run or a sweep into its directory.
    Plot(commands::plot::PlotArgs),
    /// Prints a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(commands::completions::CompletionsArgs),
}

impl Command {
    /// Runs the command.
    pub fn run(self) -> Result<(), CliError> {
        match self {
            Command::Train(a) => commands::train::run(a),
            Command::Tune(a) => commands::tune::run(a),
            Command::Evaluate(a) => commands::evaluate::run(a),
            Command::Resume(a) => commands::resume::run(a),
            Command::Envs => commands::envs::list(),
            Command::CheckEnv(a) => commands::envs::check(a),
            Command::Config(c) => commands::config::run(c),
            Command::Plot(a) => commands::plot::run(a),
            Command::Completions(a) => commands::completions::run(a, &mut Cli::command()),
        }
    }
}

/// Reports `result` the `rl` way: `error: …` on one line and exit code 2 or 1.
pub fn exit_with(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: a multi-line message would look like a backtrace in CI logs.
            let msg = e.to_string().replace('\n', " ");
            eprintln!("error: {msg}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The `rl` binary's `main`: parses the arguments (clap prints usage errors and exits
/// with 2), runs the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    exit_with(cli.command.run())
}
