//! `check_env` on an env made from any bytes (`ScriptedEnv`): it reports, never panics
//! itself, and ends. The env's own panics are caught by the checker, so libFuzzer's
//! abort-on-panic hook is replaced by a silent one for them; a panic escaping the checker
//! still aborts (libfuzzer-sys catches it and aborts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rl_core::env::check_env;
use rl_core::testing::scripted_env::ScriptedEnv;

fuzz_target!(|data: &[u8]| {
    std::panic::set_hook(Box::new(|_| {}));
    let v = check_env(&mut ScriptedEnv::from_bytes(data));
    let mut kinds: Vec<_> = v.iter().map(|v| v.check).collect();
    let n = kinds.len();
    kinds.sort();
    kinds.dedup();
    assert_eq!(kinds.len(), n);
});
