#!/usr/bin/env bash
# ContactLedger: install the Debian packages the daemon needs (where missing), build it in release mode
# and run it on the default data directory (./.contactledger). Extra arguments go to contactledgerd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tools/install-system-packages.sh
swift build -c release --product contactledgerd
swift build -c release --product contactledger
echo "contactledgerd: socket ./.contactledger/ledger.sock; CLI: $(swift build -c release --show-bin-path)/contactledger"
exec "$(swift build -c release --show-bin-path)/contactledgerd" --data-dir ./.contactledger "$@"
