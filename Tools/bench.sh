#!/usr/bin/env bash
# ContactLedger — benchmarks.
#
# Builds the daemon and ledger-bench in release mode and runs the benchmarks with short durations,
# printing their tables; each figure is printed beside a baseline measured in the same run. The whole
# script measures for about 5 minutes on 2 cores (the build, when nothing changed, adds a few seconds).
# `import` writes and reads its XLSX with python3 + openpyxl, installed with pip when missing.
#
# Environment:
#   SCRATCH_PATH   the SwiftPM build directory (default .build)
#   SECONDS_PHASE  seconds per appends/modify phase (default 5)
#   BENCH_JSON=1   print JSON instead of tables
#   BENCH_EXTRA    extra flags passed to `appends` (e.g. --log-baseline)
#   BENCH_ONLY     comma-separated subset to run: appends,modify,micro,history,rebuild,fanout,import (default all)
#                  plus the long scale benchmarks, never run by default: query (issue 4), history-scale
#                  (issue 5), scale-data (only generate the dataset they share)
#                  and replication (issue 9: nats-server, publisher, replica, lag), not by default either:
#                  about 4.5 minutes with the default 500,000 events on a shared 2-core machine (2 with 200,000)
#   SCALE_DIR      the scale dataset's data directory, generated once and reused (default /tmp/bench-1m)
#   SCALE_CONTACTS contacts in the scale dataset (default 1000000; generating them takes hours on 2 cores)
#   SCALE_SUBJECT_EVENTS  events of the scale dataset's long-history contact (default 100000)
#   REPLICATION_EVENTS  events in the log the publisher publishes and the replica catches up from
#                  (default 500000; the issue asks for 1,000,000: about 9 minutes)
#   IMPORT_ROWS    rows of the import benchmark's XLSX (default 100000, issue 7's size; the daemon's import
#                  limit is raised to match)
#   REBUILD_EVENTS events in the rebuild benchmark's log (default 200000; issue 6 names 5000000, about 10+ min to fill)
#   DAEMON         a prebuilt contactledgerd to benchmark instead of building one
set -euo pipefail

cd "$(dirname "$0")/.."
scratch="${SCRATCH_PATH:-.build}"
phase="${SECONDS_PHASE:-5}"
only=",${BENCH_ONLY:-appends,modify,micro,history,rebuild,fanout,import},"
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
    echo "== rebuild (issue 6): projections.rebuild over ${REBUILD_EVENTS:-200000} events, single writer without/during/after"
    "$bin/ledger-bench" rebuild --daemon "$daemon" --events "${REBUILD_EVENTS:-200000}" --connections 4 "${json[@]}"
fi

if wanted fanout; then
    echo
    echo "== fanout (issue 6): events.subscribe to 1 and 10 subscribers, catch-up on 100k events and 20k live"
    "$bin/ledger-bench" fanout --daemon "$daemon" --events 100000 --live-events 20000 --subscribers 1 10 "${json[@]}"
fi

if wanted import; then
    if ! python3 -c 'import openpyxl' 2>/dev/null; then
        echo "== installing openpyxl for the import benchmark" >&2
        python3 -m pip install --quiet openpyxl >&2
    fi
    echo
    echo "== import (issue 7): ${IMPORT_ROWS:-100000}-row, 8-column XLSX import beside an openpyxl parse and a dry run, exports"
    "$bin/ledger-bench" import --daemon "$daemon" --rows "${IMPORT_ROWS:-100000}" "${json[@]}"
fi

scale=(--data-dir "${SCALE_DIR:-/tmp/bench-1m}" --contacts "${SCALE_CONTACTS:-1000000}"
    --subject-events "${SCALE_SUBJECT_EVENTS:-100000}" --reuse-data-dir)

if wanted scale-data; then
    echo
    echo "== scale-data: generate (or resume) the scale dataset in ${SCALE_DIR:-/tmp/bench-1m} through the daemon"
    nice -n 5 "$bin/ledger-bench" scale-data --daemon "$daemon" "${scale[@]}"
fi

if wanted query; then
    echo
    echo "== query (issue 4): 12 queries and a smart group on the scale dataset vs. a full scan of the same read model"
    "$bin/ledger-bench" query --daemon "$daemon" "${scale[@]}" "${json[@]}"
fi

if wanted history-scale; then
    echo
    echo "== history-scale (issue 5): as_of, audit, search as_of, verify on the scale dataset vs. fold, rebuild, SHA-256"
    "$bin/ledger-bench" history-scale --daemon "$daemon" "${scale[@]}" "${json[@]}"
fi

if wanted replication; then
    echo
    echo "== replication (issue 9): publisher vs. raw JetStream publish, replica catch-up vs. raw fetch, lag at 1,000 and 10,000 events/s"
    "$bin/ledger-bench" replication --daemon "$daemon" --events "${REPLICATION_EVENTS:-500000}" \
        --rates 1000,10000 --seconds 10 "${json[@]}"
fi

echo >&2
echo "== measured for $((SECONDS - started)) s" >&2
