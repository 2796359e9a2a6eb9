//! Times the replay buffers in DQN's loop and prints JSON: a full 50k-step buffer of
//! CartPole-sized steps (4 observation floats), then per iteration `add` of one 5-step
//! chunk (RLlib's DQN rollout fragment for `n_step=(2, 5)`), `sample` of 32 transitions
//! (`n_step=(2, 5)`, γ 0.99, β 0.4) and, for the prioritized buffer, `update_priorities`.
//! Also the checkpoint state of the full prioritized buffer: `get_state` + `encode`, and
//! `decode` + `from_state`.
//!
//! ```sh
//! cargo run --release --example bench_replay -- [--iterations N] [--repeats R]
//! ```
//!
//! `scripts/bench_rllib_replay.py` times RLlib's buffers on the same loop. Times are the
//! median and minimum over `R` repeats (default 5) of `N` iterations (default 20000).

use std::process::ExitCode;
use std::time::Instant;

use rand::{Rng as _, SeedableRng};
use rl::core::episode::Episode;
use rl::core::replay::{
    EpisodeReplayBuffer, NStep, PrioritizedEpisodeReplayBuffer,
    PrioritizedEpisodeReplayBufferState, ReplayBatch, SampleRequest,
};
use rl::core::Rng;
use serde_json::json;

const CAPACITY: usize = 50_000;
const FRAGMENT: usize = 5;

/// One env stepping `FRAGMENT` steps per call, episodes of 10..200 steps.
struct Env {
    rng: Rng,
    chunk: Episode,
    length: usize,
    next_id: u64,
}

impl Env {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::seed_from_u64(seed);
        let obs: Vec<f32> = (0..4).map(|_| rng.gen()).collect();
        let length = rng.gen_range(10..200);
        Env {
            rng,
            chunk: Episode::new(0, 0, &obs, 1, 2),
            length,
            next_id: 1,
        }
    }

    fn sample(&mut self) -> Vec<Episode> {
        let mut out = Vec::new();
        for _ in 0..FRAGMENT {
            let obs: Vec<f32> = (0..4).map(|_| self.rng.gen()).collect();
            let action = [self.rng.gen_range(0..2) as f32];
            self.chunk.add_step(&action, -0.69, &[0.1, -0.1], 1.0, &obs);
            if self.chunk.t_started + self.chunk.len() == self.length {
                self.chunk.is_terminated = true;
                let fresh = Episode::new(self.next_id, 0, &obs, 1, 2);
                self.next_id += 1;
                out.push(std::mem::replace(&mut self.chunk, fresh));
                self.length = self.rng.gen_range(10..200);
            }
        }
        if !self.chunk.is_empty() {
            let t = self.chunk.t_started + self.chunk.len();
            let next = Episode::new(self.chunk.id, t, self.chunk.last_obs(), 1, 2);
            out.push(std::mem::replace(&mut self.chunk, next));
        }
        out
    }
}

fn stats(mut us: Vec<f64>) -> serde_json::Value {
    us.sort_by(f64::total_cmp);
    json!({ "median_us": us[us.len() / 2], "min_us": us[0] })
}

/// Per-iteration times (µs) of add, sample, update, and the whole iteration.
fn time_loop(
    iterations: usize,
    repeats: usize,
    mut step: impl FnMut(&mut [f64; 3]),
) -> serde_json::Value {
    let mut per = [vec![], vec![], vec![], vec![]];
    for _ in 0..repeats {
        let mut parts = [0.0; 3];
        let t = Instant::now();
        for _ in 0..iterations {
            step(&mut parts);
        }
        let total = t.elapsed().as_secs_f64() * 1e6 / iterations as f64;
        for (k, p) in parts.iter().enumerate() {
            per[k].push(p * 1e6 / iterations as f64);
        }
        per[3].push(total);
    }
    let [add, sample, update, total] = per;
    json!({
        "add_5_steps": stats(add),
        "sample_32": stats(sample),
        "update_priorities_32": stats(update),
        "iteration": stats(total),
    })
}

fn run(iterations: usize, repeats: usize) -> Result<(), Box<dyn std::error::Error>> {
    let request = SampleRequest::new(32)
        .n_step(NStep::Range(2, 5))
        .gamma(0.99)
        .beta(0.4);
    let mut rng = Rng::seed_from_u64(0);

    let mut env = Env::new(1);
    let mut per = PrioritizedEpisodeReplayBuffer::new(CAPACITY, 0.6)?;
    let t = Instant::now();
    while per.len() < CAPACITY - FRAGMENT {
        per.add(&env.sample())?;
    }
    let prefill_s = t.elapsed().as_secs_f64();
    let mut batch = ReplayBatch::default();
    let prioritized = time_loop(iterations, repeats, |parts| {
        let t = Instant::now();
        per.add(&env.sample()).expect("add");
        let t1 = Instant::now();
        per.sample_into(&request, &mut rng, &mut batch)
            .expect("sample");
        let t2 = Instant::now();
        let td: Vec<f32> = batch.rewards.iter().map(|r| r * 0.01).collect();
        per.update_priorities(&batch.indices, &td).expect("update");
        let t3 = Instant::now();
        parts[0] += (t1 - t).as_secs_f64();
        parts[1] += (t2 - t1).as_secs_f64();
        parts[2] += (t3 - t2).as_secs_f64();
    });

    let mut env = Env::new(2);
    let mut uniform = EpisodeReplayBuffer::new(CAPACITY)?;
    while uniform.len() < CAPACITY - FRAGMENT {
        uniform.add(&env.sample())?;
    }
    let uniform_times = time_loop(iterations, repeats, |parts| {
        let t = Instant::now();
        uniform.add(&env.sample()).expect("add");
        let t1 = Instant::now();
        uniform
            .sample_into(&request, &mut rng, &mut batch)
            .expect("sample");
        parts[0] += (t1 - t).as_secs_f64();
        parts[1] += t1.elapsed().as_secs_f64();
    });

    let mut save = vec![];
    let mut load = vec![];
    let mut sizes = (0, 0);
    for _ in 0..repeats {
        let t = Instant::now();
        let encoded = per.get_state().encode()?;
        save.push(t.elapsed().as_secs_f64() * 1e6);
        sizes = (encoded.json.len(), encoded.safetensors.len());
        let t = Instant::now();
        let restored = PrioritizedEpisodeReplayBuffer::from_state(
            PrioritizedEpisodeReplayBufferState::decode(&encoded)?,
        )?;
        load.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(restored.len(), per.len());
    }

    let out = json!({
        "capacity": CAPACITY,
        "num_items": 32,
        "n_step": [2, 5],
        "iterations": iterations,
        "repeats": repeats,
        "prioritized": {
            "prefill_50k_steps_s": prefill_s,
            "env_steps_stored": per.len(),
            "episodes_stored": per.num_episodes(),
            "per_iteration": prioritized,
        },
        "uniform": { "per_iteration": uniform_times },
        "prioritized_state": {
            "get_state_and_encode": stats(save),
            "decode_and_from_state": stats(load),
            "json_bytes": sizes.0,
            "safetensors_bytes": sizes.1,
        },
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: usize| -> Result<usize, String> {
        match args.iter().position(|a| a == name) {
            None => Ok(default),
            Some(i) => args
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a positive integer")),
        }
    };
    let parsed = flag("--iterations", 20_000).and_then(|n| Ok((n, flag("--repeats", 5)?)));
    match parsed {
        Ok((n, r)) if n > 0 && r > 0 => match run(n, r) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("bench_replay: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(_) | Err(_) => {
            eprintln!("usage: bench_replay [--iterations N] [--repeats R]");
            ExitCode::FAILURE
        }
    }
}
