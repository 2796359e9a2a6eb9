//! The TensorBoard event file, read back by a reader of our own written here from the
//! formats' specs (a bitwise CRC-32C, not the library's table; a generic protobuf walker):
//! every record's two checksums, the file version, and every tag, step and value of real
//! PPO results against Tune's rules.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rl::algos::ppo::presets;
use rl::algos::Algorithm;
use rl::core::metrics::{flatten, ResultDict, TrialWriter};
use rl::logger::{ResultLogger, TensorBoardLogger};
use serde_json::{json, Value};

fn crc32c_bitwise(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn masked(data: &[u8]) -> u32 {
    crc32c_bitwise(data)
        .rotate_right(15)
        .wrapping_add(0xA282_EAD8)
}

/// Splits a TFRecord file into its records' data, checking both CRCs of each.
fn read_records(bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut records = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let take = |pos: usize, n: usize| {
            bytes
                .get(pos..pos + n)
                .ok_or(format!("record {} truncated at byte {pos}", records.len()))
        };
        let len_bytes = take(pos, 8)?;
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
        let len_crc = u32::from_le_bytes(take(pos + 8, 4)?.try_into().unwrap());
        if len_crc != masked(len_bytes) {
            return Err(format!("record {}: length CRC mismatch", records.len()));
        }
        let data = take(pos + 12, len)?;
        let data_crc = u32::from_le_bytes(take(pos + 12 + len, 4)?.try_into().unwrap());
        if data_crc != masked(data) {
            return Err(format!("record {}: data CRC mismatch", records.len()));
        }
        records.push(data);
        pos += 12 + len + 4;
    }
    Ok(records)
}

/// One protobuf field: number and value (varint, fixed64/32 as raw bits, or bytes).
enum Field<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Bytes(&'a [u8]),
}

fn parse_fields(mut buf: &[u8]) -> Vec<(u64, Field<'_>)> {
    fn varint(buf: &mut &[u8]) -> u64 {
        let mut v = 0u64;
        for shift in (0..).step_by(7) {
            let b = buf[0];
            *buf = &buf[1..];
            v |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    }
    let mut fields = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf);
        let field = match key & 7 {
            0 => Field::Varint(varint(&mut buf)),
            1 => {
                let (v, rest) = buf.split_at(8);
                buf = rest;
                Field::Fixed64(u64::from_le_bytes(v.try_into().unwrap()))
            }
            2 => {
                let n = varint(&mut buf) as usize;
                let (v, rest) = buf.split_at(n);
                buf = rest;
                Field::Bytes(v)
            }
            5 => {
                let (v, rest) = buf.split_at(4);
                buf = rest;
                Field::Fixed32(u32::from_le_bytes(v.try_into().unwrap()))
            }
            t => panic!("unexpected wire type {t}"),
        };
        fields.push((key >> 3, field));
    }
    fields
}

#[derive(Debug, Default)]
struct Event {
    wall_time: f64,
    step: i64,
    file_version: Option<String>,
    values: Vec<(String, f32)>,
}

fn decode_event(data: &[u8]) -> Event {
    let mut ev = Event::default();
    for (num, f) in parse_fields(data) {
        match (num, f) {
            (1, Field::Fixed64(bits)) => ev.wall_time = f64::from_bits(bits),
            (2, Field::Varint(v)) => ev.step = v as i64,
            (3, Field::Bytes(b)) => ev.file_version = Some(String::from_utf8(b.to_vec()).unwrap()),
            (5, Field::Bytes(summary)) => {
                for (num, value) in parse_fields(summary) {
                    let (1, Field::Bytes(value)) = (num, value) else {
                        panic!("Summary holds only `value` (field 1)")
                    };
                    let mut tag = None;
                    let mut simple = None;
                    for (num, f) in parse_fields(value) {
                        match (num, f) {
                            (1, Field::Bytes(b)) => {
                                tag = Some(String::from_utf8(b.to_vec()).unwrap())
                            }
                            (2, Field::Fixed32(bits)) => simple = Some(f32::from_bits(bits)),
                            (n, _) => panic!("unexpected Summary.Value field {n}"),
                        }
                    }
                    ev.values.push((tag.unwrap(), simple.unwrap()));
                }
            }
            (n, _) => panic!("unexpected Event field {n}"),
        }
    }
    ev
}

fn read_events(path: &Path) -> Vec<Event> {
    let bytes = fs::read(path).unwrap();
    read_records(&bytes)
        .unwrap()
        .into_iter()
        .map(decode_event)
        .collect()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rl-tb-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Tune's rule restated from `tensorboardx.py`, independently of the library's code.
fn expected_scalars(result: &ResultDict) -> Vec<(String, f32)> {
    let skipped = [
        "config",
        "pid",
        "timestamp",
        "time_total_s",
        "training_iteration",
    ];
    flatten(result)
        .into_iter()
        .filter(|(k, _)| !skipped.contains(&k.as_str()))
        .filter_map(|(k, v)| {
            let x = match v {
                Value::Number(n) => n.as_f64()?,
                Value::Bool(b) => f64::from(u8::from(b)),
                _ => return None,
            };
            Some((format!("ray/tune/{k}"), x as f32))
        })
        .collect()
}

#[test]
fn ppo_results_round_trip_through_the_event_file() {
    let dir = temp_dir("ppo");
    let mut config = presets::cartpole_fast(0);
    config.set("evaluation_interval", json!(2)).unwrap();
    config.set("evaluation_duration", json!(2)).unwrap();
    let mut algo = config.build().unwrap();

    let t0 = now();
    // Through the seam, as a run would: Tune's trial files and the event file side by side.
    let mut loggers: Vec<Box<dyn ResultLogger>> = vec![
        Box::new(TrialWriter::create(&dir, &json!({})).unwrap()),
        Box::new(TensorBoardLogger::create(&dir).unwrap()),
    ];
    let mut results = Vec::new();
    for _ in 0..4 {
        let r = algo.train().unwrap();
        for l in &mut loggers {
            l.on_result(&r).unwrap();
        }
        results.push(r);
    }
    drop(loggers);
    let t1 = now();

    let files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    assert_eq!(files.len(), 1, "one event file in {}", dir.display());
    let events = read_events(&files[0]);
    assert_eq!(events.len(), 1 + results.len());
    assert_eq!(events[0].file_version.as_deref(), Some("brain.Event:2"));
    assert!(events[0].values.is_empty());

    for (ev, r) in events[1..].iter().zip(&results) {
        assert!(ev.wall_time >= t0 - 1.0 && ev.wall_time <= t1 + 1.0);
        assert_eq!(ev.step, r["training_iteration"].as_i64().unwrap());
        assert_eq!(ev.values, expected_scalars(r));
        let tags: Vec<&str> = ev.values.iter().map(|(t, _)| t.as_str()).collect();
        for tag in [
            "ray/tune/env_runners/episode_return_mean",
            "ray/tune/learners/default_policy/policy_loss",
            "ray/tune/num_env_steps_sampled_lifetime",
            "ray/tune/done",
        ] {
            assert!(tags.contains(&tag), "{tag} missing");
        }
        for tag in [
            "ray/tune/training_iteration",
            "ray/tune/timestamp",
            "ray/tune/time_total_s",
        ] {
            assert!(!tags.contains(&tag), "{tag} is not logged by Tune");
        }
        let has_eval = tags.contains(&"ray/tune/evaluation/env_runners/episode_return_mean");
        assert_eq!(has_eval, ev.step % 2 == 0, "evaluation every 2nd iteration");
    }

    // result.json beside it holds the same results, line for line.
    let lines = fs::read_to_string(dir.join("result.json")).unwrap();
    for (line, ev) in lines.lines().zip(&events[1..]) {
        let r: ResultDict = serde_json::from_str(line).unwrap();
        assert_eq!(ev.values, expected_scalars(&r));
    }
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn leaves_follow_tunes_type_rules() {
    let dir = temp_dir("types");
    let mut tb = TensorBoardLogger::create(&dir).unwrap();
    let r = json!({
        "training_iteration": 5, "timesteps_total": 2500, "time_total_s": 3.0,
        "done": true, "hostname": "vm", "nan_as_null": null, "histogram": [1.0, 2.0],
        "big": 134915, "neg": -1.5, "a": {"b": {"c": 0.25}}, "empty": {},
    });
    tb.on_result(r.as_object().unwrap()).unwrap();
    let events = read_events(tb.path());
    let ev = &events[1];
    assert_eq!(
        ev.step, 2500,
        "timesteps_total wins over training_iteration"
    );
    assert_eq!(
        ev.values,
        vec![
            ("ray/tune/a/b/c".to_string(), 0.25),
            ("ray/tune/big".to_string(), 134915.0),
            ("ray/tune/done".to_string(), 1.0),
            ("ray/tune/neg".to_string(), -1.5),
            ("ray/tune/timesteps_total".to_string(), 2500.0),
        ]
    );
    drop(tb);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_second_logger_never_overwrites_the_first() {
    let dir = temp_dir("two");
    let a = TensorBoardLogger::create(&dir).unwrap();
    let b = TensorBoardLogger::create(&dir).unwrap();
    assert_ne!(a.path(), b.path());
    assert!(b.path().to_str().unwrap().contains("events.out.tfevents."));
    drop((a, b));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_reader_catches_a_flipped_bit() {
    let dir = temp_dir("flip");
    let mut tb = TensorBoardLogger::create(&dir).unwrap();
    tb.write_scalars(1, [("x", 1.0f32)]).unwrap();
    tb.flush().unwrap();
    let mut bytes = fs::read(tb.path()).unwrap();
    assert!(read_records(&bytes).is_ok());
    let last = bytes.len() - 6; // inside the last record's data
    bytes[last] ^= 0x01;
    assert!(read_records(&bytes).unwrap_err().contains("data CRC"));
    bytes[last] ^= 0x01;
    bytes[0] ^= 0x01; // the first record's length
    assert!(read_records(&bytes).unwrap_err().contains("length CRC"));
    drop(tb);
    fs::remove_dir_all(&dir).unwrap();
}
