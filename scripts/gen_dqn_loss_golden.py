"""Golden data for DQN's loss from RLlib 2.60's own `DQNTorchLearner`.

For each case (double Q or not, dueling or not, Huber or MSE, CartPole's 2 actions or
Acrobot's 3) this builds RLlib's DQN learner (`DQNConfig.build_learner`, new API stack)
with a small `DefaultDQNTorchRLModule` (`fcnet_hiddens=[16]` tanh, `head_fcnet_hiddens=[8]`),
moves its target networks away from the online ones (so that a loss using the wrong
network shows), and feeds a fixed batch of n-step transitions (obs, new_obs, actions,
n-step reward sums, terminateds, n_step in 2..4, prioritized-replay weights) through
`module.forward_train` and `DQNTorchLearner.compute_loss_for_module`. Records every
online and target parameter (RLlib's names), the batch, the module's outputs, the total
loss, the TD errors and statistics RLlib logs (qf_loss, qf_mean, qf_max, qf_min,
td_error_mean), and the gradient of the loss for every online parameter.

Usage: PY=$(../shared/anchors/setup.sh); $PY scripts/gen_dqn_loss_golden.py \
    rl-algos/tests/conformance_data/dqn_rllib_loss.json
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")
import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from ray.rllib.algorithms.dqn import DQNConfig  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig  # noqa: E402

MID = "default_policy"
B = 24
GAMMA = 0.99

CASES = [
    # name, env, double_q, dueling, td_error_loss_fn, head activation
    ("cartpole_double_dueling_huber", "CartPole-v1", True, True, "huber", "tanh"),
    ("cartpole_double_dueling_mse", "CartPole-v1", True, True, "mse", "tanh"),
    ("cartpole_single_dueling_huber", "CartPole-v1", False, True, "huber", "relu"),
    ("cartpole_double_plain_huber", "CartPole-v1", True, False, "huber", "tanh"),
    ("acrobot_double_dueling_huber", "Acrobot-v1", True, True, "huber", "relu"),
]


def L(x):
    return np.asarray(x.detach().cpu().numpy() if torch.is_tensor(x) else x, dtype=np.float64).tolist()


def peek(learner, key):
    v = learner.metrics.peek((MID, key))
    if isinstance(v, (list, tuple)):
        v = torch.cat([torch.as_tensor(t).reshape(-1) for t in v])
    return v


def run_case(seed, name, env_name, double_q, dueling, loss_fn, head_activation):
    torch.manual_seed(seed)
    g = np.random.default_rng(seed)
    env = gym.make(env_name)
    obs_dim = env.observation_space.shape[0]
    n = env.action_space.n
    config = (
        DQNConfig()
        .environment(env_name)
        .framework("torch")
        .training(
            gamma=GAMMA,
            double_q=double_q,
            dueling=dueling,
            td_error_loss_fn=loss_fn,
            n_step=(2, 5),
        )
        .rl_module(
            model_config=DefaultModelConfig(
                fcnet_hiddens=[16],
                fcnet_activation="tanh",
                head_fcnet_hiddens=[8],
                head_fcnet_activation=head_activation,
            )
        )
    )
    learner = config.build_learner(env=env)
    module = learner.module[MID]
    # Target networks away from the online ones.
    with torch.no_grad():
        for attr in ["_target_encoder", "_target_af", "_target_vf"]:
            net = getattr(module, attr, None)
            if net is None:
                continue
            for p in net.parameters():
                p.add_(torch.as_tensor(g.normal(scale=0.2, size=tuple(p.shape)), dtype=torch.float32))

    obs = g.normal(size=(B, obs_dim)).astype(np.float32)
    next_obs = (obs + 0.3 * g.normal(size=(B, obs_dim))).astype(np.float32)
    actions = g.integers(0, n, size=B)
    n_step = g.integers(2, 5, size=B)
    # Per-step rewards around 0, so that TD errors fall on both sides of Huber's |x| = 1.
    rewards = np.array(
        [sum(GAMMA**k * float(g.uniform(-0.6, 0.8)) for k in range(int(m))) for m in n_step], dtype=np.float32
    )
    terminateds = g.random(B) < 0.25
    weights = g.uniform(0.05, 1.0, size=B).astype(np.float32)
    batch = {
        Columns.OBS: torch.tensor(obs),
        Columns.NEXT_OBS: torch.tensor(next_obs),
        Columns.ACTIONS: torch.tensor(actions, dtype=torch.int64),
        Columns.REWARDS: torch.tensor(rewards),
        Columns.TERMINATEDS: torch.tensor(terminateds),
        "n_step": torch.tensor(n_step, dtype=torch.int64),
        "weights": torch.tensor(weights),
    }
    online = {k: v for k, v in module.named_parameters() if not k.startswith("_target_")}
    targets = {k: v for k, v in module.named_parameters() if k.startswith("_target_")}
    if not targets:  # target networks hold no trainable parameters in some versions
        targets = {k: v for k, v in module.state_dict().items() if k.startswith("_target_") and "log_std_clip" not in k}
    for p in online.values():
        p.grad = None
    fwd_out = module.forward_train(batch)
    loss = learner.compute_loss_for_module(
        module_id=MID, config=learner.config.get_config_for_module(MID), batch=batch, fwd_out=fwd_out
    )
    loss.backward()
    stats = {k: float(peek(learner, k)) for k in ["qf_loss", "qf_mean", "qf_max", "qf_min", "td_error_mean"]}
    return {
        "name": name,
        "env": env_name,
        "obs_dim": obs_dim,
        "num_actions": int(n),
        "hiddens": [16],
        "head_hiddens": [8],
        "activation": "tanh",
        "head_activation": head_activation,
        "double_q": double_q,
        "dueling": dueling,
        "td_error_loss_fn": loss_fn,
        "gamma": GAMMA,
        "params": {k: {"shape": list(v.shape), "value": L(v)} for k, v in online.items()},
        "target_params": {k: {"shape": list(v.shape), "value": L(v)} for k, v in targets.items()},
        "batch": {
            "obs": L(obs),
            "new_obs": L(next_obs),
            "actions": [int(a) for a in actions],
            "rewards": L(rewards),
            "terminateds": [bool(t) for t in terminateds],
            "n_step": [int(m) for m in n_step],
            "weights": L(weights),
        },
        "outputs": {k: L(fwd_out[k]) for k in ["qf_preds", "qf_next_preds", "qf_target_next_preds"] if k in fwd_out},
        "total_loss": float(loss),
        "td_error": L(peek(learner, "td_error")),
        "stats": stats,
        "grads": {k: L(v.grad) for k, v in online.items()},
    }


def main():
    out = sys.argv[1]
    cases = [run_case(1000 + i, *c) for i, c in enumerate(CASES)]
    import ray

    with open(out, "w") as f:
        json.dump({"rllib_version": ray.__version__, "torch_version": torch.__version__, "cases": cases}, f)
    print(f"wrote {len(cases)} cases to {out}")


if __name__ == "__main__":
    main()
