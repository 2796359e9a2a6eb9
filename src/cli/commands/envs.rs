//! `rl envs` (the registered envs with their spaces) and `rl check-env NAME` (Gymnasium's
//! env checker on one of them).

use clap::Args;
use rl_core::env::{check_env, make, registered_envs, registration, EnvError, Space};
use serde_json::Value;

use crate::cli::args::KeyValue;
use crate::cli::CliError;

/// `rl check-env`'s flags.
#[derive(Args, Clone, Debug, PartialEq)]
pub struct CheckEnvArgs {
    /// The registered env (`rl envs` lists them).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// A key of the env's `env_config` (its keyword arguments), JSON or bare value.
    /// Repeatable.
    #[arg(long = "env-config", value_name = "KEY=VALUE")]
    pub env_config: Vec<KeyValue>,
}

/// A list of numbers as numpy prints it (`[-4.8 -inf 0.41887903]`), or one number when
/// they are all equal (as Gymnasium's `Box.__repr__` does).
fn bounds(v: &[f32]) -> String {
    let num = |x: f32| {
        if x.is_infinite() {
            if x > 0.0 {
                "inf".into()
            } else {
                "-inf".into()
            }
        } else if x.fract() == 0.0 {
            format!("{x:.1}")
        } else {
            format!("{x}")
        }
    };
    match v.first() {
        Some(&first) if v.iter().all(|&x| x == first) => num(first),
        _ => format!(
            "[{}]",
            v.iter().map(|&x| num(x)).collect::<Vec<_>>().join(" ")
        ),
    }
}

/// A space as Gymnasium prints it: `Discrete(2)`, `Box(-1.0, 1.0, (1,), float32)`.
pub fn space_repr(space: &Space) -> String {
    match space {
        Space::Discrete { n, start: 0 } => format!("Discrete({n})"),
        Space::Discrete { n, start } => format!("Discrete({n}, start={start})"),
        Space::Box { low, high, shape } => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            let shape = if dims.len() == 1 {
                format!("({},)", dims[0])
            } else {
                format!("({})", dims.join(", "))
            };
            format!("Box({}, {}, {shape}, float32)", bounds(low), bounds(high))
        }
        other => format!("{other:?}"),
    }
}

/// Runs `rl envs`.
pub fn list() -> Result<(), CliError> {
    rl_algos::register_builtins();
    for name in registered_envs() {
        let info = registration(&name);
        let mut line = name.clone();
        match make(&name, &Value::Null) {
            Ok(env) => line.push_str(&format!(
                "\n  observation_space: {}\n  action_space:      {}",
                space_repr(env.observation_space()),
                space_repr(env.action_space())
            )),
            Err(e) => line.push_str(&format!("\n  (cannot be made without env_config: {e})")),
        }
        if let Some(info) = info {
            if let Some(n) = info.max_episode_steps {
                line.push_str(&format!("\n  max_episode_steps: {n}"));
            }
            if let Some(t) = info.reward_threshold {
                line.push_str(&format!("\n  reward_threshold:  {t}"));
            }
        }
        println!("{line}");
    }
    Ok(())
}

/// Runs `rl check-env`: exit code 1 when the env breaks the contract.
pub fn check(args: CheckEnvArgs) -> Result<(), CliError> {
    rl_algos::register_builtins();
    let mut config = serde_json::Map::new();
    for kv in &args.env_config {
        config.insert(kv.key.clone(), kv.value.clone());
    }
    let config = if config.is_empty() {
        Value::Null
    } else {
        Value::Object(config)
    };
    let mut env = make(&args.name, &config).map_err(|e| match e {
        EnvError::UnknownEnv { .. } | EnvError::InvalidArgument { .. } => {
            CliError::Usage(e.to_string())
        }
        other => CliError::Run(other.to_string()),
    })?;
    println!(
        "{}: observation_space {}, action_space {}",
        args.name,
        space_repr(env.observation_space()),
        space_repr(env.action_space())
    );
    let violations = check_env(&mut *env);
    if violations.is_empty() {
        println!("{}: passes every check of the env checker", args.name);
        return Ok(());
    }
    for v in &violations {
        println!("  {v}");
    }
    Err(CliError::Run(format!(
        "{}: {} check(s) failed",
        args.name,
        violations.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_print_as_gymnasium_prints_them() {
        let d = Space::discrete(2).unwrap();
        assert_eq!(space_repr(&d), "Discrete(2)");
        let b = Space::Box {
            low: vec![-4.8, f32::NEG_INFINITY],
            high: vec![4.8, f32::INFINITY],
            shape: vec![2],
        };
        assert_eq!(space_repr(&b), "Box([-4.8 -inf], [4.8 inf], (2,), float32)");
        let b = Space::Box {
            low: vec![-2.0],
            high: vec![2.0],
            shape: vec![1],
        };
        assert_eq!(space_repr(&b), "Box(-2.0, 2.0, (1,), float32)");
    }
}
