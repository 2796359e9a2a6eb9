"""Golden data for our replay buffers from RLlib 2.60's own buffers.

Runs RLlib's `PrioritizedEpisodeReplayBuffer` and `EpisodeReplayBuffer` (sampled with
`sample_episodes=True`, as DQN does) on fixed episode chunks, as env runners deliver them
(several envs, episodes terminated, truncated and still running, each episode's chunks in
successive `add` calls), with the buffer's `rng` replaced by a recorder over a seeded NumPy
generator, so that the Rust test can replay exactly the draws RLlib made. Records after
each `add` what is stored, and for each `sample` the draws, every returned transition, and
RLlib's metrics; `update_priorities` then feeds fixed TD errors back.

Usage: PY=$(../shared/anchors/setup.sh); $PY scripts/gen_replay_golden.py \
    rl-core/tests/conformance_data/replay_rllib.json
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
import ray  # noqa: E402
from ray.rllib.env.single_agent_episode import SingleAgentEpisode  # noqa: E402
from ray.rllib.utils.replay_buffers import (  # noqa: E402
    EpisodeReplayBuffer,
    PrioritizedEpisodeReplayBuffer,
)

OBS_DIM = 3


class Recorder:
    """Stands in for the buffer's `np.random.Generator`, logging each draw."""

    def __init__(self, seed):
        self.g = np.random.default_rng(seed)
        self.uniforms, self.integers_ = [], []

    def random(self):
        u = float(self.g.random())
        self.uniforms.append(u)
        return u

    def integers(self, lo, hi=None):
        if hi is None:
            lo, hi = 0, lo
        v = int(self.g.integers(lo, hi))
        self.integers_.append([int(lo), int(hi), v])
        return v


def sample_calls(seed, num_envs, fragment, calls):
    """Chunks per sample call, as RLlib's env runner returns them (no empty chunk)."""
    g = np.random.default_rng(seed)
    next_id = [100]

    def new_episode(t0=0, first_obs=None):
        next_id[0] += 1
        return {
            "id": next_id[0] - 1,
            "t_started": t0,
            "obs": [first_obs if first_obs is not None else g.normal(size=OBS_DIM).astype(np.float32)],
            "actions": [],
            "rewards": [],
            "terminated": False,
            "truncated": False,
        }

    envs = [[new_episode(), int(g.integers(1, 14))] for _ in range(num_envs)]
    out = []
    for _ in range(calls):
        chunks = []
        for env in envs:
            chunk, length = env
            for _ in range(fragment):
                chunk["actions"].append(int(g.integers(0, 3)))
                chunk["rewards"].append(float(np.float32(g.normal())))
                chunk["obs"].append(g.normal(size=OBS_DIM).astype(np.float32))
                if chunk["t_started"] + len(chunk["rewards"]) == length:
                    chunk["terminated" if g.random() < 0.5 else "truncated"] = True
                    chunks.append(chunk)
                    chunk = new_episode()
                    length = int(g.integers(1, 14))
            if chunk["rewards"]:
                chunks.append(chunk)
                t = chunk["t_started"] + len(chunk["rewards"])
                chunk = {
                    "id": chunk["id"],
                    "t_started": t,
                    "obs": [chunk["obs"][-1]],
                    "actions": [],
                    "rewards": [],
                    "terminated": False,
                    "truncated": False,
                }
            env[0], env[1] = chunk, length
        out.append(chunks)
    return out


def to_rllib(c):
    return SingleAgentEpisode(
        id_=str(c["id"]),
        observations=[np.array(o, np.float32) for o in c["obs"]],
        actions=list(c["actions"]),
        rewards=list(c["rewards"]),
        terminated=c["terminated"],
        truncated=c["truncated"],
        t_started=c["t_started"],
        len_lookback_buffer=0,
    )


def to_json_chunk(c):
    return {
        "id": c["id"],
        "t_started": c["t_started"],
        "observations": [float(x) for o in c["obs"] for x in o],
        "actions": c["actions"],
        "rewards": c["rewards"],
        "terminated": c["terminated"],
        "truncated": c["truncated"],
    }


def peek(metrics, key):
    v = metrics.get(key)
    if v is None:
        return None
    v = v.peek() if hasattr(v, "peek") else v
    v = float(v)
    return None if np.isnan(v) else v


def stored(buf):
    return {
        "episode_ids": [int(e.id_) for e in buf.episodes],
        "episode_lens": [len(e) for e in buf.episodes],
        "num_env_steps_stored": buf.get_num_timesteps(),
    }


def run_case(name, cls, capacity, alpha, seed, num_envs, fragment, calls, samples):
    buf = (
        cls(capacity=capacity, alpha=alpha)
        if cls is PrioritizedEpisodeReplayBuffer
        else cls(capacity=capacity)
    )
    prioritized = cls is PrioritizedEpisodeReplayBuffer
    ops = []
    td_rng = np.random.default_rng(seed + 1000)
    for k, chunks in enumerate(sample_calls(seed, num_envs, fragment, calls)):
        before = {int(e.id_) for e in buf.episodes}
        buf.add([to_rllib(c) for c in chunks])
        after = {int(e.id_) for e in buf.episodes}
        m = buf.get_metrics()
        # Chunks of episodes RLlib's prioritized buffer evicted in this very call (it drops
        # them without counting them as added; we count them as added and evicted).
        dropped = sum(
            len(c["rewards"]) for c in chunks if c["id"] not in after
        )
        ops.append({
            "op": "add",
            "chunks": [to_json_chunk(c) for c in chunks],
            "expect": {
                **stored(buf),
                "num_episodes_evicted": peek(m, "num_episodes_evicted"),
                "num_env_steps_added": peek(m, "num_env_steps_added"),
                "num_env_steps_evicted": peek(m, "num_env_steps_evicted"),
                "dropped_env_steps": dropped,
                "evicted_before": sorted(before - after),
            },
        })
        for s in samples.get(k, []):
            rec = Recorder(seed * 100 + k * 10 + len(ops))
            buf.rng = rec
            n_step = tuple(s["n_step"]) if isinstance(s["n_step"], list) else s["n_step"]
            kwargs = dict(num_items=s["num_items"], n_step=n_step, gamma=s["gamma"])
            if prioritized:
                episodes = buf.sample(beta=s["beta"], **kwargs)
                leaves = [int(i) for i in buf._last_sampled_indices]
            else:
                episodes = buf.sample(sample_episodes=True, **kwargs)
                leaves = []
            m = buf.get_metrics()
            rows = []
            for i, e in enumerate(episodes[: s["num_items"]]):
                if prioritized:
                    # RLlib's prioritized sample gives its rows fresh ids: find the
                    # episode through the sampled tree leaf.
                    eps_idx, ts, _ = buf._indices[buf._tree_idx_to_sample_idx[leaves[i]]]
                    stored_eps = buf.episodes[eps_idx - buf._num_episodes_evicted]
                    assert ts == e.t_started
                else:
                    stored_eps = next(x for x in buf.episodes if x.id_ == e.id_)
                ln = len(stored_eps)
                term, trunc = stored_eps.is_terminated, stored_eps.is_truncated
                rows.append({
                    "id": int(stored_eps.id_),
                    "ts": int(e.t_started),
                    "episode_len": ln,
                    "episode_terminated": bool(term),
                    "episode_truncated": bool(trunc),
                    "obs": [float(x) for x in e.get_observations(0)],
                    "next_obs": [float(x) for x in e.get_observations(-1)],
                    "action": int(e.get_actions(0)),
                    "reward": float(e.get_rewards(0)),
                    "terminated": bool(e.is_terminated),
                    "truncated": bool(e.is_truncated),
                    "n_step": int(e.get_extra_model_outputs("n_step")[0]),
                    "weight": float(e.get_extra_model_outputs("weights")[0]),
                })
            op = {
                "op": "sample",
                "num_items": s["num_items"],
                "n_step": s["n_step"],
                "gamma": s["gamma"],
                "beta": s.get("beta", 0.0),
                "uniforms": rec.uniforms,
                "integers": rec.integers_,
                "expect": {
                    "rows": rows,
                    "rllib_rows": len(episodes),
                    "leaves": leaves,
                    "num_resamples": peek(m, "num_resamples"),
                    "num_episodes_per_sample": peek(m, "num_episodes_per_sample"),
                    "num_env_steps_per_sample": peek(m, "num_env_steps_per_sample"),
                    "actual_n_step": peek(m, "actual_n_step"),
                },
            }
            ops.append(op)
            if prioritized and s.get("update", True):
                # f32-representable TD errors, fed as float64 (RLlib's tree stays float64).
                td = td_rng.exponential(size=len(leaves)).astype(np.float32).astype(np.float64)
                buf.update_priorities(td)
                ops.append({"op": "update_priorities", "td_errors": [float(x) for x in td]})
    return {
        "name": name,
        "buffer": cls.__name__,
        "capacity": capacity,
        "alpha": alpha,
        "ops": ops,
    }


def main(out):
    per = PrioritizedEpisodeReplayBuffer
    uni = EpisodeReplayBuffer
    every = lambda specs, calls: {k: specs for k in range(calls)}  # noqa: E731
    cases = [
        run_case(
            "prioritized_two_envs_evicting", per, 40, 0.6, seed=1, num_envs=2, fragment=4,
            calls=12,
            samples=every([
                {"num_items": 8, "n_step": 1, "gamma": 0.9, "beta": 0.4},
                {"num_items": 8, "n_step": [2, 5], "gamma": 0.99, "beta": 0.4},
            ], 12),
        ),
        run_case(
            "prioritized_one_env_fixed_n3_alpha1", per, 25, 1.0, seed=2, num_envs=1, fragment=7,
            calls=8,
            samples=every([{"num_items": 6, "n_step": 3, "gamma": 0.95, "beta": 1.0}], 8),
        ),
        run_case(
            "prioritized_three_envs_short_fragments", per, 30, 0.5, seed=3, num_envs=3, fragment=2,
            calls=14,
            samples=every([{"num_items": 5, "n_step": [1, 4], "gamma": 0.8, "beta": 0.6}], 14),
        ),
        run_case(
            "uniform_two_envs_evicting", uni, 40, None, seed=4, num_envs=2, fragment=4, calls=12,
            samples=every([
                {"num_items": 8, "n_step": 1, "gamma": 0.9},
                {"num_items": 8, "n_step": [1, 4], "gamma": 0.99},
            ], 12),
        ),
        run_case(
            "uniform_one_env_fixed_n3", uni, 20, None, seed=5, num_envs=1, fragment=5, calls=10,
            samples=every([{"num_items": 6, "n_step": 3, "gamma": 0.95}], 10),
        ),
    ]
    data = {
        "source": f"RLlib {ray.__version__} PrioritizedEpisodeReplayBuffer / EpisodeReplayBuffer "
        "(sample_episodes=True), draws recorded; scripts/gen_replay_golden.py",
        "obs_dim": OBS_DIM,
        "cases": cases,
    }
    with open(out, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
