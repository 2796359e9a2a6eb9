//! Which instruction set the kernels run on: detected once, or forced for tests and
//! benchmarks. Every path gives the same bits (see the `kernels` module docs); forcing one
//! only changes the speed.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};

use crate::NnError;

/// The environment variable read once, at the first product, to force a kernel path
/// (`portable`, `avx2` or `avx512`), for benchmarks; tests call [`force_path`] instead.
pub const KERNEL_PATH_ENV: &str = "RL_NN_KERNEL_PATH";

/// An implementation of rl-nn's kernels. All of them compute every value in the same order
/// with the same roundings, so they give bit-identical results; they differ in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelPath {
    /// Plain Rust, for any CPU: the compiler vectorizes it where the target has vector FMA
    /// (NEON on aarch64); on an x86-64 CPU without AVX2 and FMA it runs scalar.
    Portable,
    /// x86-64 with AVX2 and FMA (8 lanes).
    Avx2,
    /// x86-64 with AVX-512F (16 lanes).
    Avx512,
}

impl KernelPath {
    /// Every path, slowest first.
    pub const ALL: [KernelPath; 3] = [KernelPath::Portable, KernelPath::Avx2, KernelPath::Avx512];

    /// The name used by [`KERNEL_PATH_ENV`] and [`FromStr`]: `portable`, `avx2`, `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            KernelPath::Portable => "portable",
            KernelPath::Avx2 => "avx2",
            KernelPath::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run the path.
    pub fn is_available(self) -> bool {
        match self {
            KernelPath::Portable => true,
            KernelPath::Avx2 => has_avx2_fma(),
            KernelPath::Avx512 => has_avx512f(),
        }
    }

    fn code(self) -> u8 {
        match self {
            KernelPath::Portable => 1,
            KernelPath::Avx2 => 2,
            KernelPath::Avx512 => 3,
        }
    }

    fn from_code(c: u8) -> Self {
        match c {
            2 => KernelPath::Avx2,
            3 => KernelPath::Avx512,
            _ => KernelPath::Portable,
        }
    }
}

impl fmt::Display for KernelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KernelPath {
    type Err = NnError;
    fn from_str(s: &str) -> Result<Self, NnError> {
        KernelPath::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                NnError::Kernel(format!(
                    "unknown kernel path {s:?}; use one of portable, avx2, avx512"
                ))
            })
    }
}

/// The paths this CPU can run, slowest first (always starts with
/// [`KernelPath::Portable`]).
pub fn available_paths() -> Vec<KernelPath> {
    KernelPath::ALL
        .into_iter()
        .filter(|p| p.is_available())
        .collect()
}

/// The fastest path this CPU can run.
pub fn detected_path() -> KernelPath {
    available_paths().pop().unwrap_or(KernelPath::Portable)
}

/// 0 until the first use; then a [`KernelPath::code`].
static ACTIVE: AtomicU8 = AtomicU8::new(0);

/// The path the kernels run on: forced by [`force_path`], else by [`KERNEL_PATH_ENV`] (read
/// once), else [`detected_path`].
#[inline]
pub fn active_path() -> KernelPath {
    match ACTIVE.load(Ordering::Relaxed) {
        0 => init_from_env(),
        c => KernelPath::from_code(c),
    }
}

#[cold]
fn init_from_env() -> KernelPath {
    let path = match std::env::var(KERNEL_PATH_ENV) {
        Ok(v) => match v.parse::<KernelPath>() {
            Ok(p) if p.is_available() => p,
            Ok(p) => {
                eprintln!(
                    "rl-nn: {KERNEL_PATH_ENV}={v}: this CPU cannot run the {p} kernels; using {}",
                    detected_path()
                );
                detected_path()
            }
            Err(e) => {
                eprintln!("rl-nn: {KERNEL_PATH_ENV}: {e}; using {}", detected_path());
                detected_path()
            }
        },
        Err(_) => detected_path(),
    };
    // A concurrent `force_path` wins over the environment.
    let _ = ACTIVE.compare_exchange(0, path.code(), Ordering::Relaxed, Ordering::Relaxed);
    KernelPath::from_code(ACTIVE.load(Ordering::Relaxed))
}

/// Forces the kernels onto `path` for the whole process (`None`: back to
/// [`detected_path`]). Meant for tests and benchmarks that compare paths: the results do
/// not change, only the speed. Errors, changing nothing, if this CPU cannot run `path`.
pub fn force_path(path: Option<KernelPath>) -> Result<(), NnError> {
    let p = path.unwrap_or_else(detected_path);
    if !p.is_available() {
        return Err(NnError::Kernel(format!(
            "this CPU cannot run the {p} kernels; available: {}",
            available_paths()
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    ACTIVE.store(p.code(), Ordering::Relaxed);
    Ok(())
}

/// Whether the CPU has AVX2 and FMA (cached by the standard library).
#[inline]
fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether the CPU has AVX-512F (cached by the standard library). AVX-512F implies AVX2 and
/// FMA.
#[inline]
fn has_avx512f() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && has_avx2_fma()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
