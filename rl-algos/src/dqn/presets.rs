//! Tuned DQN configs.

use rl_core::replay::NStep;

use super::config::{DQNConfig, Epsilon, ReplayBufferConfig};

/// RLlib's tuned CartPole example (`rllib/tuned_examples/dqn/cartpole_dqn.py`) as the
/// side-by-side anchor runs it (`../shared/anchors/bench_rllib_dqn.py`): 1 env runner,
/// `lr` 5e-4, `train_batch_size` 32, prioritized replay (50k steps, α 0.6, β 0.4),
/// `n_step` (2, 5), double + dueling Q, ε 1.0 → 0.02 over 10k steps, a `[256]` tanh
/// encoder and `[256]` tanh heads with zero biases, and a greedy 10-episode evaluation
/// after every iteration (1000 env steps).
pub fn cartpole_tuned(seed: u64) -> DQNConfig {
    DQNConfig::new()
        .environment("CartPole-v1")
        .env_runners(|r| r.num_env_runners(1))
        .training(|t| {
            t.lr(5e-4)
                .train_batch_size(32)
                .replay_buffer_config(ReplayBufferConfig::PrioritizedEpisodeReplayBuffer {
                    capacity: 50_000,
                    alpha: 0.6,
                    beta: 0.4,
                })
                .n_step(NStep::Range(2, 5))
                .double_q(true)
                .dueling(true)
                .epsilon(Epsilon::Schedule(vec![(0, 1.0), (10_000, 0.02)]))
        })
        .rl_module(|m| {
            m.fcnet_hiddens(vec![256])
                .fcnet_activation("tanh")
                .fcnet_bias_initializer(Some("zeros_".into()))
                .head_fcnet_hiddens(vec![256])
                .head_fcnet_activation("tanh")
                .head_fcnet_bias_initializer(Some("zeros_".into()))
        })
        .evaluation(|e| e.evaluation_interval(Some(1)).evaluation_duration(10))
        .debugging(Some(seed))
}
