#!/bin/sh
# What the tests need, on Debian (issue 8 item 5): `make deps` and the first step of `make test`.
#
#   sh tools/deps.sh check PACKAGE...     exit 0 when every package is installed; else name the
#                                         missing ones and print the one apt-get line, exit 1
#   sh tools/deps.sh install PACKAGE...   as check, but as root install the missing ones with
#                                         apt-get first, saying what it installs
#
# PACKAGE may carry an architecture (libcmocka-dev:i386); one without is wanted
# for this machine's own architecture (or all). Without dpkg (not Debian) it
# says so and succeeds: the checks whose tools are missing then SKIP.
set -u

mode=${1:-}
[ $# -ge 1 ] && shift
case $mode in check | install) ;; *)
    echo "usage: sh tools/deps.sh check|install PACKAGE..." >&2
    exit 2
    ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: no dpkg here (not Debian): cannot check for $*; checks whose tools are missing will SKIP"
    exit 0
fi
native=$(dpkg --print-architecture)

# The packages of "$@" that are not installed.
missing() {
    installed=" $(dpkg-query -W -f='${Package}:${Architecture} ${db:Status-Abbrev}\n' "$@" 2>/dev/null |
        awk '$2 == "ii" { print $1 }' | tr '\n' ' ')"
    for p in "$@"; do
        case $p in
        *:*) want=$p ;;
        *) want="$p:$native $p:all" ;;
        esac
        found=no
        for w in $want; do
            case $installed in *" $w "*) found=yes ;; esac
        done
        [ $found = yes ] || printf '%s ' "$p"
    done
}

# i386 packages need the architecture added (and the lists read again) first.
needs_i386() {
    case " $* " in *":i386 "*) ! dpkg --print-foreign-architectures | grep -qx i386 ;; *) false ;; esac
}

# The one line that installs them.
apt_line() {
    sudo=sudo
    [ "$(id -u)" = 0 ] && sudo=
    pre=
    needs_i386 "$@" && pre="$sudo${sudo:+ }dpkg --add-architecture i386 && "
    echo "${pre}$sudo${sudo:+ }apt-get update && $sudo${sudo:+ }apt-get install -y $*"
}

todo=$(missing "$@")
if [ -z "$todo" ]; then
    echo "deps: all $# packages the tests need are installed"
    exit 0
fi

if [ "$mode" = install ] && [ "$(id -u)" = 0 ]; then
    echo "deps: installing with apt-get: $todo"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    if needs_i386 $todo; then dpkg --add-architecture i386 || exit 1; fi
    # A mirror that is mid-sync can fail an update: go on with the lists we have.
    apt-get update -qq || echo "deps: apt-get update failed; going on with the lists we have"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $todo >/dev/null || echo "deps: apt-get install failed"
    todo=$(missing "$@")
    if [ -z "$todo" ]; then
        echo "deps: installed; all $# packages the tests need are there"
        exit 0
    fi
fi

echo "deps: the tests need these packages, which are not installed: $todo"
echo "install them with (or run make deps as root):"
# shellcheck disable=SC2086
echo "  $(apt_line $todo)"
exit 1
