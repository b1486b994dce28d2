# shellcheck shell=sh
# Run by the lxc_bootstrap role inside the container (/bin/sh -c): authorize SSH keys for a user.
#   $1  "apply" to make the changes, "check" to only report them (check mode)
#   $2  the user
#   $3  the public keys, one per line (options before the key type are allowed; # lines are skipped)
# Prints one line per change made (or that would be made); nothing when all is in place.
# A key counts as present when a line of authorized_keys has the same type and key data,
# whatever its comment and options.
set -eu
mode=$1
user=$2
keys=$3
if [ "$mode" = apply ]; then verb=; else verb="would "; fi

entry=$(getent passwd "$user" 2>/dev/null || true)
[ -n "$entry" ] || entry=$(awk -F: -v u="$user" '$1 == u { print; exit }' /etc/passwd 2>/dev/null || true)
if [ -z "$entry" ]; then
    echo "user '$user' does not exist in the container" >&2
    exit 2
fi
uid=$(printf '%s\n' "$entry" | cut -d: -f3)
gid=$(printf '%s\n' "$entry" | cut -d: -f4)
home=$(printf '%s\n' "$entry" | cut -d: -f6)
if [ -z "$home" ] || [ ! -d "$home" ]; then
    echo "the home directory '$home' of user '$user' does not exist" >&2
    exit 2
fi
dir=$home/.ssh
file=$dir/authorized_keys
# As root, writing, chmod and chown through a link the user controls would reach any file.
for path in "$dir" "$file"; do
    if [ -L "$path" ]; then
        echo "$path is a symbolic link; not following it" >&2
        exit 2
    fi
done

# ensure PATH MODE KIND: create it or fix its mode and owner.
ensure() {
    if [ ! -e "$1" ]; then
        echo "${verb}create $1 ($2, owner $uid:$gid)"
        [ "$mode" = apply ] || return 0
        if [ "$3" = dir ]; then mkdir "$1"; else : >"$1"; fi
        chmod "$2" "$1"
        chown "$uid:$gid" "$1"
        return 0
    fi
    current=$(stat -c '%a %u:%g' "$1")
    if [ "$current" != "${2#0} $uid:$gid" ]; then
        echo "${verb}set $1 to $2, owner $uid:$gid (was $current)"
        [ "$mode" = apply ] || return 0
        chmod "$2" "$1"
        chown "$uid:$gid" "$1"
    fi
}
ensure "$dir" 0700 dir
ensure "$file" 0600 file

added=
while IFS= read -r line; do
    case $line in '' | '#'*) continue ;; esac
    # "type data": the first field that names a key type, and the one after it.
    pair=$(printf '%s\n' "$line" | awk '{ for (i = 1; i < NF; i++) if ($i ~ /^(ssh-|ecdsa-|sk-)/) { print $i, $(i + 1); exit } }')
    if [ -z "$pair" ]; then
        echo "not an SSH public key: $line" >&2
        exit 2
    fi
    ktype=${pair%% *}
    kdata=${pair#* }
    case " $added " in *" $kdata "*) continue ;; esac
    added="$added $kdata"
    if [ -f "$file" ] && awk -v t="$ktype" -v d="$kdata" '{ for (i = 1; i < NF; i++) if ($i == t && $(i + 1) == d) found = 1 } END { exit !found }' "$file"; then
        continue
    fi
    echo "${verb}add the $ktype key ending in ...$(printf '%s' "$kdata" | tail -c 12) to $file"
    [ "$mode" = apply ] || continue
    # Keep lines whole: a file that does not end in a newline gets one first.
    if [ -s "$file" ] && [ -n "$(tail -c 1 "$file")" ]; then echo >>"$file"; fi
    printf '%s\n' "$line" >>"$file"
done <<EOF
$keys
EOF
