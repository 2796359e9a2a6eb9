//! The soak example (`examples/soak.rs`) on a run of seconds: its report has every field,
//! they parse, checkpoints are saved, restored into fresh algorithms and cleaned up; and
//! the summary's RSS slope is the least-squares slope over the samples after warm-up.

#[allow(dead_code)] // The example's `main` is not used here.
#[path = "../../examples/soak.rs"]
mod soak;

use clap::Parser;
use serde_json::{json, Value};

fn num(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("`{key}` is not a number in {v}"))
}

#[test]
fn tiny_soak_reports_every_field() {
    let args = soak::SoakArgs {
        env_steps: 3000, // 6 iterations of the seed's 500 steps
        sample_every: 1,
        checkpoint_every: 2,
        restore_every: 2,
        seed: 0,
    };
    let report = soak::run(&args).expect("the soak runs");
    assert!(num(&report, "env_steps") >= 3000.0);
    assert_eq!(report["iterations"], json!(6));
    assert_eq!(report["checkpoints_saved"], json!(3));
    assert_eq!(report["checkpoints_restored"], json!(1));
    assert!(num(&report, "wall_s") > 0.0);

    let samples = report["samples"].as_array().expect("samples");
    assert_eq!(samples.len(), 7, "one at the start and one per iteration");
    for (i, s) in samples.iter().enumerate() {
        assert_eq!(s["iteration"], json!(i));
        assert_eq!(num(s, "env_steps"), 500.0 * i as f64);
        if cfg!(target_os = "linux") {
            assert!(num(s, "rss_bytes") > 1e6, "{s}");
            assert!(num(s, "open_fds") >= 3.0, "{s}");
            assert!(num(s, "threads") >= 1.0, "{s}");
        }
    }
    let summary = &report["summary"];
    if cfg!(target_os = "linux") {
        for key in ["rss_bytes_start", "rss_bytes_after_warmup", "rss_bytes_end"] {
            assert!(num(summary, key) > 1e6, "{key}: {summary}");
        }
        num(summary, "rss_slope_bytes_per_million_env_steps");
        // Samples from 300 env steps (10% of 3000) on: iterations 1 to 6.
        assert_eq!(summary["rss_samples_in_slope"], json!(6));
        for key in ["open_fds", "threads"] {
            assert!(num(&summary[key], "min") <= num(&summary[key], "max"));
        }
    }
    let dir = std::env::temp_dir().join(format!("rl-soak-{}", std::process::id()));
    assert!(
        !dir.exists(),
        "temporary checkpoints left in {}",
        dir.display()
    );
}

#[test]
fn rss_slope_is_least_squares_after_warmup() {
    // Warm-up (below 10% of 10M steps) grows fast; afterwards RSS grows 2,000 bytes per
    // million steps, with ±100 bytes of alternating noise that least squares averages out.
    let sample = |steps: u64, rss: f64, fds: u64| json!({"env_steps": steps, "rss_bytes": rss, "open_fds": fds, "threads": 3});
    let noise = |k: u64| if k.is_multiple_of(2) { 100.0 } else { -100.0 };
    let mut samples = vec![sample(0, 1e6, 5), sample(500_000, 5e7, 9)];
    for k in 1..=10u64 {
        samples.push(sample(k * 1_000_000, 6e7 + 2000.0 * k as f64 + noise(k), 6));
    }
    let summary = soak::summarize(&samples, 10_000_000);
    let slope = num(&summary, "rss_slope_bytes_per_million_env_steps");
    // Exact least squares of the noisy line: 2000 + (the noise's covariance with k) / var(k).
    let mk = 5.5;
    let cov: f64 = (1..=10u64).map(|k| (k as f64 - mk) * noise(k)).sum();
    let var: f64 = (1..=10u64).map(|k| (k as f64 - mk).powi(2)).sum();
    assert!((slope - (2000.0 + cov / var)).abs() < 1e-6, "{summary}");
    assert_eq!(summary["rss_samples_in_slope"], json!(10));
    assert_eq!(num(&summary, "rss_bytes_start"), 1e6);
    assert_eq!(
        num(&summary, "rss_bytes_after_warmup"),
        6e7 + 2000.0 - 100.0
    );
    assert_eq!(num(&summary, "rss_bytes_end"), 6e7 + 20000.0 + 100.0);
    assert_eq!(summary["open_fds"], json!({"min": 5.0, "max": 9.0}));
    // With RSS unavailable (not Linux), the figures say so instead of failing.
    let blind = vec![json!({"env_steps": 0, "rss_bytes": null, "open_fds": null})];
    let summary = soak::summarize(&blind, 10);
    assert_eq!(
        summary["rss_slope_bytes_per_million_env_steps"],
        "unavailable"
    );
    assert_eq!(summary["open_fds"], "unavailable");
}

#[test]
fn flags_keep_their_names_and_defaults_and_refuse_zero_cadences() {
    let parse = |flags: &str| {
        let args = ["soak"].into_iter().chain(flags.split_whitespace());
        soak::SoakArgs::try_parse_from(args).map(|a| {
            let cadences = (a.sample_every, a.checkpoint_every, a.restore_every);
            (a.env_steps, cadences, a.seed)
        })
    };
    let defaults = parse("").expect("no flags: the defaults");
    assert_eq!(defaults, (10_000_000, (100, 100, 10), 0));
    let all = "--env-steps 5 --sample-every 2 --checkpoint-every 3 --restore-every 4 --seed 7";
    assert_eq!(parse(all).expect("every flag"), (5, (2, 3, 4), 7));
    for flag in ["--sample-every", "--checkpoint-every", "--restore-every"] {
        let e = parse(&format!("{flag} 0")).expect_err("a cadence of 0 is refused");
        assert!(e.to_string().contains(flag), "{flag}: {e}");
    }
    parse("--env-step 5").expect_err("an unknown flag is refused");
}
