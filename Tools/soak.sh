#!/usr/bin/env bash
# ContactLedger — soak (issue 8); not run by CI.
#
# Builds the daemon and ledger-bench in release mode, then runs `ledger-bench soak`: a mixed load
# (creates, modifies, status changes, messages, gets, history, searches, counts, a smart group's
# members) on one daemon for SOAK_MINUTES, sampling its RSS and per-minute latency, and prints a
# per-minute table and a verdict (RSS steady, latency steady). Exits non-zero when either is not steady.
#
# Environment:
#   SCRATCH_PATH   the SwiftPM build directory (default .build)
#   SOAK_MINUTES   minutes of load (default 10)
#   SOAK_CLIENTS   client threads (default 8)
#   SOAK_RATE      calls per second, all clients together; 0 = unpaced (default 400)
#   SOAK_EXTRA     more flags for `ledger-bench soak` (e.g. --json, --keep-data, --seed 20000)
#   DAEMON         a prebuilt contactledgerd to soak instead of building one
set -euo pipefail

cd "$(dirname "$0")/.."
scratch="${SCRATCH_PATH:-.build}"

echo "== building (release, scratch path $scratch)" >&2
if [[ -z "${DAEMON:-}" ]]; then
    swift build -c release --scratch-path "$scratch" --product contactledgerd >&2
fi
swift build -c release --scratch-path "$scratch" --product ledger-bench >&2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"

# shellcheck disable=SC2086
"$bin/ledger-bench" soak --daemon "${DAEMON:-$bin/contactledgerd}" --minutes "${SOAK_MINUTES:-10}" \
    --clients "${SOAK_CLIENTS:-8}" --rate "${SOAK_RATE:-400}" ${SOAK_EXTRA:-}
