#!/usr/bin/env bash
# ContactLedger: install the Debian packages the build, the daemon and the tests need, where missing.
set -euo pipefail
packages=(liblmdb-dev zlib1g-dev libxml2-dev libphonenumber-dev iso-codes tzdata pkg-config systemd nats-server strace)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
