//! Our replay buffers against RLlib 2.60's own (`conformance_data/replay_rllib.json`, from
//! `scripts/gen_replay_golden.py`): the same chunks added, the draws RLlib's buffers made
//! replayed, and every stored episode, sampled transition, importance weight, tree leaf and
//! metric compared exactly.
//!
//! Where we differ on purpose (the uniform buffer's windows cut at an episode's end: RLlib
//! labels them with the drawn n and drops the episode's terminal/truncated flag; we write
//! the steps used and keep the flag), the test checks our value and says so.

mod conformance {
    use std::collections::VecDeque;
    use std::path::PathBuf;

    use rl_core::episode::Episode;
    use rl_core::replay::{
        EpisodeReplayBuffer, NStep, PrioritizedEpisodeReplayBuffer, ReplayBatch, ReplayMetrics,
        SampleDraws, SampleRequest,
    };
    use serde_json::Value;

    fn golden() -> Value {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/conformance_data/replay_rllib.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("golden data {} not readable ({e}); regenerate it with scripts/gen_replay_golden.py", path.display())
        });
        serde_json::from_str(&text).expect("golden data is JSON")
    }

    fn u(v: &Value) -> usize {
        v.as_u64()
            .unwrap_or_else(|| v.as_f64().expect("number") as u64) as usize
    }

    fn f32s(v: &Value) -> Vec<f32> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_f64().expect("number") as f32)
            .collect()
    }

    /// Replays the draws RLlib's buffer made, checking that we ask for the same ranges.
    struct Replay {
        uniforms: VecDeque<f64>,
        integers: VecDeque<(usize, usize, usize)>,
    }

    impl SampleDraws for Replay {
        fn uniform(&mut self) -> f64 {
            self.uniforms
                .pop_front()
                .expect("we drew more uniforms than RLlib")
        }
        fn integer(&mut self, lo: usize, hi: usize) -> usize {
            let (a, b, v) = self
                .integers
                .pop_front()
                .expect("we drew more integers than RLlib");
            assert_eq!((lo, hi), (a, b), "we drew from another range than RLlib");
            v
        }
    }

    fn chunk(c: &Value, obs_dim: usize) -> Episode {
        let obs = f32s(&c["observations"]);
        let mut e = Episode::new(
            c["id"].as_u64().unwrap(),
            u(&c["t_started"]),
            &obs[..obs_dim],
            1,
            0,
        );
        let rewards = f32s(&c["rewards"]);
        let actions = f32s(&c["actions"]);
        for t in 0..rewards.len() {
            e.add_step(
                &[actions[t]],
                0.0,
                &[],
                rewards[t],
                &obs[(t + 1) * obs_dim..(t + 2) * obs_dim],
            );
        }
        e.is_terminated = c["terminated"].as_bool().unwrap();
        e.is_truncated = c["truncated"].as_bool().unwrap();
        e
    }

    enum Buffer {
        Uniform(EpisodeReplayBuffer),
        Prioritized(PrioritizedEpisodeReplayBuffer),
    }

    impl Buffer {
        fn add(&mut self, chunks: &[Episode]) {
            match self {
                Buffer::Uniform(b) => b.add(chunks),
                Buffer::Prioritized(b) => b.add(chunks),
            }
            .expect("add");
        }
        fn sample(&mut self, r: &SampleRequest, d: &mut Replay) -> ReplayBatch {
            match self {
                Buffer::Uniform(b) => b.sample(r, d),
                Buffer::Prioritized(b) => b.sample(r, d),
            }
            .expect("sample")
        }
        fn metrics(&mut self) -> ReplayMetrics {
            match self {
                Buffer::Uniform(b) => b.metrics(),
                Buffer::Prioritized(b) => b.metrics(),
            }
        }
        fn episodes(&self) -> Vec<Episode> {
            match self {
                Buffer::Uniform(b) => b.episodes().cloned().collect(),
                Buffer::Prioritized(b) => b.episodes().cloned().collect(),
            }
        }
    }

    fn opt(v: &Value) -> Option<f64> {
        v.as_f64()
    }

    #[test]
    fn replay_buffers_match_rllib() {
        let data = golden();
        let obs_dim = u(&data["obs_dim"]);
        let cases = data["cases"].as_array().expect("cases");
        assert_eq!(cases.len(), 5);
        let mut compared = [0usize; 3]; // rows, rows at an episode's end, uniform rows cut
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let capacity = u(&case["capacity"]);
            let prioritized = case["buffer"] == "PrioritizedEpisodeReplayBuffer";
            let mut buffer = if prioritized {
                Buffer::Prioritized(
                    PrioritizedEpisodeReplayBuffer::new(capacity, case["alpha"].as_f64().unwrap())
                        .unwrap(),
                )
            } else {
                Buffer::Uniform(EpisodeReplayBuffer::new(capacity).unwrap())
            };
            let mut last: Option<ReplayBatch> = None;
            for (k, op) in case["ops"].as_array().unwrap().iter().enumerate() {
                let at = format!("{name}, op {k}");
                let expect = &op["expect"];
                match op["op"].as_str().unwrap() {
                    "add" => {
                        let chunks: Vec<Episode> = op["chunks"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|c| chunk(c, obs_dim))
                            .collect();
                        buffer.add(&chunks);
                        let stored = buffer.episodes();
                        let ids: Vec<u64> = stored.iter().map(|e| e.id).collect();
                        let lens: Vec<usize> = stored.iter().map(Episode::len).collect();
                        let want_ids: Vec<u64> = expect["episode_ids"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|v| v.as_u64().unwrap())
                            .collect();
                        let want_lens: Vec<usize> = expect["episode_lens"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(u)
                            .collect();
                        assert_eq!((ids, lens), (want_ids, want_lens), "{at}: stored episodes");
                        let m = buffer.metrics();
                        assert_eq!(
                            m.num_env_steps_stored as usize,
                            u(&expect["num_env_steps_stored"]),
                            "{at}"
                        );
                        // RLlib's prioritized buffer does not count the chunks of episodes it
                        // evicts in the same call as added; we count them added and evicted.
                        let dropped = if prioritized {
                            u(&expect["dropped_env_steps"]) as u64
                        } else {
                            0
                        };
                        let rllib = |key: &str| opt(&expect[key]).unwrap_or(0.0) as u64;
                        assert_eq!(
                            m.num_env_steps_added,
                            rllib("num_env_steps_added") + dropped,
                            "{at}"
                        );
                        assert_eq!(
                            m.num_env_steps_evicted,
                            rllib("num_env_steps_evicted") + dropped,
                            "{at}"
                        );
                        assert_eq!(
                            m.num_episodes_evicted,
                            rllib("num_episodes_evicted"),
                            "{at}"
                        );
                    }
                    "sample" => {
                        let n_step = match &op["n_step"] {
                            Value::Array(r) => NStep::Range(u(&r[0]), u(&r[1])),
                            n => NStep::Fixed(u(n)),
                        };
                        let request = SampleRequest::new(u(&op["num_items"]))
                            .n_step(n_step)
                            .gamma(op["gamma"].as_f64().unwrap())
                            .beta(op["beta"].as_f64().unwrap());
                        let mut draws = Replay {
                            uniforms: op["uniforms"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|v| v.as_f64().unwrap())
                                .collect(),
                            integers: op["integers"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .map(|t| (u(&t[0]), u(&t[1]), u(&t[2])))
                                .collect(),
                        };
                        let stored = buffer.episodes();
                        let batch = buffer.sample(&request, &mut draws);
                        assert!(
                            draws.uniforms.is_empty() && draws.integers.is_empty(),
                            "{at}: RLlib drew more"
                        );
                        let rows = expect["rows"].as_array().unwrap();
                        assert_eq!(batch.len(), rows.len(), "{at}: rows");
                        let mut cut = false;
                        for (i, row) in rows.iter().enumerate() {
                            let at = format!("{at}, row {i}");
                            let (ts, len) = (u(&row["ts"]), u(&row["episode_len"]));
                            let id = row["id"].as_u64().unwrap();
                            let t0 = stored
                                .iter()
                                .find(|e| e.id == id)
                                .expect("stored")
                                .t_started;
                            assert_eq!(
                                (batch.episode_ids[i], batch.env_t[i] as usize),
                                (id, t0 + ts),
                                "{at}: which step"
                            );
                            assert_eq!(batch.obs_row(i), f32s(&row["obs"]).as_slice(), "{at}: obs");
                            assert_eq!(
                                batch.next_obs_row(i),
                                f32s(&row["next_obs"]).as_slice(),
                                "{at}: next_obs"
                            );
                            assert_eq!(
                                batch.actions[i],
                                row["action"].as_f64().unwrap() as f32,
                                "{at}: action"
                            );
                            assert_eq!(
                                batch.rewards[i],
                                row["reward"].as_f64().unwrap() as f32,
                                "{at}: reward"
                            );
                            assert_eq!(
                                batch.weights[i],
                                row["weight"].as_f64().unwrap() as f32,
                                "{at}: weight"
                            );
                            let n = u(&row["n_step"]);
                            let flags = (
                                row["terminated"].as_bool().unwrap(),
                                row["truncated"].as_bool().unwrap(),
                            );
                            if ts + n <= len {
                                assert_eq!(batch.n_step[i] as usize, n, "{at}: n_step");
                                assert_eq!(
                                    (batch.terminateds[i], batch.truncateds[i]),
                                    flags,
                                    "{at}: flags"
                                );
                                compared[1] += usize::from(ts + n == len);
                            } else {
                                // RLlib's uniform buffer cut this window at the episode's end.
                                assert!(
                                    !prioritized,
                                    "{at}: RLlib's prioritized buffer never cuts"
                                );
                                assert_eq!(
                                    batch.n_step[i] as usize,
                                    len - ts,
                                    "{at}: n_step = steps used"
                                );
                                let episode_flags = (
                                    row["episode_terminated"].as_bool().unwrap(),
                                    row["episode_truncated"].as_bool().unwrap(),
                                );
                                assert_eq!(
                                    (batch.terminateds[i], batch.truncateds[i]),
                                    episode_flags,
                                    "{at}: the episode's flags"
                                );
                                cut = true;
                                compared[2] += 1;
                            }
                            compared[0] += 1;
                        }
                        let leaves: Vec<usize> = batch.indices.iter().map(|i| i.leaf()).collect();
                        let want: Vec<usize> =
                            expect["leaves"].as_array().unwrap().iter().map(u).collect();
                        assert_eq!(leaves, want, "{at}: tree leaves");
                        let m = buffer.metrics();
                        let rllib = |key: &str| opt(&expect[key]).unwrap_or(0.0);
                        assert_eq!(m.num_resamples as f64, rllib("num_resamples"), "{at}");
                        assert_eq!(
                            m.num_episodes_per_sample as f64,
                            rllib("num_episodes_per_sample"),
                            "{at}"
                        );
                        assert_eq!(
                            m.num_env_steps_per_sample as f64,
                            rllib("num_env_steps_per_sample"),
                            "{at}"
                        );
                        if !cut {
                            let mean = m.actual_n_step.expect("a sample");
                            assert!(
                                (mean - rllib("actual_n_step")).abs() < 1e-12,
                                "{at}: actual_n_step"
                            );
                        }
                        last = Some(batch);
                    }
                    "update_priorities" => {
                        let Buffer::Prioritized(b) = &mut buffer else {
                            panic!("{at}: uniform buffer")
                        };
                        let batch = last.take().expect("a sample before");
                        let td = f32s(&op["td_errors"]);
                        let done = b.update_priorities(&batch.indices, &td).unwrap();
                        assert_eq!((done.updated, done.stale), (td.len(), 0), "{at}");
                    }
                    other => panic!("{at}: unknown op {other}"),
                }
            }
        }
        // The data must exercise what it claims to.
        assert!(
            compared[0] > 500 && compared[1] > 50 && compared[2] > 20,
            "{compared:?}"
        );
    }
}
