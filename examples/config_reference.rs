//! Prints the config reference (`docs/config.md`): every registered algorithm's keys, with
//! their types, defaults and doc lines, read from the doc comments on the config structs.
//!
//! ```sh
//! cargo run --example config_reference > docs/config.md
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    rl::algos::register_builtins();
    match rl::core::algorithm::config_reference() {
        Ok(markdown) => {
            print!("{markdown}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
