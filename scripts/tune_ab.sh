#!/bin/bash
# Interleaved A/B for the seed's sweep (docs/tune.md, "Figures"): a plain run, three plain
# runs as processes at once, the sweep one trial at a time, the sweep three at once; ROUNDS
# times, IT iterations each. Prints wall time, /usr/bin/time's wall/user/sys/CPU%, the load
# average, and the sweep's worker-thread line.
#   cargo build --release --example cartpole_ppo --example tune_minibatch
#   IT=150 ROUNDS=2 scripts/tune_ab.sh
set -u
cd "$(dirname "$0")/.."
IT=${IT:-40}
ROUNDS=${ROUNDS:-2}
OUT=$(mktemp -d)
for round in $(seq "$ROUNDS"); do
  for v in single three_procs sweep1 sweep3; do
    start=$(date +%s.%N)
    case $v in
      single)
        /usr/bin/time -f "%e %U %S %P" ./target/release/examples/cartpole_ppo --iterations "$IT" \
          --set train_batch_size=4000 --output "$OUT/single_$round" > /dev/null 2> "$OUT/time_$v" ;;
      three_procs)
        for mb in 128 200 256; do
          /usr/bin/time -f "%e %U %S %P" ./target/release/examples/cartpole_ppo --iterations "$IT" \
            --set train_batch_size=4000 --set minibatch_size=$mb --output "$OUT/three_${round}_$mb" \
            > /dev/null 2> "$OUT/time_${v}_$mb" &
        done
        wait
        cat "$OUT"/time_${v}_* > "$OUT/time_$v" ;;
      sweep1 | sweep3)
        /usr/bin/time -f "%e %U %S %P" ./target/release/examples/tune_minibatch --iterations "$IT" \
          --max-concurrent-trials "${v#sweep}" --storage-path "$OUT/${v}_$round" \
          > "$OUT/out_$v" 2> "$OUT/time_$v" ;;
    esac
    end=$(date +%s.%N)
    echo "round $round $v wall $(echo "$end - $start" | bc) time: $(tail -3 "$OUT/time_$v" | tr '\n' ' ')" \
      "load $(cut -d' ' -f1 /proc/loadavg) $(grep -h 'Worker threads' "$OUT/out_$v" 2>/dev/null)"
  done
done
rm -rf "$OUT"
