//! `check_env` on arbitrary envs (spaces, observations, rewards, flags, panics and errors
//! all drawn from random bytes): it reports, it never panics itself, and it ends.
//! 10,000 cases.

use proptest::prelude::*;
use rl_core::env::check_env;
use rl_core::testing::scripted_env::ScriptedEnv;

/// 10,000 cases in the suite; `RL_PROPTEST_CASES=N` runs a longer campaign.
fn cases() -> u32 {
    std::env::var("RL_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn the_checker_survives_any_env(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        // The envs panic on purpose; the checker catches it. Keep the output quiet.
        std::panic::set_hook(Box::new(|_| {}));
        let violations = check_env(&mut ScriptedEnv::from_bytes(&bytes));
        let _ = std::panic::take_hook();
        let mut kinds: Vec<_> = violations.iter().map(|v| v.check).collect();
        let n = kinds.len();
        kinds.sort();
        kinds.dedup();
        prop_assert_eq!(kinds.len(), n, "each kind is reported once");
        for v in &violations {
            prop_assert!(v.count >= 1 && !v.message.is_empty());
        }
    }
}
