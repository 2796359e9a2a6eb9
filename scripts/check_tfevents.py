"""Checks TensorBoard event files against result.json with TensorBoard's own reader.

Usage: PY=$(../shared/anchors/setup.sh); $PY scripts/check_tfevents.py DIR [DIR ...]
DIR: a trial directory (result.json beside events.out.tfevents.*) or any directory above
trial directories (a sweep, ~/ray_results/EXPERIMENT); every trial found below is checked.
Needs only `tensorboard` (pip install tensorboard).

For each trial: every record of every event file is read with TensorBoard's record reader,
which checks both CRC-32Cs of each record (a mismatch is fatal here); the first record of
each file must be file_version "brain.Event:2"; then TensorBoard's EventAccumulator loads
the directory and its scalars must be exactly those Ray Tune's TBXLoggerCallback writes
for result.json: tag "ray/tune/<flattened key>", step timesteps_total (if non-zero) else
training_iteration, top-level config/pid/timestamp/time_total_s/training_iteration
dropped, numbers and booleans kept as 32-bit floats, NaN/null/strings/lists skipped.
Running it on a trial Ray Tune wrote itself checks these rules against Tune.
Exit code 0 when every trial matches, 1 otherwise.
"""
import glob
import json
import math
import os
import struct
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub import errors
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import PyRecordReader_New

SKIPPED = ("config", "pid", "timestamp", "time_total_s", "training_iteration")


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def flatten(d, prefix=""):
    for k, v in d.items():
        key = f"{prefix}/{k}" if prefix else str(k)
        if isinstance(v, dict):
            yield from flatten(v, key)
        else:
            yield key, v


def expected_scalars(result_json):
    """{tag: [(step, value), ...]} as Tune's TBXLoggerCallback would write them."""
    out = {}
    with open(result_json) as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            step = r.get("timesteps_total") or r["training_iteration"]
            kept = {k: v for k, v in r.items() if k not in SKIPPED}
            for key, v in flatten(kept):
                # bool is an int in Python, so Tune logs it; NaN and None are skipped.
                if isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v)):
                    out.setdefault(f"ray/tune/{key}", []).append((int(step), f32(float(v))))
    return out


def raw_records(path):
    """Every record's Event, read by TensorBoard's CRC-checking reader."""
    reader = PyRecordReader_New(path)
    events = []
    while True:
        try:
            reader.GetNext()
        except errors.OutOfRangeError:
            return events
        # DataLossError (a CRC mismatch or truncation) propagates: the check fails.
        events.append(event_pb2.Event.FromString(reader.record()))


def check_trial(trial):
    problems = []
    files = sorted(glob.glob(os.path.join(trial, "events.out.tfevents.*")))
    if not files:
        return [f"no events.out.tfevents.* file beside result.json"], 0, 0
    records = 0
    for path in files:
        try:
            events = raw_records(path)
        except errors.DataLossError as e:
            problems.append(f"{os.path.basename(path)}: {e.message}")
            continue
        records += len(events)
        if not events or events[0].file_version != "brain.Event:2":
            problems.append(f"{os.path.basename(path)}: first record is not file_version brain.Event:2")

    acc = EventAccumulator(trial, size_guidance={"scalars": 0})
    acc.Reload()
    got = {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}
    want = expected_scalars(os.path.join(trial, "result.json"))
    for tag in sorted(set(want) - set(got)):
        problems.append(f"tag {tag} missing")
    for tag in sorted(set(got) - set(want)):
        problems.append(f"tag {tag} not in result.json")
    for tag in sorted(set(want) & set(got)):
        if got[tag] != want[tag]:
            problems.append(f"tag {tag}: events {got[tag][:3]}... != result.json {want[tag][:3]}...")
    return problems, records, sum(len(v) for v in got.values())


def trials_below(d):
    found = [root for root, _, names in os.walk(d) if "result.json" in names]
    return sorted(found)


def main(dirs):
    if not dirs:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    ok = True
    for d in dirs:
        trials = trials_below(d)
        if not trials:
            print(f"{d}: no result.json found below it")
            ok = False
        for trial in trials:
            problems, records, scalars = check_trial(trial)
            if problems:
                ok = False
                print(f"FAIL {trial}: {len(problems)} problem(s)")
                for p in problems[:20]:
                    print(f"  {p}")
            else:
                print(f"ok   {trial}: {records} records, CRCs valid, {scalars} scalars match result.json")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
