#!/usr/bin/env bash
# Where a 1 KiB request's time goes: perf over one swerve worker under wrk.
#
#   bench/profile.sh                  # keep-alive
#   CLOSE=1 bench/profile.sh          # Connection: close
#
# One worker pinned to core 0, wrk on core 1, access log off; `perf record
# -e cpu-clock -g` on the worker for SECONDS. Prints the worker's samples by
# kind (kernel, llhttp, SwiftNIO, swerve, Swift runtime, malloc) and the top
# symbols. Needs linux-perf (installed with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SECONDS_RECORDED=${SECONDS_RECORDED:-8}
command -v perf >/dev/null || { SUDO=$([ "$(id -u)" = 0 ] || echo sudo); $SUDO apt-get install -y -q linux-perf >/dev/null; }
command -v wrk >/dev/null || { SUDO=$([ "$(id -u)" = 0 ] || echo sudo); $SUDO apt-get install -y -q wrk >/dev/null; }
make -s build >/dev/null
work=$(mktemp -d /tmp/swerve-profile.XXXXXX)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/root" && chmod 755 "$work"
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 > "$work/root/1k.txt"
chmod -R a+rX "$work/root"
port=$(free_port)
cat > "$work/swerve.yaml" <<YAML
server: { workers: 1 }
logging: { access_log: off, error_log: $work/error.log }
vhosts:
  - names: [localhost]
    listen: ["127.0.0.1:$port"]
    root: $work/root
    routes: [{ path: /, type: static }]
YAML
taskset -c 0 .build/release/swerve serve -c "$work/swerve.yaml" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "generation 1 ready" "$work/error.log" 2>/dev/null && break; sleep 0.1; done
worker=$(pgrep -P "$pid" | head -1)
header=()
[ -n "${CLOSE:-}" ] && header=(-H "Connection: close")
taskset -c 1 wrk -t1 -c64 -d$((SECONDS_RECORDED + 4))s "${header[@]}" "http://127.0.0.1:$port/1k.txt" > "$work/wrk.txt" &
sleep 2
perf record -q -e cpu-clock -g -p "$worker" -o "$work/perf.data" -- sleep "$SECONDS_RECORDED" 2>/dev/null
wait %2 2>/dev/null || true
grep Requests/sec "$work/wrk.txt"
perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' > "$work/symbols.txt"
echo "worker samples by kind:"
awk '{ p = $1; sub(/%/, "", p); dso = $2; $1 = ""; $2 = ""; s = $0; k = "Swift standard library (strings, arrays) and other user space"
    if (dso ~ /kernel/) k = "kernel (TCP over loopback, epoll, syscalls)"
    else if (s ~ /swift_retain|swift_release|RefCount|bridgeObjectRe|isUniquelyReferenced/) k = "Swift retain/release"
    else if (s ~ /malloc|free|_int_|allocObject|deallocObject|slowAlloc|slowDealloc|unlink_chunk|deallocClass/) k = "malloc/free"
    else if (s ~ /Metadata|getCache|tryCast|dynamicCast|conformsTo|ConcurrentReadable|GenericCache|instantiateConcrete|WitnessTable|AccessSet|beginAccess|endAccess|TLSContext|swift_once/) k = "Swift runtime: generics, casts, exclusivity"
    else if (s ~ /llhttp/) k = "llhttp (request parsing)"
    else if (s ~ /Swerve/) k = "swerve"
    else if (s ~ /NIO/) k = "SwiftNIO (channel, pipeline, HTTP decoder glue)"
    else if (s ~ /memmove|memcpy|memset|memcmp|strlen/) k = "libc mem*"
    t[k] += p } END { for (k in t) printf "  %5.1f%%  %s\n", t[k], k }' "$work/symbols.txt" | sort -rn
echo "top symbols:"
head -15 "$work/symbols.txt" | awk '{ printf "  %s %s %s\n", $1, $2, substr($4, 1, 110) }'
