#!/usr/bin/env bash
# ContactLedger: the crash harness. Kills the real daemon with SIGKILL at random moments while four
# clients write (creates of four events, modifies of three), N times (default 200), and after every
# restart checks that each acknowledged command is there, that no contact holds part of a command,
# that projections.verify finds no difference and that ledger.verify passes.
#
#   bash Tools/crash-harness.sh [CYCLES]        # CONTACTLEDGER_FUZZ_SEED=… replays a run
#
# It drives the same test as CI (ReliabilityCrashTests, 20 kills there) with more cycles, and prints
# the figures: cycles, acknowledged commands, acknowledged checks, losses, half-applied contacts.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${1:-200}"
scratch="${CONTACTLEDGER_SCRATCH:-.build-crash}"
report="$(mktemp /tmp/crash-harness.XXXXXX)"
trap 'rm -f "$report"' EXIT
swift build --scratch-path "$scratch" --product contactledgerd
swift build --scratch-path "$scratch" --product ContactLedgerPackageTests
status=0
CONTACTLEDGER_CRASH_CYCLES="$cycles" CONTACTLEDGER_CRASH_REPORT="$report" \
    swift test --skip-build --scratch-path "$scratch" --filter 'ReliabilityCrashTests' || status=$?
echo
if [ -s "$report" ]; then
    cat "$report"
else
    echo "crash-harness: no figures were reported (the test did not finish)"
    status=1
fi
exit "$status"
