//! Env runners and connector pipelines on a small env of this test's own.

use rl_core::connectors::learner::{
    AddColumnsFromEpisodesToTrainBatch, AddOneTsToEpisodesAndTruncate, GeneralAdvantageEstimation,
};
use rl_core::connectors::{
    ConnectorContext, ConnectorError, EnvToModule, EnvToModuleBatch, LearnerConnector,
    LearnerContext, LearnerData, Pipeline,
};
use rl_core::env::{
    register, Env, EnvError, EnvRegistration, EnvSpec, Info, Space, StepResult, Value,
};
use rl_core::runner::{EnvRunner, EnvRunnerGroup, EnvRunnerSpec};
use serde::{Deserialize, Serialize};

mod module_common;
use module_common::ObsValueModule;

/// Uniform over two actions; value = 10 × observation.
fn uniform() -> ObsValueModule {
    ObsValueModule::new(|x| 10.0 * x)
}

/// A chain: start at 0, action 1 moves right (+1 reward), 0 stays (0 reward); reaching 3
/// terminates. Registered with a time limit of 5 steps.
struct Chain {
    pos: i32,
    obs_space: Space,
    act_space: Space,
}

impl Chain {
    fn new() -> Self {
        Chain {
            pos: 0,
            obs_space: Space::box_(vec![0.0], vec![3.0], vec![1]).unwrap(),
            act_space: Space::discrete(2).unwrap(),
        }
    }
}

impl Env for Chain {
    fn observation_space(&self) -> &Space {
        &self.obs_space
    }
    fn action_space(&self) -> &Space {
        &self.act_space
    }
    fn reset(
        &mut self,
        _seed: Option<u64>,
        _o: Option<&serde_json::Value>,
    ) -> Result<(Value, Info), EnvError> {
        self.pos = 0;
        Ok((Value::Box(vec![0.0]), Info::new()))
    }
    fn step(&mut self, action: &Value) -> Result<StepResult, EnvError> {
        let right = matches!(action, Value::Discrete(1));
        self.pos += i32::from(right);
        Ok(StepResult {
            obs: Value::Box(vec![self.pos as f32]),
            reward: if right { 1.0 } else { 0.0 },
            terminated: self.pos >= 3,
            truncated: false,
            info: Info::new(),
        })
    }
}

fn register_chain() -> EnvSpec {
    register(
        EnvRegistration::new("TestChain-v0", |_| {
            Ok(Box::new(Chain::new()) as Box<dyn Env>)
        })
        .max_episode_steps(5),
    );
    EnvSpec::new("TestChain-v0")
}

/// A user-written connector: scales observations. A plugin like the built-in ones.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ScaleObs {
    factor: f32,
}
#[typetag::serde]
impl EnvToModule for ScaleObs {
    fn process(
        &mut self,
        batch: &mut EnvToModuleBatch,
        _ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        batch.obs.mapv_inplace(|x| x * self.factor);
        Ok(())
    }
}

fn runner(
    env: &EnvSpec,
    index: usize,
    num_envs: usize,
    e2m: Pipeline<dyn EnvToModule>,
) -> EnvRunner {
    EnvRunner::new(
        EnvRunnerSpec {
            env: env.clone(),
            num_envs,
            index,
            seed: 7,
            explore: true,
            update_connector_stats: true,
        },
        Box::new(uniform()),
        e2m,
        Pipeline::default_module_to_env(true, false),
    )
    .unwrap()
}

#[test]
fn chunks_cover_every_step_and_continue_across_calls() {
    let env = register_chain();
    let mut r = runner(&env, 0, 2, Pipeline::default_env_to_module(false));
    let first = r.sample(7).unwrap();
    assert_eq!(first.env_steps, 14);
    assert_eq!(first.episodes.iter().map(|e| e.len()).sum::<usize>(), 14);
    for ep in &first.episodes {
        assert_eq!(ep.observations.len(), ep.len() + 1);
        assert_eq!(
            ep.rewards.iter().sum::<f32>(),
            ep.obs(ep.len())[0] - ep.obs(0)[0]
        );
        if ep.is_terminated {
            assert_eq!(ep.last_obs(), &[3.0]);
        }
        if ep.is_truncated {
            assert_eq!(ep.t_started + ep.len(), 5, "truncated by the 5-step limit");
        }
    }
    let finished: usize = first.episodes.iter().filter(|e| e.is_done()).count();
    assert_eq!(finished, first.finished.len());
    // Running chunks continue in the next call with the same id, where they left off.
    let cut: Vec<_> = first.episodes.iter().filter(|e| !e.is_done()).collect();
    assert_eq!(cut.len(), 2, "one running chunk per env is cut");
    let second = r.sample(3).unwrap();
    for c in cut {
        let next = second
            .episodes
            .iter()
            .find(|e| e.id == c.id)
            .expect("continued");
        assert_eq!(next.t_started, c.t_started + c.len());
        assert_eq!(next.obs(0), c.last_obs());
    }
}

#[test]
fn group_results_do_not_depend_on_threads() {
    let env = register_chain();
    let make = |parallel| {
        let runners = (0..3)
            .map(|i| runner(&env, i, 2, Pipeline::default_env_to_module(false)))
            .collect();
        EnvRunnerGroup::new(runners, parallel)
    };
    let (mut seq, mut par) = (make(false), make(true));
    for _ in 0..3 {
        let (a, b) = (seq.sample(6).unwrap(), par.sample(6).unwrap());
        assert_eq!(a.episodes, b.episodes);
        assert_eq!(a.finished, b.finished);
    }
    // Different runners use different RNG streams.
    let out = make(false).sample(20).unwrap();
    let per_runner: Vec<Vec<f32>> = (0..3)
        .map(|i| {
            out.episodes
                .iter()
                .filter(|e| e.id >> 40 == i)
                .flat_map(|e| e.actions.clone())
                .collect()
        })
        .collect();
    assert_ne!(per_runner[0], per_runner[1]);
}

#[test]
fn learner_pipeline_builds_masked_batch_with_gae() {
    let env = register_chain();
    let mut r = runner(&env, 0, 1, Pipeline::default_env_to_module(false));
    let out = r.sample(12).unwrap();
    let n_chunks = out.episodes.len();
    let mut data = LearnerData {
        episodes: out.episodes.clone(),
        ..Default::default()
    };
    let mut policy = uniform();
    Pipeline::<dyn LearnerConnector>::new(vec![
        Box::new(AddOneTsToEpisodesAndTruncate),
        Box::new(AddColumnsFromEpisodesToTrainBatch),
        Box::new(GeneralAdvantageEstimation::with(0.5, 1.0)),
    ])
    .run(
        &mut data,
        &mut LearnerContext {
            module: &mut policy,
        },
    )
    .unwrap();
    let b = &data.batch;
    assert_eq!(b.len(), 12 + n_chunks, "one bootstrap row per chunk");
    assert_eq!(b.num_masked_rows(), 12);
    let mean: f32 = b.advantages.iter().sum::<f32>() / b.len() as f32;
    assert!(mean.abs() < 1e-5, "advantages are standardized");
    // Check the value targets of each chunk by hand: λ = 1 returns, bootstrapped with
    // V(final obs) = 10 × obs unless terminated.
    let mut row = 0;
    for ep in &out.episodes {
        let n = ep.len();
        let bootstrap = if ep.is_terminated {
            0.0
        } else {
            10.0 * ep.last_obs()[0]
        };
        let mut g = bootstrap;
        for t in (0..n).rev() {
            g = ep.rewards[t] + 0.5 * g;
            assert!(
                (b.value_targets[row + t] - g).abs() < 1e-5,
                "chunk {} step {t}",
                ep.id
            );
        }
        assert!(!b.loss_mask[row + n], "extra step masked");
        assert_eq!(b.terminateds[row + n - 1], ep.is_terminated);
        row += n + 1;
    }
}

#[test]
fn user_connector_is_a_serializable_plugin() {
    let env = register_chain();
    let mut e2m = Pipeline::default_env_to_module(true);
    e2m.insert_after("BatchObservations", Box::new(ScaleObs { factor: 2.0 }))
        .unwrap();
    assert_eq!(
        e2m.names(),
        ["BatchObservations", "ScaleObs", "MeanStdFilter"]
    );
    let json = serde_json::to_string(&e2m).unwrap();
    assert!(json.contains("\"ScaleObs\""), "{json}");
    let back: Pipeline<dyn EnvToModule> = serde_json::from_str(&json).unwrap();
    assert_eq!(back.names(), e2m.names());
    e2m.remove("MeanStdFilter").unwrap();
    assert!(e2m.remove("MeanStdFilter").is_err());
    let mut r = runner(&env, 0, 1, e2m);
    let out = r.sample(4).unwrap();
    for ep in &out.episodes {
        for t in 0..=ep.len() {
            let x = ep.obs(t)[0];
            assert_eq!(x % 2.0, 0.0, "observations were doubled: {x}");
        }
    }
}

#[test]
fn mean_std_filter_states_merge_across_runners() {
    let env = register_chain();
    let runners = (0..2)
        .map(|i| runner(&env, i, 1, Pipeline::default_env_to_module(true)))
        .collect();
    let mut group = EnvRunnerGroup::new(runners, true);
    let out = group.sample(10).unwrap();
    let states = group.sync_connector_states().unwrap();
    let filter = states[1].as_ref().expect("the filter has state");
    // Every observation the runners filtered counts once: 10 steps + 1 reset obs per
    // runner, plus one reset obs per finished episode.
    let expected = 2 * 11 + out.finished.len() as u64;
    assert_eq!(filter["synced"]["count"], serde_json::json!(expected));
    assert_eq!(filter["delta"]["count"], serde_json::json!(0));
}

/// Records the `global_env_steps` every module→env pass sees (its state, so the test can
/// read it back).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct RecordEnvSteps(Vec<u64>);

#[typetag::serde]
impl rl_core::connectors::ModuleToEnv for RecordEnvSteps {
    fn get_state(&self) -> Option<serde_json::Value> {
        Some(serde_json::json!(self.0))
    }

    fn process(
        &mut self,
        _batch: &mut rl_core::connectors::ModuleToEnvBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        self.0.push(ctx.global_env_steps);
        Ok(())
    }
}

/// The env-step count connectors see is RLlib 2.60's `t` for `forward_exploration`:
/// `(synced / k + steps this sample call) · k` with `k` runners in the group — the synced
/// count does not move between syncs, and each sample call counts from 0 again.
#[test]
fn connectors_see_rllibs_exploration_timestep() {
    let env = register_chain();
    let seen = |group: &mut EnvRunnerGroup, calls: usize| -> Vec<Vec<u64>> {
        for _ in 0..calls {
            group.sample(3).unwrap();
        }
        group
            .runners()
            .iter()
            .map(|r| {
                let state = r.module_to_env().connectors()[2].get_state().unwrap();
                serde_json::from_value(state).unwrap()
            })
            .collect()
    };
    let make = |index: usize| {
        let mut m2e = Pipeline::default_module_to_env(true, false);
        m2e.append(Box::new(RecordEnvSteps::default()));
        EnvRunner::new(
            EnvRunnerSpec {
                env: env.clone(),
                num_envs: 2,
                index,
                seed: 7,
                explore: true,
                update_connector_stats: true,
            },
            Box::new(uniform()),
            Pipeline::default_env_to_module(false),
            m2e,
        )
        .unwrap()
    };
    // One runner with two envs: each vector step adds 2.
    let mut one = EnvRunnerGroup::new(vec![make(0)], false);
    one.set_global_env_steps(100);
    assert_eq!(seen(&mut one, 2), [vec![100, 102, 104, 100, 102, 104]]);
    // Two runners: RLlib scales this runner's steps by the group size.
    let mut two = EnvRunnerGroup::new(vec![make(0), make(1)], false);
    two.set_global_env_steps(101);
    assert_eq!(
        seen(&mut two, 1),
        [vec![100, 104, 108], vec![100, 104, 108]]
    );
    assert_eq!(two.runners()[0].global_env_steps(), 112);
}
