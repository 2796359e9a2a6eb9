#!/usr/bin/env bash
# Lists every site in library code that can panic by design — `unwrap()`, `expect(`,
# `panic!`, `unreachable!`, `todo!`, `unimplemented!` — and checks that each one is a
# documented invariant: an `expect("…")` whose message says why it cannot fail, or an
# `// invariant: …` comment on the line or in the five lines above it. Anything else is
# reported as UNDOCUMENTED and the script exits 1.
#
# Library code: rl-nn/src, rl-core/src, rl-envs/src, rl-algos/src and src/, without
# `#[cfg(test)]` items, `tests/` directories and `tests.rs` files (`#[cfg(test)] mod tests;`), comments (doc examples are doctests) and
# rl-core/src/testing (test support, built only with the `test-support` feature).
#
#   scripts/check_panics.sh          # list the sites, fail on undocumented ones
#   scripts/check_panics.sh --quiet  # only the undocumented ones and the counts
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=${1:-}

files=$(find rl-nn/src rl-core/src rl-envs/src rl-algos/src src -name '*.rs' \
    -not -path '*/tests/*' -not -name 'tests.rs' -not -path 'rl-core/src/testing/*' | sort)

# shellcheck disable=SC2086
awk -v quiet="$quiet" '
    FNR == 1 { skip = 0; depth = 0; pending = 0; delete recent }
    {
        line = $0
        # A #[cfg(test)] item: skip it, to the end of its braces or its `;`.
        if (!skip && line ~ /^[ \t]*#\[cfg\(test\)\]/) { pending = 1; next }
        if (pending && !skip) {
            if (line ~ /^[ \t]*#\[/) next
            pending = 0
            opens = gsub(/\{/, "{", line); closes = gsub(/\}/, "}", line)
            if (opens == 0) next                 # `mod tests;` or a one-line item
            skip = 1; depth = opens - closes
            if (depth <= 0) skip = 0
            next
        }
        if (skip) {
            depth += gsub(/\{/, "{", line) - gsub(/\}/, "}", line)
            if (depth <= 0) skip = 0
            next
        }
        recent[FNR % 6] = line
        if (line ~ /^[ \t]*\/\//) next           # comments and doc examples
        if (line !~ /unwrap\(\)|expect\(|panic!|unreachable!|todo!|unimplemented!/) next
        kind = "UNDOCUMENTED"
        if (line ~ /expect\(/ && line !~ /unwrap\(\)|panic!|unreachable!/) kind = "expect"
        documented = tolower(line) ~ /invariant:/
        for (k = 1; k <= 5 && !documented; k++)
            if ((FNR - k) % 6 in recent && tolower(recent[(FNR - k) % 6]) ~ /invariant:/) documented = 1
        if (documented) kind = "invariant"
        # An expect whose message is on the next line(s) still counts as an expect.
        if (kind == "UNDOCUMENTED" && line ~ /expect\($/) kind = "expect"
        count[kind]++
        sub(/^[ \t]+/, "", line)
        if (quiet == "" || kind == "UNDOCUMENTED") printf "%s:%d: [%s] %s\n", FILENAME, FNR, kind, line
    }
    END {
        printf "%d expect, %d invariant, %d undocumented\n", count["expect"], count["invariant"], count["UNDOCUMENTED"]
        exit count["UNDOCUMENTED"] > 0
    }
' $files
