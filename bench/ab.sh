#!/usr/bin/env bash
# Two builds of a Google Benchmark program side by side on a noisy machine: the runs alternate
# (before, after, before, ...), each of REPS repetitions, and the least time of each benchmark
# over all of them is printed (interference only ever adds time, so the minimum is the stable
# figure; on the shared 2-vCPU hosts a median moves by 30-50 % between runs).
#   bench/ab.sh BEFORE_BUILD AFTER_BUILD FILTER [ROUNDS] [PROGRAM] [COUNTER]
# e.g. git worktree add /tmp/before main && cmake -S /tmp/before -B /tmp/before/build && \
#      cmake --build /tmp/before/build --target bench_indicators && \
#      bench/ab.sh /tmp/before/build build '/batch/' 5
# PROGRAM: bench_indicators (default), bench_backtest, bench_optimize; COUNTER: the counter to
# compare (ns_per_bar by default; bench_backtest's is ns_per_bar_per_sub).
set -euo pipefail
[ $# -ge 3 ] || {
    sed -n '2,11p' "$0"
    exit 2
}
before=$1 after=$2 filter=$3 rounds=${4:-5} program=${5:-bench_indicators} counter=${6:-ns_per_bar}
for build in "$before" "$after"; do
    [ -x "$build/bench/$program" ] || {
        echo "no $build/bench/$program" >&2
        exit 2
    }
done
for _ in $(seq "$rounds"); do
    for side in before after; do
        build=$before
        [ "$side" = after ] && build=$after
        "$build/bench/$program" --benchmark_filter="$filter" --benchmark_min_time=0.05 \
            --benchmark_repetitions=5 2>/dev/null |
            grep -v '_mean\|_median\|_stddev\|_cv' | grep "$counter=" |
            awk -v side="$side" -v counter="$counter" '{
                for (i = 2; i <= NF; i++) if (index($i, counter "=") == 1) { v = substr($i, length(counter) + 2); sub(/[a-z]*$/, "", v); print $1, side, v }
            }'
    done
done | awk '{
    k = $1; if (!(k in seen)) { order[++n] = k; seen[k] = 1 }
    if (!((k, $2) in m) || $3 + 0 < m[k, $2]) m[k, $2] = $3 + 0
} END {
    printf "%-42s %10s %10s %8s\n", "benchmark (least of all runs)", "before", "after", "ratio"
    for (i = 1; i <= n; i++) { k = order[i]; printf "%-42s %10.3f %10.3f %7.2fx\n", k, m[k, "before"], m[k, "after"], m[k, "before"] / m[k, "after"] }
}'
