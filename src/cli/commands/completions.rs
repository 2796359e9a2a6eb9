//! `rl completions SHELL`: the shell completion script, from the same clap definition.

use clap::Args;
use clap_complete::Shell;

use crate::cli::CliError;

/// `rl completions`'s flags.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Prints the completion script for `args.shell` (e.g. `rl completions bash >
/// ~/.local/share/bash-completion/completions/rl`).
pub fn run(args: CompletionsArgs, command: &mut clap::Command) -> Result<(), CliError> {
    clap_complete::generate(args.shell, command, "rl", &mut std::io::stdout());
    Ok(())
}
