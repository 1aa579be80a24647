#!/usr/bin/env bash
# ContactLedger — install contactledgerd as a systemd service.
#
#   sudo bash dist/install.sh [--enable] [--prefix /usr/local] [--bin-dir DIR] [--destdir DIR]
#
# Builds release binaries (static Swift runtime, so nothing under /opt/swift is needed at run time) unless
# --bin-dir names a directory already holding contactledgerd and contactledger; installs them to PREFIX/bin,
# the unit to /etc/systemd/system, the config to /etc/contactledger/contactledgerd.json (an existing one is
# kept), the README to PREFIX/share/doc/contactledger, and bash/zsh/fish completions for the CLI; creates
# the system user and group "contactledger"; checks the unit with systemd-analyze verify; reloads systemd.
# --enable also enables and starts the service. --destdir stages everything under DIR (for packaging or a
# dry run) and skips the user, systemctl and verify steps.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
bin_dir=""
destdir=""
enable=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --bin-dir) bin_dir="$2"; shift 2 ;;
        --destdir) destdir="$2"; shift 2 ;;
        --enable) enable=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done

if [ -z "$destdir" ] && [ "$(id -u)" -ne 0 ]; then
    echo "install.sh: run as root (or stage with --destdir DIR)" >&2
    exit 1
fi

if [ -z "$bin_dir" ]; then
    bash Tools/install-system-packages.sh
    swift build -c release --static-swift-stdlib --scratch-path .build-dist --product contactledgerd
    swift build -c release --static-swift-stdlib --scratch-path .build-dist --product contactledger
    bin_dir="$(swift build -c release --static-swift-stdlib --scratch-path .build-dist --show-bin-path)"
fi
for binary in contactledgerd contactledger; do
    [ -x "$bin_dir/$binary" ] || { echo "install.sh: no $binary in $bin_dir" >&2; exit 1; }
done

root="$destdir"
install -d -m 0755 "$root$prefix/bin" "$root$prefix/share/doc/contactledger" "$root/etc/systemd/system"
install -m 0755 "$bin_dir/contactledgerd" "$bin_dir/contactledger" "$root$prefix/bin/"
install -m 0644 README.md "$root$prefix/share/doc/contactledger/README.md"
sed -e "s|/usr/local/bin/contactledgerd|$prefix/bin/contactledgerd|" \
    -e "s|/usr/local/share/doc/contactledger|$prefix/share/doc/contactledger|" \
    dist/contactledgerd.service > "$root/etc/systemd/system/contactledgerd.service"
chmod 0644 "$root/etc/systemd/system/contactledgerd.service"

# Shell completions, from the CLI's own generator.
install -d -m 0755 "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions" \
    "$root/usr/share/fish/vendor_completions.d"
"$bin_dir/contactledger" completion bash > "$root/usr/share/bash-completion/completions/contactledger"
"$bin_dir/contactledger" completion zsh > "$root/usr/share/zsh/vendor-completions/_contactledger"
"$bin_dir/contactledger" completion fish > "$root/usr/share/fish/vendor_completions.d/contactledger.fish"

if [ -z "$destdir" ] && ! getent group contactledger > /dev/null; then
    groupadd --system contactledger
fi
if [ -z "$destdir" ] && ! getent passwd contactledger > /dev/null; then
    useradd --system --gid contactledger --home-dir /var/lib/contactledger --no-create-home \
        --shell /usr/sbin/nologin --comment "ContactLedger daemon" contactledger
fi

install -d -m 0750 "$root/etc/contactledger"
if [ ! -e "$root/etc/contactledger/contactledgerd.json" ]; then
    install -m 0640 dist/contactledgerd.json "$root/etc/contactledger/contactledgerd.json"
fi
if [ -z "$destdir" ]; then
    chgrp contactledger /etc/contactledger /etc/contactledger/contactledgerd.json
    "$prefix/bin/contactledgerd" --config /etc/contactledger/contactledgerd.json --print-config > /dev/null
    if command -v systemd-analyze > /dev/null; then
        systemd-analyze verify /etc/systemd/system/contactledgerd.service
    fi
    if [ -d /run/systemd/system ]; then
        systemctl daemon-reload
        if [ "$enable" -eq 1 ]; then
            systemctl enable --now contactledgerd.service
        fi
    fi
fi

echo "installed contactledgerd to $root$prefix/bin; unit $root/etc/systemd/system/contactledgerd.service"
echo "config: $root/etc/contactledger/contactledgerd.json; socket: /run/contactledger/ledger.sock (group contactledger)"
if [ -n "$destdir" ]; then
    # Staged files belong to whoever ran this; the daemon runs as contactledger and reads its config
    # through the group (0750 directory, 0640 file).
    echo "staged only: when installing, give /etc/contactledger and contactledgerd.json the group contactledger"
fi
[ "$enable" -eq 1 ] || echo "start it with: systemctl enable --now contactledgerd"
