#!/usr/bin/env bash
# Debian packages the tests need: bubblewrap runs each simulated container in its own filesystem and
# namespaces; the containers see the machine's /usr, so `sudo` (become in containers) comes from the
# machine; the shellcheck package lets `ansible-test sanity` check the role's shell scripts (without it
# that sanity test is skipped: "Required program shellcheck not found").
# Installed only when missing, and only where we are root with apt.
set -euo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ -x /usr/bin/sudo ] || missing+=(sudo)
[ -x /usr/bin/python3 ] || missing+=(python3)  # Ansible modules run by the pve_lxc connection use the containers' /usr/bin/python3
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: please install: ${missing[*]} (needs root and apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
}
