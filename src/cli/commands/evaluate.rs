//! `rl evaluate CHECKPOINT`: loads a checkpoint (every file checked against its checksum),
//! runs its policy for N episodes, greedy or exploring, optionally drawing CartPole in the
//! terminal, and prints the evaluation result under RLlib's keys.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use rl_core::algorithm::checkpoint::{latest_checkpoint, METADATA_FILE};
use rl_core::algorithm::{algorithm_from_checkpoint, InferencePolicy};
use rl_core::env::{make, Env};
use serde_json::{json, Value};

use crate::cli::args::EvaluateArgs;
use crate::cli::CliError;
use crate::render::{CartPoleRenderer, CartPoleState};

/// CartPole's `render_fps` (Gymnasium's metadata): frames per second on a terminal.
const FPS: u64 = 50;

/// `rl evaluate`'s flags.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct EvaluateCmd {
    /// What to evaluate.
    #[command(flatten)]
    pub eval: EvaluateArgs,
    /// Prints the evaluation result as one JSON line on stdout, and nothing else.
    #[arg(long)]
    pub json: bool,
}

/// The checkpoint `path` names: itself, or the latest checkpoint of a run directory.
pub fn checkpoint_dir(path: &Path) -> Result<PathBuf, CliError> {
    if !path.exists() {
        return Err(CliError::Usage(format!(
            "{}: no such directory",
            path.display()
        )));
    }
    if path.join(METADATA_FILE).exists() {
        return Ok(path.to_path_buf());
    }
    // A run directory: its latest checkpoint. Anything else is read as a checkpoint, so
    // that the checkpoint reader names what is missing.
    Ok(latest_checkpoint(path).unwrap_or_else(|| path.to_path_buf()))
}

/// One episode's return and length.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Episode {
    /// Sum of rewards.
    pub ret: f64,
    /// Steps.
    pub len: usize,
}

/// The evaluation result under RLlib's keys (`env_runners/episode_return_mean`, …).
pub fn evaluation_result(episodes: &[Episode]) -> Value {
    let n = episodes.len().max(1) as f64;
    let rets = episodes.iter().map(|e| e.ret);
    let steps: usize = episodes.iter().map(|e| e.len).sum();
    json!({
        "env_runners": {
            "episode_return_mean": rets.clone().sum::<f64>() / n,
            "episode_return_min": rets.clone().fold(f64::INFINITY, f64::min),
            "episode_return_max": rets.fold(f64::NEG_INFINITY, f64::max),
            "episode_len_mean": steps as f64 / n,
            "num_episodes": episodes.len(),
            "num_env_steps_sampled": steps,
        }
    })
}

/// Runs `rl evaluate`.
pub fn run(cmd: EvaluateCmd) -> Result<(), CliError> {
    let args = cmd.eval;
    rl_algos::register_builtins();
    let dir = checkpoint_dir(&args.checkpoint)?;
    // The whole checkpoint is read and checked, not only the policy's files: a checkpoint
    // that cannot resume training is reported as broken here too.
    let algo = algorithm_from_checkpoint(&dir)?;
    let config = algo.config_json();
    let env_name = config["env"].as_str().unwrap_or_default().to_string();
    let renderer = args
        .render
        .then(|| {
            if env_name.starts_with("CartPole") {
                Ok(CartPoleRenderer::default())
            } else {
                Err(CliError::Usage(format!(
                    "--render draws CartPole only; this checkpoint's env is {env_name}"
                )))
            }
        })
        .transpose()?;
    let mut policy = InferencePolicy::from_checkpoint(&dir)?;
    policy.seed(args.seed);
    let mut env =
        make(&env_name, &config["env_config"]).map_err(|e| CliError::Run(e.to_string()))?;
    let say = |line: String| {
        if !cmd.json {
            println!("{line}");
        }
    };
    say(format!(
        "Evaluating {} on {env_name} from {} (iteration {}), {} episodes, {}",
        algo.name(),
        dir.display(),
        algo.iteration(),
        args.episodes,
        if args.explore { "exploring" } else { "greedy" }
    ));
    let mut episodes = Vec::with_capacity(args.episodes);
    for i in 0..args.episodes {
        let seed = (i == 0).then_some(args.seed);
        let e = run_episode(
            &mut *env,
            &mut policy,
            seed,
            args.explore,
            renderer.as_ref(),
        )?;
        say(format!(
            "episode {:>3}: return {:.2} ({} steps)",
            i + 1,
            e.ret,
            e.len
        ));
        episodes.push(e);
    }
    let result = evaluation_result(&episodes);
    if cmd.json {
        let mut full = result;
        full["training_iteration"] = json!(algo.iteration());
        full["checkpoint"] = json!(dir);
        full["explore"] = json!(args.explore);
        println!("{full}");
    } else {
        let r = &result["env_runners"];
        println!(
            "evaluation/env_runners/episode_return_mean: {:.2} (min {}, max {}), episode_len_mean {:.1}, over {} episodes",
            r["episode_return_mean"].as_f64().unwrap_or(f64::NAN),
            r["episode_return_min"],
            r["episode_return_max"],
            r["episode_len_mean"].as_f64().unwrap_or(f64::NAN),
            r["num_episodes"]
        );
    }
    Ok(())
}

/// Runs one episode of `policy` in `env` (reset with `seed`), drawing each step with
/// `renderer` if given (in place on a terminal, at CartPole's 50 frames per second).
pub fn run_episode(
    env: &mut dyn Env,
    policy: &mut InferencePolicy,
    seed: Option<u64>,
    explore: bool,
    renderer: Option<&CartPoleRenderer>,
) -> Result<Episode, CliError> {
    let run_err = |e: &dyn std::fmt::Display| CliError::Run(e.to_string());
    let (mut obs, _) = env.reset(seed, None).map_err(|e| run_err(&e))?;
    let live = std::io::stdout().is_terminal();
    let mut drawn = false;
    let mut draw = |obs: &rl_core::env::Value| -> Result<(), CliError> {
        let Some(r) = renderer else { return Ok(()) };
        let flat = env_obs(obs)?;
        let state = CartPoleState::from_observation(&flat).map_err(|e| run_err(&e))?;
        let mut out = std::io::stdout().lock();
        if drawn && live {
            // Redraw in place: up over the last frame, clearing each line.
            for _ in 0..r.lines() {
                let _ = write!(out, "\x1b[1A\x1b[2K");
            }
        }
        let _ = writeln!(out, "{}", r.frame(&state));
        let _ = out.flush();
        drawn = true;
        if live {
            std::thread::sleep(Duration::from_millis(1000 / FPS));
        }
        Ok(())
    };
    draw(&obs)?;
    let mut ep = Episode { ret: 0.0, len: 0 };
    loop {
        let action = policy.compute_single_action(&obs, explore)?;
        let step = env.step(&action).map_err(|e| run_err(&e))?;
        ep.ret += step.reward;
        ep.len += 1;
        draw(&step.obs)?;
        if step.terminated || step.truncated {
            return Ok(ep);
        }
        obs = step.obs;
    }
}

/// A CartPole observation as the renderer takes it.
fn env_obs(obs: &rl_core::env::Value) -> Result<Vec<f32>, CliError> {
    match obs {
        rl_core::env::Value::Box(a) => Ok(a.clone()),
        other => Err(CliError::Run(format!(
            "--render: expected a Box observation, got {other:?}"
        ))),
    }
}
