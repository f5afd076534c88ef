#!/usr/bin/env bash
# Wall time of the same inference work on a run with its (unmerged) adapter, on its merged directory, and on the base:
#   tools/merge/time_merged.sh RUN_DIR MERGED_DIR BASE_DIR TEXTS [REPEATS]
# Runs are interleaved (run, merged, base, run, ...) so that a change in machine load hits all three alike; each
# time includes the JVM start and the model load, which are the same for all three. Prints one line per run and
# the medians; the load average is printed before and after (the numbers mean little on a busy machine).
set -euo pipefail
RUN=$1 MERGED=$2 BASE=$3 TEXTS=$4 N=${5:-3}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
t() { local s e; s=$(date +%s.%N); "$@" > /dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -a A B C D E
for i in $(seq 1 "$N"); do
  A+=("$(t nice -n 10 "$ROOT/peft4j" predict "$RUN" --input "$TEXTS" --batch-size 32)")
  B+=("$(t nice -n 10 "$ROOT/peft4j" predict "$MERGED/peft4j-run" --input "$TEXTS" --batch-size 32)")
  C+=("$(t nice -n 10 "$ROOT/peft4j" encode "$MERGED" --input "$TEXTS" --max-length 48 --batch-size 32)")
  D+=("$(t nice -n 10 "$ROOT/peft4j" encode "$BASE" --input "$TEXTS" --max-length 48 --batch-size 32)")
  echo "round $i: predict run+adapter ${A[-1]} s, predict merged ${B[-1]} s, encode merged ${C[-1]} s, encode base ${D[-1]} s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "median: predict run+adapter $(median "${A[@]}") s, predict merged $(median "${B[@]}") s, encode merged $(median "${C[@]}") s, encode base $(median "${D[@]}") s"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
