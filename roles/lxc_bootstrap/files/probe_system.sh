# shellcheck shell=sh
# Run by the lxc_bootstrap role inside the container (/bin/sh -c): which distribution, package
# manager and service manager it has. Changes nothing.
#   $1  the package manager to use (apt, apk, dnf, yum, pacman), or "auto" to detect it
# Prints one JSON object; "package_manager" is empty when none is supported.
set -u
requested=$1

release=/etc/os-release
[ -r "$release" ] || release=/usr/lib/os-release
# The file is shell syntax, but read it, do not run it; values are reduced to safe characters.
# ASCII ranges on purpose: whatever else a value holds is removed by the last tr.
# shellcheck disable=SC2018,SC2019
field() {
    sed -n "s/^$1=//p" "$release" 2>/dev/null | head -n 1 | tr -d "\"'" | tr 'A-Z' 'a-z' | tr -cd 'a-z0-9._ -'
}
os_id=$(field ID)
os_like=$(field ID_LIKE)

has() { command -v "$1" >/dev/null 2>&1; }

pm=
if [ "$requested" != auto ]; then
    pm=$requested
else
    # The distribution decides first: a program name alone can mislead (an Alpine container
    # may well have a stray apt-get, a Debian one rpm).
    for id in $os_id $os_like; do
        case $id in
            debian | ubuntu | devuan | raspbian | linuxmint | pop | kali) pm=apt ;;
            alpine | postmarketos) pm=apk ;;
            fedora | rhel | centos | rocky | almalinux | ol | amzn)
                if has dnf; then pm=dnf; else pm=yum; fi ;;
            arch | archarm | manjaro | endeavouros) pm=pacman ;;
        esac
        [ -n "$pm" ] && break
    done
    if [ -z "$pm" ]; then
        for candidate in apk apt-get dnf yum pacman; do
            if has "$candidate"; then pm=${candidate%-get}; break; fi
        done
    fi
fi

# The tools the role will run must be there, the query tool included.
case $pm in
    apt) has apt-get && has dpkg-query || pm= ;;
    apk) has apk || pm= ;;
    dnf | yum) has "$pm" && has rpm || pm= ;;
    pacman) has pacman || pm= ;;
    *) pm= ;;
esac

# systemd's own test for "booted with systemd" (sd_booted); OpenRC keeps its state in /run/openrc.
if [ -d /run/systemd/system ] && has systemctl; then
    sm=systemd
elif [ -d /run/openrc ] && has rc-update && has rc-service; then
    sm=openrc
else
    sm=none
fi

printf '{"os_id": "%s", "os_like": "%s", "package_manager": "%s", "service_manager": "%s"}\n' "$os_id" "$os_like" "$pm" "$sm"
