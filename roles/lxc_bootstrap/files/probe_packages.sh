# shellcheck shell=sh
# Run by the lxc_bootstrap role inside the container (/bin/sh -c): which of the packages are not
# installed, by the package manager's own database (never by looking for a program: the
# container's /usr/bin/python3 may come from elsewhere, and a package may be half removed).
# Changes nothing.
#   $1      the package manager: apt, apk, dnf, yum or pacman
#   $2...   package names
# Prints the missing packages, one per line.
set -u
pm=$1
shift
case $pm in
    apt)
        # "installed" only: a removed package whose configuration files remain is missing.
        installed() { [ "$(dpkg-query --show --showformat='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; } ;;
    apk) installed() { apk info -e "$1" >/dev/null 2>&1; } ;;
    dnf | yum) installed() { rpm -q --quiet "$1" >/dev/null 2>&1; } ;;
    pacman) installed() { pacman -Q "$1" >/dev/null 2>&1; } ;;
    *) echo "unsupported package manager: $pm" >&2; exit 2 ;;
esac
for package in "$@"; do
    installed "$package" || printf '%s\n' "$package"
done
