#!/usr/bin/env bash
# ContactLedger — benchmarks.
#
# Builds the daemon and ledger-bench in release mode and runs the benchmarks with short durations,
# printing their tables; each figure is printed beside a baseline measured in the same run. The whole
# script measures for about 4.5 minutes on 2 cores (the build, when nothing changed, adds a few seconds).
# `import` writes and reads its XLSX with python3 + openpyxl, installed with pip when missing.
#
# Environment:
#   SCRATCH_PATH   the SwiftPM build directory (default .build)
#   SECONDS_PHASE  seconds per appends/modify phase (default 5)
#   BENCH_JSON=1   print JSON instead of tables
#   BENCH_EXTRA    extra flags passed to `appends` (e.g. --log-baseline)
#   BENCH_ONLY     comma-separated subset to run: appends,modify,micro,history,rebuild,import (default all)
#   DAEMON         a prebuilt contactledgerd to benchmark instead of building one
set -euo pipefail

cd "$(dirname "$0")/.."
scratch="${SCRATCH_PATH:-.build}"
phase="${SECONDS_PHASE:-5}"
only=",${BENCH_ONLY:-appends,modify,micro,history,rebuild,import},"
json=()
if [[ "${BENCH_JSON:-0}" == "1" ]]; then json=(--json); fi
wanted() { [[ "$only" == *",$1,"* ]]; }

echo "== building (release, scratch path $scratch)" >&2
if [[ -z "${DAEMON:-}" ]]; then
    swift build -c release --scratch-path "$scratch" --product contactledgerd >&2
fi
swift build -c release --scratch-path "$scratch" --product ledger-bench >&2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"
daemon="${DAEMON:-$bin/contactledgerd}"
started=$SECONDS

if wanted appends; then
    echo
    echo "== appends (issue 2): ${phase}s per client count, 2s per raw-LMDB baseline"
    # shellcheck disable=SC2086
    "$bin/ledger-bench" appends --daemon "$daemon" --seconds "$phase" --clients 1,16,64 \
        --baseline-seconds 2 ${BENCH_EXTRA:-} "${json[@]}"
fi

if wanted modify; then
    echo
    echo "== modify (issue 3): ${phase}s of 1-client creates, ${phase}s of 16-client modifies"
    "$bin/ledger-bench" modify --daemon "$daemon" --seconds "$phase" --clients 16 "${json[@]}"
fi

if wanted micro; then
    echo
    echo "== micro: 1s per measurement"
    "$bin/ledger-bench" micro --seconds 1 "${json[@]}"
fi

if wanted history; then
    echo
    echo "== history (issue 5): contacts.as_of on a 10,000-event contact, audit.changes on a 110k-event log"
    # as_of stops after 10 s even if fewer than 500 points were asked (a slow as_of would blow the budget).
    "$bin/ledger-bench" history --daemon "$daemon" --events 10000 --points 500 --as-of-seconds 10 \
        --audit-events 100000 --audit-calls 200 --connections 4 "${json[@]}"
fi

if wanted rebuild; then
    echo
    echo "== rebuild (issue 6): projections.rebuild over 200k events, single writer before/during"
    "$bin/ledger-bench" rebuild --daemon "$daemon" --events 200000 --writer-seconds 3 --connections 4 "${json[@]}"
fi

if wanted import; then
    if ! python3 -c 'import openpyxl' 2>/dev/null; then
        echo "== installing openpyxl for the import benchmark" >&2
        python3 -m pip install --quiet openpyxl >&2
    fi
    echo
    echo "== import (issue 7): 25,000-row XLSX import beside an openpyxl parse, exports (no dry run: time)"
    "$bin/ledger-bench" import --daemon "$daemon" --rows 25000 --no-dry-run "${json[@]}"
fi

echo >&2
echo "== measured for $((SECONDS - started)) s" >&2
