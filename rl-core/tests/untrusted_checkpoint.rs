//! A checkpoint from someone else cannot make the reader allocate without bound, reach
//! outside the checkpoint's directory, block, or panic: every entry point is tried with
//! hostile files (path traversal, absolute paths, symbolic links, devices, FIFOs, headers
//! claiming huge tensors) and with 10,000 random mutations of real files each.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rl_core::algorithm::checkpoint::{
    decode_safetensors, encode_safetensors, sha256_hex, CheckpointReader, CheckpointWriter,
    FileEntry, Metadata, FORMAT_VERSION, FRAMEWORK, FRAMEWORK_VERSION, METADATA_FILE,
};
use rl_core::env::Space;

/// A scratch directory, in memory where the machine has `/dev/shm` (10,000 cases of file
/// writes on a disk-backed `/tmp` take minutes here, in memory under a second).
fn tmp(name: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let d = base.join(format!("rl-untrusted-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn meta(files: BTreeMap<String, FileEntry>) -> Metadata {
    Metadata {
        format_version: FORMAT_VERSION,
        framework: FRAMEWORK.into(),
        framework_version: FRAMEWORK_VERSION.into(),
        checkpoint_type: "Algorithm".into(),
        algorithm: "Test".into(),
        modules: BTreeMap::new(),
        observation_space: Space::Discrete { n: 3, start: 0 },
        action_space: Space::Discrete { n: 2, start: 0 },
        training_iteration: 0,
        files,
    }
}

/// Writes `files` into `dir` as they are and a `metadata.json` listing `listed` (name →
/// content whose size and checksum are recorded), bypassing the writer's checks.
fn forge(dir: &Path, files: &[(&str, &[u8])], listed: &[(&str, &[u8])]) {
    for (name, bytes) in files {
        let p = dir.join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }
    let entries = listed
        .iter()
        .map(|(n, b)| {
            (
                n.to_string(),
                FileEntry {
                    bytes: b.len() as u64,
                    sha256: sha256_hex(b),
                },
            )
        })
        .collect();
    fs::write(
        dir.join(METADATA_FILE),
        serde_json::to_vec(&meta(entries)).unwrap(),
    )
    .unwrap();
}

#[test]
fn names_outside_the_checkpoint_are_refused_on_open() {
    let root = tmp("traversal");
    fs::write(root.join("secret"), b"outside").unwrap();
    for name in [
        "../secret",
        "/etc/passwd",
        "a/../../secret",
        "a\\..\\secret",
        "",
        ".",
        "./a",
        "a//b",
        "a/",
        "..",
    ] {
        let dir = root.join("ck");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        forge(&dir, &[], &[(name, b"outside")]);
        let err = CheckpointReader::open(&dir).unwrap_err().to_string();
        assert!(err.contains("not a plain relative path"), "{name:?}: {err}");
    }
    let _ = fs::remove_dir_all(&root);
}

#[cfg(unix)]
#[test]
fn links_devices_and_fifos_are_refused_quickly() {
    use std::os::unix::fs::symlink;
    let root = tmp("links");
    let outside = root.join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("w.bin"), b"payload").unwrap();
    type Make<'a> = Box<dyn Fn(&Path) + 'a>;
    let cases: Vec<(&str, Make)> = vec![
        (
            "file link",
            Box::new(|d: &Path| symlink(outside.join("w.bin"), d.join("w.bin")).unwrap()),
        ),
        (
            "directory link",
            Box::new(|d: &Path| {
                symlink(&outside, d.join("sub")).unwrap();
            }),
        ),
        (
            "device",
            Box::new(|d: &Path| symlink("/dev/zero", d.join("w.bin")).unwrap()),
        ),
        (
            "fifo",
            Box::new(|d: &Path| {
                let st = std::process::Command::new("mkfifo")
                    .arg(d.join("w.bin"))
                    .status()
                    .unwrap();
                assert!(st.success());
            }),
        ),
    ];
    for (what, make) in cases {
        let dir = root.join("ck");
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        make(&dir);
        let rel = if what == "directory link" {
            "sub/w.bin"
        } else {
            "w.bin"
        };
        // The metadata records the outside file's true size and checksum (or size 0 for
        // the device, whose metadata says 0): only the link check stands in the way.
        let content: &[u8] = if what == "device" || what == "fifo" {
            b""
        } else {
            b"payload"
        };
        forge(&dir, &[], &[(rel, content)]);
        let t = Instant::now();
        let r = CheckpointReader::open(&dir).unwrap();
        let err = r.read(rel).unwrap_err().to_string();
        assert!(t.elapsed() < Duration::from_secs(5), "{what} blocked");
        assert!(
            err.contains("symbolic link") || err.contains("not a regular file"),
            "{what}: {err}"
        );
    }
    // metadata.json itself as a link to a device.
    let dir = root.join("ck2");
    fs::create_dir_all(&dir).unwrap();
    symlink("/dev/zero", dir.join(METADATA_FILE)).unwrap();
    let err = CheckpointReader::open(&dir).unwrap_err().to_string();
    assert!(err.contains("symbolic link"), "{err}");
    let _ = fs::remove_dir_all(&root);
}

#[test]
fn a_header_claiming_huge_tensors_is_refused_before_allocating() {
    let huge_shape =
        br#"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#;
    let huge_offsets =
        br#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}}"#;
    let overflow =
        br#"{"w":{"dtype":"F32","shape":[18446744073709551615,2,3],"data_offsets":[0,8]}}"#;
    for head in [&huge_shape[..], &huge_offsets[..], &overflow[..]] {
        let mut f = (head.len() as u64).to_le_bytes().to_vec();
        f.extend_from_slice(head);
        f.extend_from_slice(&[0; 8]);
        assert!(decode_safetensors(&f).is_err());
    }
    // A header length beyond the file, or beyond any plausible header.
    let mut f = u64::MAX.to_le_bytes().to_vec();
    f.extend_from_slice(b"{}");
    assert!(decode_safetensors(&f)
        .unwrap_err()
        .contains("header length"));
    let mut f = (1u64 << 40).to_le_bytes().to_vec();
    f.extend_from_slice(b"{}");
    assert!(decode_safetensors(&f).is_err());
}

fn sample_safetensors() -> Vec<u8> {
    let a = [1.0f32, -2.0, 3.5, 4.0, 5.0, 6.0];
    let b = [0.25f32, 0.5];
    let mut m = BTreeMap::new();
    m.insert("format".to_string(), "pt".to_string());
    encode_safetensors(&[("w", &[2, 3], &a), ("b", &[2], &b)], &m)
}

fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: usize, extra: &[u8]) -> Vec<u8> {
    for &(at, b) in edits {
        if !bytes.is_empty() {
            let i = at % bytes.len();
            bytes[i] = b;
        }
    }
    let keep = cut % (bytes.len() + 1);
    if keep > 0 {
        bytes.truncate(keep);
    }
    bytes.extend_from_slice(extra);
    bytes
}

/// 10,000 cases in the suite; `RL_PROPTEST_CASES=N` runs a longer campaign.
fn cases() -> u32 {
    std::env::var("RL_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Random mutations of a real safetensors file (and random bytes) decode or error,
    /// never panic; what decodes is self-consistent.
    #[test]
    fn safetensors_header_mutations_never_panic(
        edits in proptest::collection::vec((0usize..400, any::<u8>()), 0..8),
        cut in any::<usize>(),
        extra in proptest::collection::vec(any::<u8>(), 0..16),
        random in any::<bool>(),
    ) {
        let base = if random { extra.clone() } else { sample_safetensors() };
        let bytes = mutate(base, &edits, cut, &extra);
        if let Ok(tensors) = decode_safetensors(&bytes) {
            for t in tensors {
                let n: usize = t.shape.iter().product();
                prop_assert_eq!(t.data.len(), n);
                prop_assert!(t.data.len() * 4 <= bytes.len());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// A checkpoint directory whose metadata and data files are mutated at random (the
    /// metadata then recording the mutated files' true checksums, so that parsing is
    /// reached) opens and reads or errors, never panics, and never names a path outside.
    #[test]
    fn mutated_checkpoint_files_never_panic(
        which in 0usize..3,
        edits in proptest::collection::vec((0usize..2000, any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        thread_local! {
            static DIR: PathBuf = {
                let root = tmp("mutated");
                let dir = root.join("ck");
                let mut w = CheckpointWriter::begin(&dir).unwrap();
                w.write_json("state.json", &serde_json::json!({"a": [1, 2, {"b": "c"}], "n": 1.5})).unwrap();
                w.write("learner/w.safetensors", &sample_safetensors()).unwrap();
                w.commit(meta(BTreeMap::new())).unwrap();
                dir
            };
        }
        DIR.with(|dir| {
            let meta_bytes = fs::read(dir.join(METADATA_FILE)).unwrap();
            let originals: Vec<(String, Vec<u8>)> = ["state.json", "learner/w.safetensors"]
                .iter()
                .map(|n| (n.to_string(), fs::read(dir.join(n)).unwrap()))
                .collect();
            let mut files = originals.clone();
            let mut meta_text = meta_bytes.clone();
            if which == 2 {
                meta_text = mutate(meta_text, &edits, cut, b"");
            } else {
                files[which].1 = mutate(files[which].1.clone(), &edits, cut, b"");
                let mut m: serde_json::Value = serde_json::from_slice(&meta_bytes).unwrap();
                m["files"][&files[which].0] = serde_json::json!({
                    "bytes": files[which].1.len(),
                    "sha256": sha256_hex(&files[which].1),
                });
                meta_text = serde_json::to_vec(&m).unwrap();
            }
            for (n, b) in &files {
                fs::write(dir.join(n), b).unwrap();
            }
            fs::write(dir.join(METADATA_FILE), &meta_text).unwrap();
            if let Ok(r) = CheckpointReader::open(dir) {
                for rel in r.metadata().files.keys() {
                    let p = r.path(rel);
                    assert!(p.starts_with(dir) && !rel.contains(".."), "{rel:?}");
                    let _ = r.read_json::<serde_json::Value>(rel);
                    let _ = r.read_safetensors(rel);
                }
            }
            for (n, b) in &originals {
                fs::write(dir.join(n), b).unwrap();
            }
            fs::write(dir.join(METADATA_FILE), &meta_bytes).unwrap();
        });
    }
}
