"""Tables of docs/ppo_vs_rllib.md.

Usage: python3 scripts/fidelity_table.py [--rllib FILE ...] -- DIR [DIR ...]
DIR: the --output of `cargo run --release --example cartpole_ppo -- --seed S [--set ...]`.
FILE: the output of `scripts/rllib_episodes.py SEED FILE` (RLlib 2.60, every episode).
Prints, as Markdown: the training return smoothed over the last 100 episodes, the
evaluation return (10 episodes), min / median / max of the training return per side, the
first evaluation >= 475 and iteration 1's statistics.
"""
import json
import statistics
import sys

TICKS = [1] + list(range(10, 101, 10))
ETICKS = list(range(10, 101, 10))


def fmt(x):
    return "-" if x is None else f"{x:.0f}"


def ours(path):
    with open(f"{path}/result.json") as f:
        rows = [json.loads(line.replace("NaN", "null")) for line in f]
    train = [r["env_runners"].get("episode_return_mean") for r in rows]
    ev = [r.get("evaluation", {}).get("env_runners", {}).get("episode_return_mean") for r in rows]
    return train, ev, rows[0]["learners"]["default_policy"]


def rllib(path):
    with open(path) as f:
        its = json.load(f)["iterations"]
    window, train, ev = [], [], []
    for it in its:
        window = (window + it["train_returns"])[-100:]
        train.append(sum(window) / len(window) if window else None)
        e = it["eval_returns"]
        ev.append(sum(e) / len(e) if e else None)
    return train, ev, None


def table(title, ticks, runs):
    print(f"{title}\n")
    print("| run | " + " | ".join(map(str, ticks)) + " |")
    print("|---" * (len(ticks) + 1) + "|")
    for name, series in runs:
        print(f"| {name} | " + " | ".join(fmt(series[t - 1]) for t in ticks) + " |")
    print()


args = sys.argv[1:]
rl_files, dirs = [], []
target = dirs
for a in args:
    if a == "--rllib":
        target = rl_files
    elif a == "--":
        target = dirs
    else:
        target.append(a)
runs = [(f"ours, {d.rstrip('/').split('/')[-1]}", *ours(d)) for d in dirs]
runs += [(f"RLlib, {f.rstrip('/').split('/')[-1]}", *rllib(f)) for f in rl_files]
table("Training return, smoothed over the last 100 episodes", TICKS, [(n, t) for n, t, _, _ in runs])
table("Evaluation return (10 episodes)", ETICKS, [(n, e) for n, _, e, _ in runs])


def spread(series_list):
    """min / median / max per tick of the smoothed training return."""
    cells = []
    for t in TICKS:
        v = sorted(x[t - 1] for x in series_list if x[t - 1] is not None)
        cells.append(f"{v[0]:.0f} / {statistics.median(v):.0f} / {v[-1]:.0f}" if v else "-")
    return cells


print("Training return, min / median / max over the runs\n")
print("| side | " + " | ".join(map(str, TICKS)) + " |")
print("|---" * (len(TICKS) + 1) + "|")
for side in ("ours", "RLlib"):
    group = [t for n, t, _, _ in runs if n.startswith(side)]
    if group:
        print(f"| {side}, {len(group)} runs | " + " | ".join(spread(group)) + " |")
print()
for name, _, ev, first_stats in runs:
    first = next((i + 1 for i, x in enumerate(ev) if x is not None and x >= 475), None)
    line = f"{name}: first evaluation >= 475 at iteration {first}"
    if first_stats:
        l = first_stats
        line += (
            f"; iteration 1: policy_loss {l['policy_loss']:.3f}, vf_loss {l['vf_loss']:.2f},"
            f" entropy {l['entropy']:.3f}, mean_kl_loss {l['mean_kl_loss']:.4f}"
        )
    print(line)
