//! Same config and seed ⇒ the same bytes on every CPU: a short PPO run (2 env runners,
//! evaluation, products large enough to split over threads) on every rl-nn kernel path this
//! CPU can run (plain Rust — what aarch64 and x86-64 without AVX2 run —, AVX2, AVX-512), and
//! with 1 or 2 threads per product, gives byte-identical results (timings aside, as written
//! to `result.json`) and byte-identical checkpoint state (weights, Adam, RNGs, envs).
//!
//! One test in this file: the kernel path is process-wide
//! (`rl_nn::kernels::force_path`).

use std::path::{Path, PathBuf};

use rl_algos::{Algorithm, PPOConfig};
use rl_nn::kernels::{self, KernelPath};
use serde_json::Value;

mod common;
use common::{state_files, strip_timings};

fn config() -> PPOConfig {
    PPOConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(2).num_envs_per_env_runner(2))
        .training(|t| {
            // 512 × 64 × 64 products: above the size at which products use two threads.
            t.train_batch_size(1024)
                .minibatch_size(512)
                .num_epochs(2)
                .lr(1e-3)
                .entropy_coeff(0.01)
        })
        .rl_module(|m| m.fcnet_hiddens(vec![64, 64]))
        .evaluation(|e| e.evaluation_interval(Some(2)).evaluation_duration(3))
        .debugging(Some(5))
}

/// The results' bytes (one JSON line per iteration, as `result.json`) and the checkpoint's
/// state files after 3 iterations.
fn run(dir: &Path) -> (Vec<u8>, Vec<(String, Vec<u8>)>) {
    let mut algo = config().build().unwrap();
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut r = Value::Object(algo.train().unwrap());
        strip_timings(&mut r);
        serde_json::to_writer(&mut lines, &r).unwrap();
        lines.push(b'\n');
    }
    let ckpt = algo.save_to_path(dir).unwrap();
    (lines, state_files(&ckpt))
}

/// 64-bit FNV-1a over the results and every state file (name and bytes): fully specified,
/// so the same on every platform.
fn fnv1a(results: &[u8], state: &[(String, Vec<u8>)]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let files = state.iter().flat_map(|(f, b)| [f.as_bytes(), b.as_slice()]);
    for bytes in std::iter::once(results).chain(files) {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

#[test]
fn every_kernel_path_gives_the_same_results_and_checkpoint() {
    let root: PathBuf =
        std::env::temp_dir().join(format!("rl-kernel-paths-{}", std::process::id()));
    let mut runs = Vec::new();
    for path in kernels::available_paths() {
        for threads in [1, 2] {
            kernels::force_path(Some(path)).unwrap();
            rl_nn::set_num_threads(threads);
            let name = format!("{path}, {threads} thread(s)");
            let out = run(&root.join(format!("{path}-{threads}")));
            runs.push((name, out));
        }
    }
    kernels::force_path(None).unwrap();
    rl_nn::set_num_threads(1);
    let _ = std::fs::remove_dir_all(&root);

    let (first, (want_results, want_state)) = &runs[0];
    assert!(want_results.len() > 1000 && want_state.len() >= 3);
    for (name, (results, state)) in &runs[1..] {
        let line = results
            .split(|&b| b == b'\n')
            .zip(want_results.split(|&b| b == b'\n'))
            .position(|(a, b)| a != b);
        assert!(
            results == want_results,
            "{name}: results differ from {first}'s (iteration {:?})",
            line.map(|l| l + 1)
        );
        assert_eq!(state.len(), want_state.len());
        for ((file, bytes), (want_file, want_bytes)) in state.iter().zip(want_state) {
            assert_eq!(file, want_file);
            assert!(
                bytes == want_bytes,
                "{name}: checkpoint file {file} differs from {first}'s"
            );
        }
    }
    // Printed so that a run on another machine (`--nocapture`, e.g. an aarch64 build under
    // qemu-user) can be compared with this one by eye: the same bytes give the same value.
    println!(
        "fingerprint of the run: {:016x}",
        fnv1a(want_results, want_state)
    );
    println!(
        "compared {}",
        runs.iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    if KernelPath::Avx2.is_available() {
        assert!(
            runs.len() >= 4,
            "AVX2 and the plain-Rust path were both compared"
        );
    }
}
