"""RLlib 2.60's replay buffers on the loop of `examples/bench_replay.rs`; prints JSON.

A 50k-step buffer of CartPole-sized steps (episodes of 10..200 steps), then per iteration
`add` of one 5-step chunk, `sample(num_items=32, n_step=(2, 5), gamma=0.99, beta=0.4,
sample_episodes=True)` and, for the prioritized buffer, `update_priorities`.

Usage: PY=$(../shared/anchors/setup.sh); $PY scripts/bench_rllib_replay.py [ITERATIONS] [REPEATS]
"""
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")
import numpy as np  # noqa: E402
from ray.rllib.env.single_agent_episode import SingleAgentEpisode  # noqa: E402
from ray.rllib.utils.replay_buffers import (  # noqa: E402
    EpisodeReplayBuffer,
    PrioritizedEpisodeReplayBuffer,
)

CAPACITY, FRAGMENT = 50_000, 5


class Env:
    """One env stepping FRAGMENT steps per call, as RLlib's env runner returns chunks."""

    def __init__(self, seed):
        self.g = np.random.default_rng(seed)
        self.next_id = 0
        self.length = int(self.g.integers(10, 200))
        self.chunk = self._new(0, self.g.random(4).astype(np.float32))

    def _new(self, t0, obs, id_=None):
        if id_ is None:
            id_ = str(self.next_id)
            self.next_id += 1
        return SingleAgentEpisode(
            id_=id_, observations=[obs], t_started=t0, len_lookback_buffer=0
        )

    def sample(self):
        out = []
        for _ in range(FRAGMENT):
            obs = self.g.random(4).astype(np.float32)
            done = self.chunk.t + 1 == self.length
            self.chunk.add_env_step(
                obs, int(self.g.integers(0, 2)), 1.0, terminated=done,
                extra_model_outputs={"action_logp": -0.69, "action_dist_inputs": np.array([0.1, -0.1], np.float32)},
            )
            if done:
                out.append(self.chunk)
                self.chunk = self._new(0, obs)
                self.length = int(self.g.integers(10, 200))
        if len(self.chunk) > 0:
            out.append(self.chunk)
            self.chunk = self._new(self.chunk.t, self.chunk.get_observations(-1), self.chunk.id_)
        return out


def time_loop(buf, env, iterations, repeats, prioritized):
    per = {"add_5_steps": [], "sample_32": [], "update_priorities_32": [], "iteration": []}
    for _ in range(repeats):
        parts = [0.0, 0.0, 0.0]
        t = time.perf_counter()
        for _ in range(iterations):
            t0 = time.perf_counter()
            buf.add(env.sample())
            t1 = time.perf_counter()
            kw = dict(num_items=32, n_step=(2, 5), gamma=0.99, sample_episodes=True)
            episodes = buf.sample(beta=0.4, **kw) if prioritized else buf.sample(**kw)
            t2 = time.perf_counter()
            if prioritized:
                td = np.array([e.get_rewards(0) * 0.01 for e in episodes], np.float32)
                buf.update_priorities(td)
            t3 = time.perf_counter()
            parts[0] += t1 - t0
            parts[1] += t2 - t1
            parts[2] += t3 - t2
        total = (time.perf_counter() - t) * 1e6 / iterations
        for k, name in enumerate(["add_5_steps", "sample_32", "update_priorities_32"]):
            per[name].append(parts[k] * 1e6 / iterations)
        per["iteration"].append(total)
    return {k: {"median_us": sorted(v)[len(v) // 2], "min_us": min(v)} for k, v in per.items()}


def main():
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    env = Env(1)
    per = PrioritizedEpisodeReplayBuffer(capacity=CAPACITY, alpha=0.6)
    t = time.perf_counter()
    while per.get_num_timesteps() < CAPACITY - FRAGMENT:
        per.add(env.sample())
    prefill = time.perf_counter() - t
    prioritized = time_loop(per, env, iterations, repeats, True)
    env = Env(2)
    uni = EpisodeReplayBuffer(capacity=CAPACITY)
    while uni.get_num_timesteps() < CAPACITY - FRAGMENT:
        uni.add(env.sample())
    uniform = time_loop(uni, env, iterations, repeats, False)
    print(json.dumps({
        "rllib": "2.60",
        "capacity": CAPACITY, "num_items": 32, "n_step": [2, 5],
        "iterations": iterations, "repeats": repeats,
        "prioritized": {"prefill_50k_steps_s": prefill, "env_steps_stored": per.get_num_timesteps(),
                        "episodes_stored": per.get_num_episodes(), "per_iteration": prioritized},
        "uniform": {"per_iteration": uniform},
    }, indent=2))


if __name__ == "__main__":
    main()
