"""Shrinks a whole-update golden file (`gen_ppo_update_golden.py`'s output) losslessly.

The generator writes float32 values (weights, observations, log-probabilities, distribution
inputs) as float64 reprs of 17 digits. This rewrites each such number as the shortest
decimal that reads back (as a float64, then rounded to float32, which is what our tests
do) to the same float32 — about half the size. Statistics and KL coefficients are kept as
written. Plain Python, no NumPy.
Usage: python3 scripts/shrink_update_golden.py IN.json OUT.json [ITERATIONS]
(ITERATIONS: keep only the first so many iterations, a valid file of the same format.)
"""
import json
import struct
import sys


def f32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def shortest(x):
    if not isinstance(x, float) or f32(x) != x:
        return x  # not a float32 value: keep it exactly
    for digits in range(1, 10):
        y = float(f"{x:.{digits}g}")
        if f32(y) == x:
            return y
    return x


def shrink(v):
    if isinstance(v, list):
        return [shrink(x) for x in v]
    if isinstance(v, dict):
        return {k: shrink(x) for k, x in v.items()}
    return shortest(v)


data = json.load(open(sys.argv[1]))
if len(sys.argv) > 3:
    data["iterations"] = data["iterations"][: int(sys.argv[3])]
for it in data["iterations"]:
    for key in ("weights_before", "weights_after", "episodes"):
        it[key] = shrink(it[key])
json.dump(data, open(sys.argv[2], "w"), separators=(",", ":"))
