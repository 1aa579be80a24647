#!/usr/bin/env bash
# ContactLedger: install the Debian packages the daemon needs (where missing), build it in release mode
# and run it on the default data directory (./.contactledger). Extra arguments go to contactledgerd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Tools/install-system-packages.sh
swift build -c release --product contactledgerd
swift build -c release --product contactledger
# Shell completions for the CLI, where each shell looks for a user's own (failures are not fatal).
cli="$(swift build -c release --show-bin-path)/contactledger"
data_home="${XDG_DATA_HOME:-${HOME:-/root}/.local/share}"
config_home="${XDG_CONFIG_HOME:-${HOME:-/root}/.config}"
{
    mkdir -p "$data_home/bash-completion/completions" "$data_home/zsh/site-functions" "$config_home/fish/completions" &&
        "$cli" completion bash > "$data_home/bash-completion/completions/contactledger" &&
        "$cli" completion zsh > "$data_home/zsh/site-functions/_contactledger" &&
        "$cli" completion fish > "$config_home/fish/completions/contactledger.fish" &&
        echo "completions installed (bash, fish; zsh: add fpath+=$data_home/zsh/site-functions to ~/.zshrc)"
} || echo "completions not installed (run: contactledger completion bash|zsh|fish)" >&2
echo "contactledgerd: socket ./.contactledger/ledger.sock; CLI: $(swift build -c release --show-bin-path)/contactledger"
exec "$(swift build -c release --show-bin-path)/contactledgerd" --data-dir ./.contactledger "$@"
