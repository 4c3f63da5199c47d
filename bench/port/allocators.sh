# Sourced by bench.sh and server.sh: JE and MI, the paths of the jemalloc and
# mimalloc shared libraries to preload, or empty when not installed.
find_lib() {
    for d in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
        [ -f "$d/$1" ] && { echo "$d/$1"; return; }
    done
    echo ""
}
JE=$(find_lib libjemalloc.so.2)
MI=$(find_lib libmimalloc.so.2)
