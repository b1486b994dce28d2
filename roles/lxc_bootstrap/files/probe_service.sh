# shellcheck shell=sh
# Run by the lxc_bootstrap role inside the container (/bin/sh -c): whether a service starts at
# boot and runs now. Changes nothing.
#   $1  the service manager: systemd or openrc
#   $2  the service (ssh, sshd)
# Prints {"enabled": true|false, "active": true|false}.
set -u
sm=$1
service=$2
enabled=false
active=false
case $sm in
    systemd)
        # static and alias units cannot be enabled by name; indirect ones are enabled through another unit.
        case $(systemctl is-enabled "$service" 2>/dev/null) in
            enabled | enabled-runtime | static | alias | indirect | generated) enabled=true ;;
        esac
        systemctl is-active --quiet "$service" 2>/dev/null && active=true ;;
    openrc)
        rc-update show default 2>/dev/null | awk -v s="$service" '$1 == s { found = 1 } END { exit !found }' && enabled=true
        rc-service "$service" status >/dev/null 2>&1 && active=true ;;
    *) echo "unsupported service manager: $sm" >&2; exit 2 ;;
esac
printf '{"enabled": %s, "active": %s}\n' "$enabled" "$active"
