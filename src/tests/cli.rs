//! The `rl` binary, run as a user runs it: files a training run writes, exit codes and
//! one-line errors, evaluation of a checkpoint (and of a corrupted one), the listing
//! commands, `--json` lines, resume, plots, completions. Each run is a few PPO iterations
//! of the seed's config (seconds).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// PPO on CartPole-v1 with 200-step iterations: the quickest run that trains.
const SMALL_PPO: [&str; 8] = [
    "--env",
    "CartPole-v1",
    "--set",
    "train_batch_size=200",
    "--set",
    "minibatch_size=100",
    "--set",
    "num_epochs=1",
];

fn rl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rl"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the rl binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rl-cli-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts the command failed with `code` and a one-line `error: …` message; returns it.
fn one_line_error(o: &Output, code: i32) -> String {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr: {err}\nstdout: {}",
        stdout(o)
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    lines[0].to_string()
}

/// Two iterations of the seed's Part 1 with a checkpoint at the end, trained once and
/// shared by the tests that read a run.
fn trained_run() -> &'static (PathBuf, Output) {
    static RUN: OnceLock<(PathBuf, Output)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = scratch("train").join("run");
        let o = rl(&[
            "train",
            "--config",
            "configs/cartpole_ppo.toml",
            "--stop",
            "training_iteration=2",
            "--output",
            s(&dir),
            "--checkpoint-at-end",
        ]);
        assert!(o.status.success(), "rl train failed: {}", stderr(&o));
        (dir, o)
    })
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn train_writes_trial_files_tensorboard_events_and_a_checkpoint() {
    let (dir, out) = trained_run();
    let results = read_lines(&dir.join("result.json"));
    let iterations: Vec<u64> = results
        .iter()
        .map(|r| r["training_iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(iterations, [1, 2]);
    let csv = std::fs::read_to_string(dir.join("progress.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "header and two rows: {csv}");
    let params: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("params.json")).unwrap()).unwrap();
    // The file's keys reached the config.
    assert_eq!(params["minibatch_size"], 128);
    assert_eq!(params["train_batch_size"], 500);
    assert_eq!(params["num_env_runners"], 2);
    assert_eq!(params["lr"], 0.0003);
    assert_eq!(params["checkpoint_at_end"], true);
    let events: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents.")
        })
        .collect();
    assert_eq!(events.len(), 1);
    assert!(events[0].metadata().unwrap().len() > 0);
    assert!(dir
        .join("checkpoint_000000")
        .join("metadata.json")
        .is_file());
    // Not a terminal: one plain line per iteration, then where the files are.
    let text = stdout(out);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("iter ")).count(),
        2,
        "{text}"
    );
    assert!(
        text.contains(&format!("results in {}", dir.display())),
        "{text}"
    );
    assert!(text.contains("Checkpoint: "), "{text}");
}

#[test]
fn json_prints_one_parsable_result_per_iteration_and_nothing_else() {
    let dir = scratch("json").join("run");
    let o = rl(&[
        &["train", "--algo", "PPO"],
        &SMALL_PPO[..],
        &[
            "--stop",
            "training_iteration=3",
            "--output",
            s(&dir),
            "--json",
        ],
    ]
    .concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect();
    let its: Vec<u64> = lines
        .iter()
        .map(|r| r["training_iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(its, [1, 2, 3]);
    // --set reached the config: 200 env steps per iteration.
    assert_eq!(lines[2]["num_env_steps_sampled_lifetime"], 600);
    assert!(lines[2]["env_runners"]["episode_return_mean"].is_number());
    // The same results as the trial file.
    assert_eq!(read_lines(&dir.join("result.json")), lines);
}

#[test]
fn an_unknown_key_is_a_usage_error_naming_it() {
    let dir = scratch("unknown");
    let o = rl(&[
        "train",
        "--config",
        "configs/cartpole_ppo.toml",
        "--set",
        "minibatchsize=1",
        "--output",
        s(&dir.join("run")),
    ]);
    let line = one_line_error(&o, 2);
    assert!(
        line.contains("unknown key `minibatchsize`; did you mean `minibatch_size`?"),
        "{line}"
    );
    assert!(!dir.join("run").join("result.json").exists());
}

#[test]
fn bad_values_and_flags_are_usage_errors() {
    let seed_config = ["train", "--config", "configs/cartpole_ppo.toml"];
    let line = one_line_error(
        &rl(&[&seed_config[..], &["--set", "minibatch_size=0"]].concat()),
        2,
    );
    assert!(line.contains("minibatch_size"), "{line}");
    let line = one_line_error(&rl(&["train", "--env", "CartPol-v1"]), 2);
    assert!(
        line.contains("CartPol-v1") && line.contains("CartPole-v1"),
        "{line}"
    );
    let line = one_line_error(&rl(&["train", "--algo", "NoSuchAlgo"]), 2);
    assert!(
        line.contains("NoSuchAlgo") && line.contains("PPO"),
        "{line}"
    );
    let line = one_line_error(&rl(&["train", "--config", "configs/no_such_file.toml"]), 2);
    assert!(line.contains("no_such_file.toml"), "{line}");
    let line = one_line_error(
        &rl(&["train", "--config", "configs/tune_minibatch.toml"]),
        2,
    );
    assert!(line.contains("rl tune"), "{line}");
    // clap's own usage errors exit with 2 too.
    assert_eq!(rl(&["train", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(
        rl(&["train", "--stop", "training_iteration=soon"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(rl(&[]).status.code(), Some(2));
}

#[test]
fn train_refuses_to_overwrite_a_run() {
    let (dir, _) = trained_run();
    let before = std::fs::read_to_string(dir.join("result.json")).unwrap();
    let line = one_line_error(&rl(&["train", "--output", s(dir)]), 2);
    assert!(line.contains("rl resume"), "{line}");
    assert_eq!(
        std::fs::read_to_string(dir.join("result.json")).unwrap(),
        before
    );
}

#[test]
fn evaluate_runs_the_checkpoints_policy() {
    let (dir, _) = trained_run();
    let ckpt = dir.join("checkpoint_000000");
    let o = rl(&["evaluate", s(&ckpt), "--episodes", "3", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["env_runners"]["num_episodes"], 3);
    assert_eq!(v["training_iteration"], 2);
    let mean = v["env_runners"]["episode_return_mean"].as_f64().unwrap();
    let (min, max) = (
        v["env_runners"]["episode_return_min"].as_f64().unwrap(),
        v["env_runners"]["episode_return_max"].as_f64().unwrap(),
    );
    assert!(
        min >= 1.0 && min <= mean && mean <= max && max <= 500.0,
        "{v}"
    );
    // A run directory means its latest checkpoint; the text form and --render work.
    let o = rl(&[
        "evaluate",
        s(dir),
        "--episodes",
        "1",
        "--explore",
        "--render",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("[=o=]") && text.contains("episode   1: return"),
        "{text}"
    );
    assert!(
        text.contains("evaluation/env_runners/episode_return_mean"),
        "{text}"
    );
}

#[test]
fn a_corrupted_checkpoint_is_one_line_and_exit_code_1() {
    let (dir, _) = trained_run();
    let copy = scratch("corrupt").join("checkpoint_000000");
    copy_dir(&dir.join("checkpoint_000000"), &copy);
    // Flip a byte in the middle of the largest file (the module's weights).
    let mut files: Vec<PathBuf> = walk(&copy);
    files.sort_by_key(|p| std::fs::metadata(p).unwrap().len());
    let target = files.last().unwrap();
    let mut bytes = std::fs::read(target).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(target, bytes).unwrap();
    let line = one_line_error(&rl(&["evaluate", s(&copy)]), 1);
    let name = target.file_name().unwrap().to_string_lossy().into_owned();
    assert!(line.contains(&name), "the message names the file: {line}");
}

#[test]
fn resume_continues_a_run_to_its_stop_criterion() {
    let dir = scratch("resume").join("run");
    let o = rl(&[
        &["train"],
        &SMALL_PPO[..],
        &["--set", "checkpoint_frequency=1"],
        &["--stop", "training_iteration=2", "--output", s(&dir)],
    ]
    .concat());
    assert!(o.status.success(), "{}", stderr(&o));
    // A run that had been asked for 3 iterations and stopped after 2.
    let run_file = dir.join("rl_train.json");
    let mut how: Value =
        serde_json::from_str(&std::fs::read_to_string(&run_file).unwrap()).unwrap();
    assert_eq!(how["stop"]["training_iteration"], 2.0);
    how["stop"]["training_iteration"] = 3.0.into();
    std::fs::write(&run_file, how.to_string()).unwrap();
    let o = rl(&["resume", s(&dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("iteration 2"), "{}", stdout(&o));
    let its: Vec<u64> = read_lines(&dir.join("result.json"))
        .iter()
        .map(|r| r["training_iteration"].as_u64().unwrap())
        .collect();
    assert_eq!(its, [1, 2, 3]);
    // Again: nothing left to do.
    let o = rl(&["resume", s(&dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("is complete"), "{}", stdout(&o));
    assert_eq!(read_lines(&dir.join("result.json")).len(), 3);
    // Not a run at all.
    one_line_error(&rl(&["resume", s(&dir.join("checkpoint_000001"))]), 2);
}

#[test]
fn plot_writes_png_and_svg_into_the_run() {
    let (dir, _) = trained_run();
    let out = scratch("plot");
    let o = rl(&["plot", s(dir), "--out", s(&out)]);
    assert!(o.status.success(), "{}", stderr(&o));
    for ext in ["png", "svg"] {
        let p = out.join(format!("learning_curves.{ext}"));
        assert!(
            std::fs::metadata(&p).unwrap().len() > 1000,
            "{}",
            p.display()
        );
    }
    one_line_error(&rl(&["plot", s(&out.join("nothing_here"))]), 2);
}

#[test]
fn envs_lists_the_registered_envs_with_their_spaces() {
    let o = rl(&["envs"]);
    assert!(o.status.success());
    let text = stdout(&o);
    let cartpole = text.split("\n\n").next().unwrap_or_default();
    for want in ["Acrobot-v1", "CartPole-v1", "MountainCar-v0", "Pendulum-v1"] {
        assert!(text.lines().any(|l| l == want), "{want} missing: {text}");
    }
    assert!(
        text.contains("  action_space:      Discrete(2)\n  max_episode_steps: 500"),
        "{cartpole}"
    );
    assert!(
        text.contains("Box(-2.0, 2.0, (1,), float32)"),
        "Pendulum's action space: {text}"
    );
}

#[test]
fn check_env_passes_builtin_envs_and_refuses_unknown_names() {
    let o = rl(&["check-env", "CartPole-v1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("passes every check"), "{}", stdout(&o));
    let o = rl(&["check-env", "Pendulum-v1", "--env-config", "g=9.81"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line = one_line_error(&rl(&["check-env", "NoSuchEnv-v0"]), 2);
    assert!(line.contains("NoSuchEnv-v0"), "{line}");
}

#[test]
fn config_show_lists_every_key_with_its_default() {
    let o = rl(&["config", "show", "PPO"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let row = |key: &str| {
        text.lines()
            .find(|l| l.split_whitespace().next() == Some(key))
            .unwrap_or_else(|| panic!("no row for {key}: {text}"))
            .to_string()
    };
    let mb = row("minibatch_size");
    // Key, Rust type, default and the doc line from the config struct's doc comment.
    assert!(
        mb.contains("usize") && mb.contains("128") && mb.contains("Rows per gradient step"),
        "{mb}"
    );
    assert!(row("clip_param").contains("0.3"));
    assert!(row("model_config/fcnet_hiddens").contains("[256,256]"));
    let o = rl(&["config", "show", "PPO", "--json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["lambda_"], 1.0);
    one_line_error(&rl(&["config", "show", "NoSuchAlgo"]), 2);
}

#[test]
fn completions_are_generated_for_the_shells() {
    let o = rl(&["completions", "bash"]);
    assert!(o.status.success());
    let script = stdout(&o);
    assert!(script.contains("check-env") && script.contains("--checkpoint-at-end"));
    assert_eq!(rl(&["completions", "tcsh"]).status.code(), Some(2));
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Asserts that `configs/FILE` trains `algorithm` with `preset`'s config (the file leaves
/// the seed at its default, the preset sets it) and stops at `stop`.
fn assert_file_is_preset(file: &str, algorithm: &str, preset: Value, stop: &[(&str, f64)]) {
    let args = rl::cli::RunArgs {
        config: Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("configs")
                .join(file),
        ),
        ..Default::default()
    };
    let plan = rl::cli::RunPlan::from_args(&args).unwrap();
    assert_eq!(plan.algorithm, algorithm);
    let mut config = plan.config.clone();
    assert_eq!(config["seed"], Value::Null);
    config["seed"] = preset["seed"].clone();
    assert_eq!(config, preset);
    let want: std::collections::BTreeMap<String, f64> =
        stop.iter().map(|&(k, v)| (k.to_string(), v)).collect();
    assert_eq!(plan.stop.0, want);
}

#[test]
fn cartpole_ppo_toml_is_the_seed_preset() {
    let preset = rl::algos::ppo::presets::cartpole_seed_run(0);
    let preset = serde_json::to_value(preset).unwrap();
    assert_file_is_preset(
        "cartpole_ppo.toml",
        "PPO",
        preset,
        &[("training_iteration", 100.0)],
    );
}

/// A sweep of two 200-step PPO trials, two iterations each, in `dir`.
fn small_sweep(dir: &Path) -> PathBuf {
    let file = dir.join("sweep.toml");
    let text = format!(
        r#"algorithm = "PPO"
[param_space]
env = "CartPole-v1"
train_batch_size = 200
num_epochs = 1
minibatch_size = {{ grid_search = [50, 100] }}
[tune_config]
metric = "env_runners/episode_return_mean"
mode = "max"
[run_config]
name = "small"
storage_path = "{}"
stop = {{ training_iteration = 2 }}
checkpoint_config = {{ checkpoint_at_end = true }}
"#,
        dir.display()
    );
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn tune_runs_a_sweep_file_and_resumes_it() {
    let dir = scratch("tune");
    let file = small_sweep(&dir);
    let o = rl(&["tune", "--config", s(&file), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut seen: Vec<(String, u64)> = stdout(&o)
        .lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).expect("every stdout line is JSON");
            (
                r["trial_id"].as_str().unwrap().to_string(),
                r["training_iteration"].as_u64().unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[0].0, seen[1].0);
    assert_ne!(seen[0].0, seen[2].0);
    assert_eq!([seen[0].1, seen[1].1, seen[2].1, seen[3].1], [1, 2, 1, 2]);
    let experiment = dir.join("small");
    let trials: Vec<PathBuf> = std::fs::read_dir(&experiment)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(trials.len(), 2, "{trials:?}");
    for t in &trials {
        assert_eq!(read_lines(&t.join("result.json")).len(), 2);
        assert!(t.join("checkpoint_000000").is_dir());
        let name = t.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.contains("minibatch_size="), "{name}");
    }
    // Starting it again is refused; resuming a finished sweep does nothing more.
    let line = one_line_error(&rl(&["tune", "--config", s(&file)]), 2);
    assert!(line.contains("--resume"), "{line}");
    let o = rl(&["tune", "--config", s(&file), "--resume", "--quiet"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = rl(&["resume", s(&experiment)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Best trial by env_runners/episode_return_mean"),
        "{}",
        stdout(&o)
    );
    for t in &trials {
        assert_eq!(read_lines(&t.join("result.json")).len(), 2);
    }
}

#[test]
fn sweep_files_are_checked_before_anything_runs() {
    let dir = scratch("bad-sweep");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        "[param_space]\nenv = \"CartPole-v1\"\n[tune_config]\nmetrik = \"x\"\n",
    )
    .unwrap();
    let line = one_line_error(&rl(&["tune", "--config", s(&file)]), 2);
    assert!(
        line.contains("tune_config.metrik") && line.contains("`metric`"),
        "{line}"
    );
    std::fs::write(
        &file,
        "[param_space]\nenv = \"CartPole-v1\"\nminibatch_size = { grid_search = [0] }\n",
    )
    .unwrap();
    let line = one_line_error(&rl(&["tune", "--config", s(&file)]), 2);
    assert!(line.contains("minibatch_size"), "{line}");
    let line = one_line_error(&rl(&["tune", "--config", "configs/cartpole_ppo.toml"]), 2);
    assert!(line.contains("rl train"), "{line}");
}

#[test]
fn tune_minibatch_toml_is_the_seeds_sweep() {
    let plan = rl::cli::sweep::SweepPlan::read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/tune_minibatch.toml"),
    )
    .unwrap();
    assert_eq!(plan.algorithm, "PPO");
    let grid = plan.space.grid_vars();
    assert_eq!(grid.len(), 1);
    assert_eq!(grid[0].0, "minibatch_size");
    assert_eq!(
        grid[0].1,
        &[Value::from(128), Value::from(200), Value::from(256)][..]
    );
    let base = plan.space.base();
    assert_eq!(base["train_batch_size"], 4000);
    assert_eq!(base["num_env_runners"], 2);
    assert_eq!(base["lr"], 0.0003);
    assert_eq!(base["evaluation_interval"], 10);
    // The seed's RLlib evaluated with sampled actions, its default.
    assert_eq!(base["evaluation_explore"], true);
    assert_eq!(
        plan.tune.metric.as_deref(),
        Some("evaluation/env_runners/episode_return_mean")
    );
    assert_eq!(plan.tune.mode, Some(rl::tune::Mode::Max));
    assert_eq!(
        plan.stop.0,
        std::collections::BTreeMap::from([("training_iteration".to_string(), 150.0)])
    );
    assert!(plan.run.checkpoint_config.checkpoint_at_end);
}

#[test]
fn cartpole_dqn_toml_is_rllibs_tuned_example() {
    let preset = serde_json::to_value(rl::algos::dqn::presets::cartpole_tuned(0)).unwrap();
    let stop = [
        ("evaluation/env_runners/episode_return_mean", 475.0),
        ("num_env_steps_sampled_lifetime", 100_000.0),
    ];
    assert_file_is_preset("cartpole_dqn.toml", "DQN", preset, &stop);
}
