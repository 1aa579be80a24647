#!/usr/bin/env bash
# ContactLedger — benchmarks.
#
# Builds the daemon and ledger-bench in release mode and runs the three benchmarks with short durations
# (about 100 s of measuring in all), printing their tables.
#
# Environment:
#   SCRATCH_PATH   the SwiftPM build directory (default .build)
#   SECONDS_PHASE  seconds per daemon phase (default 10)
#   BENCH_JSON=1   print JSON instead of tables
#   BENCH_EXTRA    extra flags passed to `appends` (e.g. --log-baseline)
set -euo pipefail

cd "$(dirname "$0")/.."
scratch="${SCRATCH_PATH:-.build}"
phase="${SECONDS_PHASE:-10}"
json=()
if [[ "${BENCH_JSON:-0}" == "1" ]]; then json=(--json); fi

echo "== building (release, scratch path $scratch)" >&2
swift build -c release --scratch-path "$scratch" --product contactledgerd >&2
swift build -c release --scratch-path "$scratch" --product ledger-bench >&2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"

echo
echo "== appends (issue 2): ${phase}s per client count, 4s per raw-LMDB baseline"
# shellcheck disable=SC2086
"$bin/ledger-bench" appends --daemon "$bin/contactledgerd" --seconds "$phase" --clients 1,16,64 \
    --baseline-seconds 4 ${BENCH_EXTRA:-} "${json[@]}"

echo
echo "== modify (issue 3): ${phase}s of 1-client creates, ${phase}s of 16-client modifies"
"$bin/ledger-bench" modify --daemon "$bin/contactledgerd" --seconds "$phase" --clients 16 "${json[@]}"

echo
echo "== micro: 1s per measurement"
"$bin/ledger-bench" micro --seconds 1 "${json[@]}"
