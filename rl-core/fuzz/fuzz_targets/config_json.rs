//! Any text as a JSON config: parsed and validated, or refused, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rl_algos::PPOConfig;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(c) = PPOConfig::from_json(&text) {
        let _ = c.validate();
        let _ = c.to_toml();
    }
});
