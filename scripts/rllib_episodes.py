"""RLlib 2.60, the seed's config: every training and evaluation episode's return, by iteration,
and the learner's statistics of every iteration.

RLlib's own `episode_return_mean` averages only the episodes that ended in the iteration;
this logs each episode (a callback on the env runners, assigned to iterations by time) so
the curve can be smoothed over the last 100 episodes exactly as ours is.
CartPole only (the return is read as the episode's length; see `LogEpisodes`).
Usage: PY=$(../shared/anchors/setup.sh); $PY scripts/rllib_episodes.py SEED OUT.json
Then: python3 scripts/fidelity_table.py --rllib OUT.json ... -- OUR_RUN_DIR ...
"""
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
import ray
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.callbacks.callbacks import RLlibCallback

seed, out = int(sys.argv[1]), sys.argv[2]
log = out + ".episodes"
if os.path.exists(log):
    os.remove(log)

class LogEpisodes(RLlibCallback):
    def on_episode_end(self, *, episode, env_runner=None, **kwargs):
        # `episode` is only the last chunk of a long episode, so `get_return()` can be
        # partial; CartPole pays 1 per step, so the whole return is the episode's global
        # step count `t` (equal to `get_return()` for episodes that were never cut).
        ev = bool(env_runner is not None and env_runner.config.in_evaluation)
        rec = {"t": time.time(), "eval": ev, "ret": float(episode.t),
               "chunk_ret": float(episode.get_return()), "chunk_len": len(episode)}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")

ray.init(num_cpus=4, include_dashboard=False, log_to_driver=False)
config = (PPOConfig().environment(env="CartPole-v1").framework("torch")
          .env_runners(num_env_runners=2)
          .training(train_batch_size=500, lr=0.0003, gamma=0.99, minibatch_size=128, num_epochs=5)
          .evaluation(evaluation_interval=10, evaluation_duration=10)
          .callbacks(LogEpisodes)
          .debugging(seed=seed))
algo = config.build_algo()
LEARNER_KEYS = ("policy_loss", "vf_loss", "vf_loss_unclipped", "vf_explained_var", "entropy",
                "mean_kl_loss", "curr_kl_coeff", "total_loss")
ends, evals, stats = [], [], []
for i in range(100):
    r = algo.train()
    ends.append(time.time())
    evals.append(r.get("evaluation", {}).get("env_runners", {}).get("episode_return_mean"))
    learner = r.get("learners", {}).get("default_policy", {})
    stats.append({k: float(f"{float(learner[k]):.6g}") for k in LEARNER_KEYS if k in learner})
algo.stop(); ray.shutdown()
eps = [json.loads(l) for l in open(log)]
iters = []
for i, end in enumerate(ends):
    start = ends[i - 1] if i else 0.0
    tr = [e["ret"] for e in eps if not e["eval"] and start < e["t"] <= end]
    ev = [e["ret"] for e in eps if e["eval"] and start < e["t"] <= end]
    iters.append({"iteration": i + 1, "train_returns": tr, "eval_returns": ev, "eval_mean_reported": evals[i],
                  "learner": stats[i]})
json.dump({"seed": seed, "iterations": iters}, open(out, "w"), separators=(",", ":"))
