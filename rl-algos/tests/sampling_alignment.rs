//! What the env runners record must be what the learner recomputes: before any update, the
//! learner's module gives every sampled row the same log-probability and distribution
//! inputs, so the PPO ratio is 1 and the KL term 0 on the whole train batch. A shift
//! between actions, log-probabilities and observations would show here.

use rand::SeedableRng;
use rl_algos::ppo::learner::default_learner_pipeline;
use rl_algos::ppo::loss::{ppo_loss, LossHyperparameters};
use rl_algos::ppo::module::PPOModule;
use rl_algos::ppo::policy::PPOPolicy;
use rl_core::algorithm::ModelConfig;
use rl_core::connectors::{LearnerContext, LearnerData, Pipeline};
use rl_core::env::EnvSpec;
use rl_core::runner::{EnvRunner, EnvRunnerSpec};
use rl_nn::{Rng, Tape};

fn check(env: &str, num_envs: usize, steps: usize) {
    rl_envs::register_builtins();
    let spec = EnvSpec::new(env);
    let probe = spec.make().unwrap();
    let mut rng = Rng::seed_from_u64(11);
    let module = PPOModule::from_spaces(
        probe.observation_space(),
        probe.action_space(),
        &ModelConfig::default(),
        &mut rng,
    )
    .unwrap();
    let mut runner = EnvRunner::new(
        EnvRunnerSpec {
            env: spec,
            num_envs,
            index: 0,
            seed: 3,
            explore: true,
            update_connector_stats: true,
        },
        Box::new(PPOPolicy::new(module.clone())),
        Pipeline::default_env_to_module(false),
        Pipeline::default_module_to_env(true, false),
    )
    .unwrap();
    // Two calls, so episode chunks continue across a cut.
    let mut episodes = runner.sample(steps).unwrap().episodes;
    episodes.extend(runner.sample(steps).unwrap().episodes);

    let mut policy = PPOPolicy::new(module.clone());
    let mut data = LearnerData {
        episodes,
        ..Default::default()
    };
    default_learner_pipeline(0.99, 0.95)
        .run(
            &mut data,
            &mut LearnerContext {
                module: &mut policy,
            },
        )
        .unwrap();
    let batch = data.batch;
    assert!(batch.num_masked_rows() >= 2 * steps * num_envs);

    let mut tape = Tape::new();
    let hp = LossHyperparameters::default();
    let out = ppo_loss(&mut tape, &module, &batch, &hp).unwrap();
    // Distribution inputs recomputed on the tape equal the sampled ones, row for row.
    let recomputed = tape.value(out.action_dist_inputs);
    for ((r, mask), (a, b)) in batch.loss_mask.iter().enumerate().flat_map(|(r, &m)| {
        batch
            .action_dist_inputs
            .row(r)
            .into_iter()
            .copied()
            .zip(recomputed.row(r).into_iter().copied())
            .map(move |ab| ((r, m), ab))
    }) {
        if mask {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "{env}: row {r}: {a} vs {b}"
            );
        }
    }
    assert!(
        out.stats.mean_kl_loss.abs() < 1e-6,
        "{env}: KL to the sampling policy before any update: {}",
        out.stats.mean_kl_loss
    );
    // With ratio 1 the surrogate is the advantage itself: policy_loss = −mean(A) over the
    // rows that count.
    let (sum, n) = batch
        .advantages
        .iter()
        .zip(batch.loss_mask.iter())
        .filter(|(_, &m)| m)
        .fold((0.0f64, 0usize), |(s, n), (&a, _)| {
            (s + f64::from(a), n + 1)
        });
    let mean_adv = sum / n as f64;
    assert!(
        (f64::from(out.stats.policy_loss) + mean_adv).abs() < 1e-4,
        "{env}: policy_loss {} vs −mean(A) {}",
        out.stats.policy_loss,
        -mean_adv
    );
}

#[test]
fn sampled_rows_have_ratio_one_discrete() {
    check("CartPole-v1", 2, 150);
}

#[test]
fn sampled_rows_have_ratio_one_continuous() {
    check("Pendulum-v1", 2, 120);
}
