"""Tables of docs/ppo_vs_rllib.md from our runs' result.json files.

Usage: python3 scripts/fidelity_table.py DIR [DIR ...]
where each DIR is the --output of `cargo run --release --example cartpole_ppo -- --seed S`.
Prints the smoothed training-return table, the evaluation table, first evaluation >= 475
and the iteration-1 losses, as Markdown.
"""
import json
import sys


def rows(path):
    with open(f"{path}/result.json") as f:
        return [json.loads(line.replace("NaN", "null")) for line in f]


def fmt(x):
    return "" if x is None else f"{x:.0f}"


dirs = sys.argv[1:]
runs = [rows(d) for d in dirs]
ticks = [1] + list(range(10, 101, 10))
print("| run | " + " | ".join(map(str, ticks)) + " |")
print("|---" * (len(ticks) + 1) + "|")
for d, r in zip(dirs, runs):
    vals = [r[t - 1]["env_runners"]["episode_return_mean"] for t in ticks if t <= len(r)]
    print(f"| ours, {d.rstrip('/').split('/')[-1]} | " + " | ".join(map(fmt, vals)) + " |")
print()
eticks = list(range(10, 101, 10))
print("| run | " + " | ".join(map(str, eticks)) + " |")
print("|---" * (len(eticks) + 1) + "|")
for d, r in zip(dirs, runs):
    vals = [
        r[t - 1].get("evaluation", {}).get("env_runners", {}).get("episode_return_mean")
        for t in eticks
        if t <= len(r)
    ]
    print(f"| ours, {d.rstrip('/').split('/')[-1]} | " + " | ".join(map(fmt, vals)) + " |")
print()
for d, r in zip(dirs, runs):
    first = next(
        (
            x["training_iteration"]
            for x in r
            if (x.get("evaluation", {}).get("env_runners", {}).get("episode_return_mean") or 0)
            >= 475
        ),
        None,
    )
    l = r[0]["learners"]["default_policy"]
    print(
        f"{d}: first eval >= 475 at {first}; iteration 1: policy_loss {l['policy_loss']:.3f}"
        f" vf_loss {l['vf_loss']:.2f} entropy {l['entropy']:.3f} kl {l['mean_kl_loss']:.4f}"
    )
