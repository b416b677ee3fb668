#!/usr/bin/env bash
# The hostile pass's figures, measured again (issue 13 asks that they still
# hold): slowloris, reloads under load, log reopens under load. Prints
# figures; asserts nothing (the behaviour itself is tested in make test).
#
#   bench/hostile.sh            # about 1.5 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v slowhttptest >/dev/null || need+=(slowhttptest)
command -v curl >/dev/null || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
make -s deps >/dev/null
make -s build >/dev/null
SWERVE=$PWD/.build/release/swerve

work=$(mktemp -d /tmp/swerve-hostile.XXXXXX)
cleanup() {
    [ -n "${swerve_pid:-}" ] && kill "$swerve_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/root"
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 > "$work/root/1k.txt"
port=$(free_port)
cat > "$work/swerve.yaml" <<YAML
server:
  workers: 2
  max_connections: 4096
  shutdown_timeout: 10s
logging:
  access_log: $work/access.log
  error_log: $work/error.log
vhosts:
  - names: [localhost]
    listen: ["127.0.0.1:$port"]
    root: $work/root
YAML
ulimit -n 65536 2>/dev/null || true
"$SWERVE" serve -c "$work/swerve.yaml" >/dev/null 2>&1 &
swerve_pid=$!
for _ in $(seq 100); do grep -q "generation 1 ready" "$work/error.log" 2>/dev/null && break; sleep 0.1; done
url="http://127.0.0.1:$port/1k.txt"

# 1. Slowloris: 1,000 connections sending a header line every 10 s, while a
#    probe asks for the file every 50 ms; the probe's p99 and failures.
slowhttptest -c 1000 -H -i 10 -r 250 -l 25 -t GET -u "$url" -x 24 -p 3 >/dev/null 2>&1 &
slow=$!
sleep 6
: > "$work/probe.txt"
failures=0
for _ in $(seq 300); do
    curl -s -o /dev/null -m 5 -w '%{time_total}\n' "$url" >> "$work/probe.txt" || failures=$((failures + 1))
    sleep 0.05
done
wait "$slow" 2>/dev/null || true
p99=$(sort -n "$work/probe.txt" | awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.0f", v[i] * 1000 }')
printf "%-40s probe p99 %s ms, %s of 300 probes failed\n" "slowloris, 1,000 connections" "$p99" "$failures"

# 2. Fifty reloads under keep-alive load: what the clients saw. A clean close
#    between requests (FIN) is the client's cue to retry; a reset is an error.
python3 bench/keepalive_client.py "$port" /1k.txt 14 8 > "$work/hup.txt" &
load=$!
sleep 1
for _ in $(seq 50); do kill -HUP "$swerve_pid"; sleep 0.2; done
wait "$load"
completed=$(grep -c "reload complete" "$work/error.log" || true)
printf "%-40s %s reloads completed; %s\n" "50 HUPs under 8 keep-alive clients" "$completed" "$(cat "$work/hup.txt")"

# 3. Eight log reopens under load (logrotate's rename, then USR1): every
#    request logged exactly once, no line torn.
sleep 11  # old generations finish draining
: > "$work/access.log"
wrk -t1 -c8 -d10s "$url" > "$work/wrk-usr1.txt" 2>&1 &
load=$!
for index in $(seq 8); do
    sleep 1
    mv "$work/access.log" "$work/access.log.$index"
    kill -USR1 "$swerve_pid"
done
wait "$load"
sleep 2  # the workers flush their buffers once a second
requests=$(awk '/requests in/ { print $1 }' "$work/wrk-usr1.txt")
lines=$(cat "$work"/access.log* | wc -l)
torn=$(cat "$work"/access.log* | grep -cvE '^127\.0\.0\.1 - - \[[^]]+\] "GET /1k\.txt HTTP/1\.1" 200 1024 "-" "-" localhost [0-9]+\.[0-9]{3}$' || true)
# wrk counts the responses it completed; the last request of each of its 8
# connections may be answered (and logged) as it stops.
printf "%-40s %s requests answered, %s lines in 9 files (<= 8 more: in flight at the end), %s torn\n" \
    "8 USR1 reopens under load" "$requests" "$lines" "$torn"
