"""docs/ppo_vs_rllib.md, from raw runs: ours beside RLlib 2.60 on the seed's config.

Two commands, plain Python (no NumPy, no SciPy):

  python3 scripts/fidelity_table.py trim [--name NAME] OUT_DIR RUN_DIR [RUN_DIR ...]
      Our runs (`cargo run --release --example cartpole_ppo -- --seed S
      --set evaluation_explore=true --output RUN_DIR`) trimmed to what the doc reads, one
      `NAME_seed<S>.json` per run in OUT_DIR (NAME: `ours`, the default, or `oursreal` for
      runs with `standardize_real_rows_only`, see REAL_ROWS_SET): per iteration the
      training return (ours is already smoothed over the last 100 episodes), the
      evaluation return and the learner's statistics.

  python3 scripts/fidelity_table.py doc FIDELITY_DIR > docs/ppo_vs_rllib.md
      The whole doc from FIDELITY_DIR/ours_seed*.json, FIDELITY_DIR/rllib_seed*.json
      (`scripts/rllib_episodes.py SEED FILE`: every episode's return and the learner's
      statistics, by iteration; its training return is smoothed here over the last 100
      episodes, as ours is) and, if present, FIDELITY_DIR/oursreal_seed*.json. Every
      figure in the doc comes from these files.

Per compared iteration: min / median / max on each side and a two-sided Mann-Whitney U
test (exact null distribution without ties, normal approximation with tie correction
otherwise).
"""
import glob
import json
import math
import os
import statistics
import sys

TRAIN_TICKS = [1] + list(range(10, 101, 10))
EVAL_TICKS = list(range(10, 101, 10))
STAT_TICKS = [1, 50, 100]
SOLVED = 475.0
# The `--set` that turns on `standardize_real_rows_only` in `cartpole_ppo` (the seed's
# gamma and lambda, RLlib's pipeline otherwise).
REAL_ROWS_SET = ("learner_connector=[{\"type\":\"AddOneTsToEpisodesAndTruncate\"},"
                 "{\"type\":\"AddColumnsFromEpisodesToTrainBatch\"},"
                 "{\"type\":\"GeneralAdvantageEstimation\",\"gamma\":0.99,\"lambda\":1.0,"
                 "\"standardize_real_rows_only\":true}]")


LEARNER_KEYS = ("policy_loss", "vf_loss", "entropy", "mean_kl_loss", "curr_kl_coeff", "vf_explained_var")


def rounded(x, sig=6):
    return None if x is None else float(f"{x:.{sig}g}")


# ----- loading --------------------------------------------------------------------------

def trim_ours(run_dir, name):
    """One of our run directories -> the trimmed record the doc reads."""
    with open(os.path.join(run_dir, "result.json")) as f:
        rows = [json.loads(line.replace("NaN", "null")) for line in f if line.strip()]
    with open(os.path.join(run_dir, "params.json")) as f:
        seed = json.load(f).get("seed")
    assert [r["training_iteration"] for r in rows] == list(range(1, len(rows) + 1))
    learner = [r.get("learners", {}).get("default_policy", {}) for r in rows]
    rec = {"side": name, "seed": seed,
           "train_return": [rounded(r["env_runners"].get("episode_return_mean")) for r in rows],
           "eval_return": [rounded(r.get("evaluation", {}).get("env_runners", {}).get("episode_return_mean"))
                           for r in rows]}
    for k in LEARNER_KEYS:
        rec[k] = [rounded(l.get(k)) for l in learner]
    return rec


def load_ours(path):
    """A trimmed run (columns by iteration) -> per-iteration records."""
    with open(path) as f:
        rec = json.load(f)
    its = [{"iteration": i + 1, "train_return": tr, "eval_return": ev,
            "learner": {k: rec[k][i] for k in LEARNER_KEYS if rec[k][i] is not None}}
           for i, (tr, ev) in enumerate(zip(rec["train_return"], rec["eval_return"]))]
    return {"side": rec["side"], "seed": rec["seed"], "iterations": its}


def load_rllib(path):
    """`rllib_episodes.py`'s output -> the same shape as ours, smoothing training returns
    over the last 100 episodes (RLlib 2.60 averages only the episodes of the iteration)."""
    with open(path) as f:
        data = json.load(f)
    window, its = [], []
    for it in data["iterations"]:
        window = (window + it["train_returns"])[-100:]
        ev = it["eval_returns"]
        its.append({
            "iteration": it["iteration"],
            "train_return": sum(window) / len(window) if window else None,
            "eval_return": sum(ev) / len(ev) if ev else it.get("eval_mean_reported"),
            "learner": it.get("learner", {}),
        })
    return {"side": "RLlib", "seed": data["seed"], "iterations": its}


def load_dir(d):
    def by_seed(runs):
        return sorted(runs, key=lambda r: r["seed"])

    ours = by_seed(load_ours(p) for p in glob.glob(os.path.join(d, "ours_seed*.json")))
    real = by_seed(load_ours(p) for p in glob.glob(os.path.join(d, "oursreal_seed*.json")))
    rllib = by_seed(load_rllib(p) for p in glob.glob(os.path.join(d, "rllib_seed*.json")))
    if not ours or not rllib:
        sys.exit(f"{d}: need ours_seed*.json and rllib_seed*.json")
    return ours, real, rllib


def at(run, iteration, key, stat=None):
    its = run["iterations"]
    if iteration > len(its):
        return None
    it = its[iteration - 1]
    return it["learner"].get(stat) if key == "learner" else it[key]


def first_solved(run):
    return next((it["iteration"] for it in run["iterations"]
                 if it["eval_return"] is not None and it["eval_return"] >= SOLVED), None)


# ----- statistics ----------------------------------------------------------------------

def ranks(values):
    """Mid-ranks (1-based) of values, and the tie groups' sizes."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    r, ties, i = [0.0] * len(values), [], 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        ties.append(j - i + 1)
        i = j + 1
    return r, ties


def exact_u_cdf(n1, n2):
    """counts[u] = number of ways to get U = u for samples of n1 and n2 without ties."""
    # f[i][j][u]: arrangements of i x's and j y's with U (pairs x > y) = u.
    f = [[None] * (n2 + 1) for _ in range(n1 + 1)]
    for i in range(n1 + 1):
        for j in range(n2 + 1):
            if i == 0 or j == 0:
                f[i][j] = [1]
                continue
            # The largest element is an x (beats all j y's) or a y.
            a, b = f[i - 1][j], f[i][j - 1]
            out = [0] * (i * j + 1)
            for u, c in enumerate(a):
                out[u + j] += c
            for u, c in enumerate(b):
                out[u] += c
            f[i][j] = out
    return f[n1][n2]


def mann_whitney(x, y):
    """U of x against y and the two-sided p-value."""
    n1, n2 = len(x), len(y)
    r, ties = ranks(list(x) + list(y))
    u = sum(r[:n1]) - n1 * (n1 + 1) / 2
    if all(t == 1 for t in ties):
        counts = exact_u_cdf(n1, n2)
        total = sum(counts)
        lo = min(u, n1 * n2 - u)
        p = 2 * sum(counts[: int(lo) + 1]) / total
        return u, min(1.0, p), "exact"
    n = n1 + n2
    mu = n1 * n2 / 2
    var = n1 * n2 / 12 * ((n + 1) - sum(t ** 3 - t for t in ties) / (n * (n - 1)))
    if var == 0:
        return u, 1.0, "normal"
    z = (abs(u - mu) - 0.5) / math.sqrt(var)  # continuity correction
    p = math.erfc(max(z, 0.0) / math.sqrt(2))
    return u, min(1.0, p), "normal"


# ----- formatting ----------------------------------------------------------------------

def fmt(x, digits=0):
    if x is None:
        return "–"
    if digits == 0:
        return f"{x:.0f}"
    return f"{x:.{digits}f}" if abs(x) >= 10 ** -digits or x == 0 else f"{x:.1e}"


def spread(values, digits):
    v = sorted(values)
    return f"{fmt(v[0], digits)} / **{fmt(statistics.median(v), digits)}** / {fmt(v[-1], digits)}"


def compare_row(label, ours_v, rllib_v, digits):
    ours_v = [v for v in ours_v if v is not None]
    rllib_v = [v for v in rllib_v if v is not None]
    if not ours_v or not rllib_v:
        return None
    u, p, _ = mann_whitney(ours_v, rllib_v)
    med = statistics.median(ours_v)
    inside = min(rllib_v) <= med <= max(rllib_v)
    return (f"| {label} | {spread(ours_v, digits)} | {spread(rllib_v, digits)} | "
            f"{'yes' if inside else '**no**'} | {u:.0f} | {p:.2f} |"), inside, p


def compare_table(rows, ours, rllib, title, side="ours"):
    """Markdown table of `rows` (label, getter, digits) and, per row, (label, inside, p)."""
    out = [f"| {title} | {side}: min / **median** / max | RLlib: min / **median** / max | "
           "median inside RLlib's range | U | p |", "|---|---|---|---|---|---|"]
    summary = []
    for label, get, digits in rows:
        row = compare_row(label, [get(r) for r in ours], [get(r) for r in rllib], digits)
        if row:
            out.append(row[0])
            summary.append((label, row[1], row[2]))
    return "\n".join(out), summary


def per_run_table(runs, ticks, key, title):
    out = ["| " + title + " | " + " | ".join(map(str, ticks)) + " |", "|---" * (len(ticks) + 1) + "|"]
    for r in runs:
        out.append(f"| {r['side']}, seed {r['seed']} | "
                   + " | ".join(fmt(at(r, t, key)) for t in ticks) + " |")
    return "\n".join(out)


def stat_rows():
    rows = []
    for stat, digits in (("policy_loss", 3), ("entropy", 3), ("mean_kl_loss", 4)):
        for t in STAT_TICKS:
            rows.append((f"`{stat}` at {t}", lambda r, t=t, s=stat: at(r, t, "learner", s), digits))
    rows.append(("`vf_loss` at 1", lambda r: at(r, 1, "learner", "vf_loss"), 2))
    return rows


def return_rows(key, ticks):
    return [(f"at {t}", lambda r, t=t: at(r, t, key), 0) for t in ticks]


def solved_line(runs):
    hits = sorted(f for f in (first_solved(r) for r in runs) if f is not None)
    where = f" (at iterations {', '.join(map(str, hits))})" if hits else ""
    return f"{len(hits)} of {len(runs)}{where}"


def seed_words(runs):
    """The seeds as a shell word list (`$(seq A B)` when contiguous)."""
    s = [r["seed"] for r in runs]
    return f"$(seq {s[0]} {s[-1]})" if s == list(range(s[0], s[-1] + 1)) else " ".join(map(str, s))


def seed_list(runs):
    s = [r["seed"] for r in runs]
    return f"{s[0]}–{s[-1]}" if s == list(range(s[0], s[-1] + 1)) else ", ".join(map(str, s))


def first_policy_losses(runs):
    return ", ".join(f"{at(r, 1, 'learner', 'policy_loss'):+.3f}" for r in runs)


def mean_first_policy_loss(runs):
    return statistics.mean(at(r, 1, "learner", "policy_loss") for r in runs)


def doc(d):
    ours, real, rllib = load_dir(d)
    no, nr = len(ours), len(rllib)
    sections = [
        ("statistic (last minibatch)", "learner statistic", stat_rows()),
        ("training return", "training return", return_rows("train_return", TRAIN_TICKS)),
        ("evaluation return", "evaluation return", return_rows("eval_return", EVAL_TICKS)),
    ]
    tables, every = [], []
    for title, name, rows in sections:
        t, summary = compare_table(rows, ours, rllib, title)
        tables.append(t)
        every += [(f"{name} {label}", inside, p) for label, inside, p in summary]
    stats_t, train_t, eval_t = tables
    outside = [label for label, inside, _ in every if not inside]
    low_p = [f"{label} (p = {p:.2f})" for label, _, p in every if p < 0.05]

    print(f"""# PPO on the seed's config, beside RLlib 2.60

<!-- Generated by `python3 scripts/fidelity_table.py doc docs/fidelity > docs/ppo_vs_rllib.md`
     from the raw runs in docs/fidelity/; edit the script, not this file. -->

The user's RLlib run (`../shared/seed/`): CartPole-v1, 2 env runners,
`train_batch_size=500`, `lr=3e-4`, `gamma=0.99`, `minibatch_size=128`, `num_epochs=5`,
evaluation every 10 iterations × 10 episodes, 100 iterations, RLlib's other PPO defaults
(λ = 1, clip 0.3, `vf_clip_param` 10, KL penalty 0.2 → adaptive, [256, 256] tanh,
separate actor and critic, torch's default init, Adam ε 1e-8). Our preset of it is
`rl_algos::ppo::presets::cartpole_seed_run`. Ours: {no} seeds ({seed_list(ours)}); RLlib
2.60: {nr} seeds ({seed_list(rllib)}). The two sides' seeds are unrelated (other RNGs):
compare distributions, not seeds.

```sh
# ours (evaluation sampling actions, as RLlib's default evaluation does; see below)
for S in {seed_words(ours)}; do
  cargo run --release --example cartpole_ppo -- --seed $S --set evaluation_explore=true --output runs/ours_$S
done
python3 scripts/fidelity_table.py trim docs/fidelity runs/ours_*
# RLlib 2.60 (every episode's return and the learner's statistics, by iteration)
PY=$(../shared/anchors/setup.sh)
for S in {seed_words(rllib)}; do $PY scripts/rllib_episodes.py $S docs/fidelity/rllib_seed$S.json; done
# this page
python3 scripts/fidelity_table.py doc docs/fidelity > docs/ppo_vs_rllib.md
```

Comparing like with like takes two corrections, both documented in `docs/metrics.md`:
- RLlib 2.60's `env_runners/episode_return_mean` averages only the episodes that ended in
  that iteration (NaN when none did); ours smooths over the last 100 episodes. Here both
  sides are smoothed over the last 100 episodes (RLlib's from its logged episodes).
- RLlib 2.60 evaluates with `explore=True` unless `evaluation_config` says otherwise; we
  evaluate greedily by default. The runs here set `evaluation_explore=true`.

Each row gives min / **median** / max on each side, whether our median lies within RLlib's
range, and a two-sided Mann–Whitney rank test (U of ours against RLlib's, out of
{no * nr}; p exact without ties, else the normal approximation with tie correction). A
small p says the two sets of runs are unlikely to come from one distribution.

## Summary

- Our median lies within RLlib's range at {len(every) - len(outside)} of {len(every)} compared
  points{'.' if not outside else '; outside: ' + ', '.join(outside) + '.'}
- Rank tests with p < 0.05: {', '.join(low_p) if low_p else 'none'}, of {len(every)} tests
  (at this many, one or two below 0.05 are expected by chance alone).
- First evaluation ≥ 475 within 100 iterations: ours {solved_line(ours)}; RLlib
  {solved_line(rllib)}.
- Iteration 1's `policy_loss`, mean over the seeds: ours {mean_first_policy_loss(ours):+.3f},
  RLlib {mean_first_policy_loss(rllib):+.3f}.

## Learner statistics at iterations 1, 50 and 100

Both sides report the last minibatch's values (RLlib logs them with `window=1`).

{stats_t}

Iteration 1's `policy_loss` by seed — ours: {first_policy_losses(ours)}; RLlib:
{first_policy_losses(rllib)}.

## Training return (smoothed over the last 100 episodes), by iteration

{train_t}

## Evaluation return (10 episodes, actions sampled), by iteration

{eval_t}
{real_rows_section(real, rllib)}
## Per run

{per_run_table(ours + rllib, TRAIN_TICKS, "train_return", "training return")}

{per_run_table(ours + rllib, EVAL_TICKS, "eval_return", "evaluation return")}

## The bootstrap step, and what is checked exactly

RLlib's learner connector `AddOneTsToEpisodesAndTruncate` appends one bootstrap step to
every episode chunk and marks it **neither terminated nor truncated**; the chunk's last
real step carries the chunk's end (terminated, or truncated for a time limit or a rollout
cut). The bootstrap step's own advantage therefore runs on into the next chunk (about γ
times the next chunk's return, minus a value), and although the loss masks that row, it
enters the mean and std of the advantage standardization. We used to mark that step
truncated, which gave it an advantage near 0 instead (RLlib's: 16–22 on average in the
shared golden file's three iterations), and every real row's standardized advantage sat
about 0.1 higher than RLlib's (0.12, 0.09, 0.07): iteration 1's `policy_loss` was biased
(mean −0.116 over seeds 0–19 at commit 0334170, against {mean_first_policy_loss(ours):+.3f}
now) and evaluation lagged RLlib's. With RLlib's flags our learner, started from RLlib's
weights and fed RLlib's episodes, ends every iteration at RLlib's weights within float32
rounding (`rl-algos/tests/conformance_ppo_update.rs`, golden files of widths 16, 32 and 64).

Counting the bootstrap rows in the standardization is RLlib's choice, and our default.
`GeneralAdvantageEstimation::standardize_real_rows_only` (off by default; not an RLlib
option) takes the mean and std over the real steps only (`loss_mask` true), which is what
standardizing advantages is for: the bootstrap rows' advantages mix two episodes and are
never trained on. Turn it on by replacing the connector in the learner pipeline, with the
config's γ and λ (the pipeline carries its own):

```rust
use rl::algos::ppo::learner::configurable_learner_pipeline;
use rl::core::connectors::learner::GeneralAdvantageEstimation;
// γ and λ come from the config's `gamma` and `lambda_`.
let mut pipeline = configurable_learner_pipeline();
pipeline.replace(
    "GeneralAdvantageEstimation",
    Box::new(GeneralAdvantageEstimation::default().with_standardize_real_rows_only(true)),
)?;
config.base.learner_connector = Some(pipeline);
```

or from the command line, `cartpole_ppo -- --set '{REAL_ROWS_SET}'`.

What is checked exactly, not just in distribution: whole learner updates against RLlib's
own `Learner.update` (`rl-algos/tests/conformance_ppo_update.rs`), the loss, every logged
statistic and every gradient against RLlib's learner (`rl-algos/tests/conformance_ppo_loss.rs`),
the GAE targets against RLlib's (`rl-core/tests/conformance_gae.rs`), and the five
classic-control envs against Gymnasium (`rl-envs/tests/conformance_envs.rs`). The rows the
env runners record meet the learner with ratio 1 and KL 0 before any update
(`rl-algos/tests/sampling_alignment.rs`).""")


def real_rows_section(real, rllib):
    """The opt-in `standardize_real_rows_only` runs beside RLlib's, if there are any."""
    if not real:
        return ""
    rows = [r for r in stat_rows() if r[0] in ("`policy_loss` at 1", "`entropy` at 50",
                                               "`entropy` at 100", "`mean_kl_loss` at 1")]
    rows += [(f"training return {l}", g, d) for l, g, d in return_rows("train_return", [50, 100])]
    rows += [(f"evaluation return {l}", g, d) for l, g, d in return_rows("eval_return", [50, 100])]
    table, _ = compare_table(rows, real, rllib, "compared", side="real rows only")
    return f"""
## Opt-in: standardizing over real rows only

Ours with `standardize_real_rows_only` ({len(real)} seeds, {seed_list(real)}; see the last
section), beside RLlib. First evaluation ≥ 475 within 100 iterations: {solved_line(real)};
iteration 1's `policy_loss`, mean over the seeds: {mean_first_policy_loss(real):+.3f}.

```sh
cargo run --release --example cartpole_ppo -- --seed S --set evaluation_explore=true \\
  --set '{REAL_ROWS_SET}' --output runs/oursreal_S
python3 scripts/fidelity_table.py trim --name oursreal docs/fidelity runs/oursreal_*
```

{table}
"""


def main(argv):
    if len(argv) >= 3 and argv[0] == "trim":
        name = "ours"
        if argv[1] == "--name":
            name, argv = argv[2], argv[2:]
        out = argv[1]
        os.makedirs(out, exist_ok=True)
        for run_dir in argv[2:]:
            rec = trim_ours(run_dir, name)
            path = os.path.join(out, f"{name}_seed{rec['seed']}.json")
            with open(path, "w") as f:
                json.dump(rec, f, separators=(",", ":"))
            print("wrote", path, file=sys.stderr)
    elif len(argv) == 2 and argv[0] == "doc":
        doc(argv[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
