//! The flags the commands share, as clap structs that the examples reuse
//! (`#[command(flatten)]`), so every entry point reads the same flags the same way.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

/// `KEY=VALUE` as `--set` and `--stop` take it: the value is JSON (`256`, `true`,
/// `[64, 64]`, `"relu"`) or, when it is not JSON, a bare string (`env=CartPole-v1`).
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValue {
    /// The key, RLlib's name; sections joined by `/` (`model_config/fcnet_hiddens`).
    pub key: String,
    /// The value.
    pub value: Value,
}

impl std::str::FromStr for KeyValue {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (key, raw) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: expected KEY=VALUE, e.g. minibatch_size=256"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("`{s}`: the key is empty; expected KEY=VALUE"));
        }
        let value = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        Ok(KeyValue {
            key: key.to_string(),
            value,
        })
    }
}

/// A stop criterion, `KEY=THRESHOLD`: the run stops at the first result whose `KEY`
/// (nested keys joined by `/`) is at least `THRESHOLD` (Ray Tune's `stop` dict).
#[derive(Clone, Debug, PartialEq)]
pub struct StopArg {
    /// The result key, e.g. `training_iteration`, `env_runners/episode_return_mean`.
    pub key: String,
    /// The threshold.
    pub threshold: f64,
}

impl std::str::FromStr for StopArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let kv: KeyValue = s.parse()?;
        let threshold = kv.value.as_f64().ok_or_else(|| {
            format!("`{s}`: the threshold must be a number, e.g. training_iteration=100")
        })?;
        Ok(StopArg {
            key: kv.key,
            threshold,
        })
    }
}

/// What to train: the config file, the algorithm and the overrides
/// (`rl train`'s flags; `examples/cartpole_ppo.rs` takes the same).
#[derive(Args, Clone, Debug, Default, PartialEq)]
pub struct RunArgs {
    /// Experiment or config file, TOML or JSON (configs/cartpole_ppo.toml; a trial's
    /// params.json).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Registered algorithm to train [default: the file's `algorithm`, else PPO].
    #[arg(long, value_name = "NAME")]
    pub algo: Option<String>,
    /// Registered env (sets the config's `env`).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Config keys to set, `KEY=VALUE` (RLlib's names; the value JSON or a bare string).
    #[arg(
        long = "set",
        value_name = "KEY=VALUE",
        help = "Sets a config key by its RLlib name; the value is JSON or a bare string (--set lr=1e-4 --set model_config/fcnet_hiddens=[64,64]). Repeatable"
    )]
    pub set: Vec<KeyValue>,
    /// Stop criteria, `KEY=VALUE`: the first result with `KEY >= VALUE` ends the run.
    #[arg(
        long,
        value_name = "KEY=VALUE",
        help = "Stops at the first result with KEY >= VALUE (Ray Tune's stop dict); adds to and overrides the file's [stop] table. Repeatable"
    )]
    pub stop: Vec<StopArg>,
    /// Output directory for result.json, progress.csv, params.json, the TensorBoard
    /// events file and checkpoints [default: ~/rl_results/ALGO_ENV_DATE].
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Saves a checkpoint when the run ends (sets `checkpoint_at_end`).
    #[arg(long)]
    pub checkpoint_at_end: bool,
    /// Seed of every RNG of the run (sets the config's `seed`).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Writes learning curves (PNG and SVG) into the output directory at the end.
    #[arg(long)]
    pub plot: bool,
}

/// How much a command prints.
#[derive(Args, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutputArgs {
    /// Prints nothing but errors (and --json lines).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Prints each result as one JSON line on stdout (other messages go to stderr).
    #[arg(long)]
    pub json: bool,
}

/// What to evaluate (`rl evaluate`; `examples/evaluate_checkpoint.rs` takes the same).
#[derive(Args, Clone, Debug, PartialEq)]
pub struct EvaluateArgs {
    /// A checkpoint directory (checkpoint_000000), or a run directory (its latest
    /// checkpoint).
    #[arg(value_name = "CHECKPOINT")]
    pub checkpoint: PathBuf,
    /// Episodes to run.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub episodes: usize,
    /// Samples actions from the policy's distribution instead of taking the greedy one.
    #[arg(long)]
    pub explore: bool,
    /// Draws CartPole in the terminal, one frame per step.
    #[arg(long)]
    pub render: bool,
    /// Seed of the first episode's reset (the later ones continue its RNG) and of the
    /// exploration RNG.
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_values_take_json_or_bare_strings() {
        let kv: KeyValue = "minibatch_size=256".parse().unwrap();
        assert_eq!((kv.key.as_str(), kv.value), ("minibatch_size", json!(256)));
        let kv: KeyValue = "model_config/fcnet_hiddens=[64, 64]".parse().unwrap();
        assert_eq!(kv.value, json!([64, 64]));
        let kv: KeyValue = "env=CartPole-v1".parse().unwrap();
        assert_eq!(kv.value, json!("CartPole-v1"));
        let kv: KeyValue = "evaluation_interval=null".parse().unwrap();
        assert_eq!(kv.value, Value::Null);
        assert!("minibatch_size".parse::<KeyValue>().is_err());
        assert!("=3".parse::<KeyValue>().is_err());
    }

    #[test]
    fn stop_thresholds_are_numbers() {
        let s: StopArg = "training_iteration=100".parse().unwrap();
        assert_eq!((s.key.as_str(), s.threshold), ("training_iteration", 100.0));
        let e = "training_iteration=soon".parse::<StopArg>().unwrap_err();
        assert!(e.contains("must be a number"), "{e}");
    }
}
