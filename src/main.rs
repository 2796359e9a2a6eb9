//! The `rl` command line; see `rl --help` and `docs/cli.md`.

fn main() -> std::process::ExitCode {
    rl::cli::main()
}
