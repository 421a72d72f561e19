#!/bin/sh
# run-fuzz.sh TARGET SEED_CORPUS SECONDS
# Runs one libFuzzer target for a bounded time.  New inputs go to a scratch
# corpus next to the binary, so the seed corpus in the source tree is only read.
set -eu
target=$1 seeds=$2 seconds=$3
work="$(dirname "$target")/$(basename "$target").corpus"
mkdir -p "$work" "$seeds"
exec "$target" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 "$work" "$seeds"
