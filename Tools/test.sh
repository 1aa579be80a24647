#!/usr/bin/env bash
# ContactLedger: the whole test suite. Installs what it needs, builds once, runs every test in parallel
# (unit tests and the real daemon over its socket), then checks the JSON Schemas.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tools/install-system-packages.sh
# The replication suites start nats-server themselves (a single node, and a 3-node cluster for the R3 test)
# on free loopback ports with JetStream stores in temporary directories: without it they would be skipped.
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null || { echo "nats-server is not installed" >&2; exit 1; }
python3 -c 'import jsonschema, referencing' 2>/dev/null || python3 -m pip install --quiet -r Tools/requirements-test.txt
python3 Tools/schema_check.py --self-test
python3 Tools/generate-openrpc.py --check
swift build --build-tests
# Swift Testing starts every test at once unless given a width, and a test's time limit runs from then,
# thread or not: on 2 cores, tests that waited for a thread hit their limits. Four at a time keeps both
# cores busy (daemon tests also wait on fsync and sockets); the daemon tests, which block, run on threads
# of their own (Tests/DaemonTests/OwnThreadsTrait.swift).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-4}"
swift test --skip-build --parallel
