#!/usr/bin/env bash
# swerve vs nginx, side by side in one run, same machine, same files.
#
#   bench/run.sh                     # every scenario, 10 s per run, 3 alternating rounds, median
#   DURATION=5 ROUNDS=1 bench/run.sh
#   SCENARIOS="keepalive close" bench/run.sh
#
# Scenarios (SCENARIOS, default all): keepalive, close, 64m (1 worker each,
# servers pinned to core 0, wrk to core 1); 2workers, accesslog (2 workers
# each, unpinned, as `workers: auto` runs on this machine); tls-keepalive,
# tls-new, tls-resume (HTTPS, 1 worker pinned, one ECDSA P-256 certificate
# and one TLS policy for both); h2, h2-page, h2-64m (HTTP/2 by h2load, 1
# worker pinned, nginx with `listen … ssl http2`, the same certificate);
# upload (swerve against dd). Both servers are configured alike (same worker count, same
# files, nginx with sendfile on and keepalive_requests unlimited). Rounds
# alternate between the servers; the median is printed with the ratio
# swerve/nginx. A benchmark, not a test: it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
SCENARIOS=${SCENARIOS:-keepalive close 64m 2workers accesslog tls-keepalive tls-new tls-resume h2 h2-page h2-64m upload}
wants() { [[ " $SCENARIOS " == *" $1 "* ]]; }

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || need+=(nginx-light)
command -v openssl >/dev/null || need+=(openssl)
command -v h2load >/dev/null || need+=(nghttp2-client)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
make -s deps >/dev/null
# The binary make run and make install use (release, runtime linked statically).
make -s build >/dev/null
SWERVE=.build/release/swerve

work=$(mktemp -d /tmp/swerve-bench.XXXXXX)
cleanup() {
    [ -n "${swerve_pid:-}" ] && kill "$swerve_pid" 2>/dev/null || true
    [ -n "${nginx_pid:-}" ] && kill "$nginx_pid" 2>/dev/null || true
    [ -n "${upload_pid:-}" ] && kill "$upload_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

chmod 755 "$work"
mkdir -p "$work/root"
head -c 1024 /dev/urandom | base64 -w 0 | head -c 1024 > "$work/root/1k.txt"
head -c $((64 * 1024 * 1024)) /dev/urandom > "$work/root/64m.bin"
# A page's assets for the h2-page row: 100 small files of 1 to 8 KiB.
mkdir -p "$work/root/assets"
for i in $(seq 100); do head -c $(( (i % 8 + 1) * 1024 )) /dev/urandom > "$work/root/assets/a$i.bin"; done
chmod -R a+rX "$work/root"

upload_port=$(free_port)
mkdir -p "$work/uploads"

# One certificate for both servers' TLS rows: ECDSA P-256, as the issue asks.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 644 "$work/key.pem"

# A pair of servers alike: swerve and nginx, WORKERS each, access log to a
# file or off, plain HTTP or TLS. Sets swerve_port, nginx_port, swerve_pid,
# nginx_pid and scheme.
start_pair() {  # name workers access-log(on|off) pinned(yes|no) [tls]
    local name=$1 workers=$2 log=$3 pinned=$4 dir="$work/$1"
    mkdir -p "$dir"
    swerve_port=$(free_port); nginx_port=$(free_port)
    local swerve_log=off nginx_log=off
    if [ "$log" = on ]; then swerve_log="$dir/swerve-access.log"; nginx_log="$dir/nginx-access.log"; fi
    # TLS: the same certificate, TLS 1.2 and 1.3, ECDHE with AEAD suites only
    # (swerve's fixed policy, written out for nginx), session tickets on and
    # nginx's shared session cache, as an nginx operator would set it up.
    local swerve_listen="127.0.0.1:$swerve_port" swerve_tls="" nginx_listen="127.0.0.1:$nginx_port" nginx_tls=""
    scheme=http
    if [ "${5:-}" = tls ] || [ "${5:-}" = h2 ]; then
        scheme=https
        swerve_listen="$swerve_listen tls"
        swerve_tls="    tls: { certificate: $work/cert.pem, key: $work/key.pem }"
        nginx_listen="$nginx_listen ssl"
        # HTTP/2 for nginx only in the h2 rows (swerve offers it on every TLS listener).
        [ "${5:-}" = h2 ] && nginx_listen="$nginx_listen http2"
        nginx_tls="ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;
  ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers ECDHE+AESGCM:ECDHE+CHACHA20; ssl_prefer_server_ciphers on;
  ssl_session_cache shared:SSL:10m;"
    fi
    cat > "$dir/swerve.yaml" <<YAML
server:
  workers: $workers
logging:
  access_log: $swerve_log
  error_log: $dir/swerve-error.log
vhosts:
  - names: [localhost]
    listen: ["$swerve_listen"]
    root: $work/root
$swerve_tls
    routes:
      - path: /
        type: static
YAML
    cat > "$dir/nginx.conf" <<CONF
worker_processes $workers;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log $nginx_log;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  include /etc/nginx/mime.types;
  $nginx_tls
  server { listen $nginx_listen; root $work/root; }
}
CONF
    server_cpu=() client_cpu=()
    if [ "$pinned" = yes ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
        server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
    fi
    "${server_cpu[@]}" "$SWERVE" serve -c "$dir/swerve.yaml" >/dev/null 2>&1 &
    swerve_pid=$!
    "${server_cpu[@]}" nginx -c "$dir/nginx.conf" -p "$dir" >/dev/null 2>&1 &
    nginx_pid=$!
    for _ in $(seq 100); do grep -q "generation 1 ready" "$dir/swerve-error.log" 2>/dev/null && break; sleep 0.1; done
    for _ in $(seq 100); do curl -sfk -o /dev/null "$scheme://127.0.0.1:$nginx_port/1k.txt" && break; sleep 0.1; done
}

stop_pair() {
    kill "$swerve_pid" "$nginx_pid" 2>/dev/null || true
    wait "$swerve_pid" "$nginx_pid" 2>/dev/null || true
    swerve_pid= nginx_pid=
}

# A process's CPU time so far, "user system" in clock ticks (fields 14 and 15
# of /proc/PID/stat, counted after the parenthesised name, which has spaces).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'; }

# One wrk run: prints "requests/s p99-ms transfer-MiB/s", and with a worker
# pid also "user-us system-us": the worker's CPU per request, user space
# (the server's own code) apart from the kernel (TCP, syscalls).
measure() {  # url connections worker-pid|- [wrk options]
    local url=$1 conns=$2 worker=$3 before after summary
    shift 3
    [ "$worker" != - ] && before=$(cpu_ticks "$worker")
    summary=$("${client_cpu[@]}" wrk -t1 -c"$conns" -d"${DURATION}s" --latency "$@" "$url" | wrk_summary)
    if [ "$worker" != - ]; then
        after=$(cpu_ticks "$worker")
        summary="$summary $(cpu_per "$before" "$after" "$(awk -v r="${summary%% *}" -v d="$DURATION" 'BEGIN { printf "%.0f", r * d }')")"
    fi
    echo "$summary"
}

row() {  # name swerve-file nginx-file
    local s_rps n_rps s_p99 n_p99 s_mib n_mib
    s_rps=$(cut -d' ' -f1 "$2" | median); n_rps=$(cut -d' ' -f1 "$3" | median)
    s_p99=$(cut -d' ' -f2 "$2" | median); n_p99=$(cut -d' ' -f2 "$3" | median)
    s_mib=$(cut -d' ' -f3 "$2" | median); n_mib=$(cut -d' ' -f3 "$3" | median)
    printf "%-34s %9s %9s %6s   %7s %7s %6s   %8s %8s %6s\n" "$1" "$s_rps" "$n_rps" \
        "$(awk -v a="$s_rps" -v b="$n_rps" 'BEGIN { printf "%.2fx", a / b }')" "$s_p99" "$n_p99" \
        "$(awk -v a="$s_p99" -v b="$n_p99" 'BEGIN { printf "%.2fx", a / b }')" "$s_mib" "$n_mib" \
        "$(awk -v a="$s_mib" -v b="$n_mib" 'BEGIN { printf "%.2fx", a / b }')"
    if [ "$(head -1 "$2" | wc -w)" = 5 ]; then
        printf "%-34s swerve %s + %s us, nginx %s + %s us (user + kernel CPU per request, medians)\n" "" \
            "$(cut -d' ' -f4 "$2" | median)" "$(cut -d' ' -f5 "$2" | median)" \
            "$(cut -d' ' -f4 "$3" | median)" "$(cut -d' ' -f5 "$3" | median)"
    fi
}

scenario() {  # name path connections swerve-worker|- nginx-worker|- [wrk options]
    local name=$1 path=$2 conns=$3 s_worker=$4 n_worker=$5
    shift 5
    # Warm both up (file caches, page cache, connection setup).
    "${client_cpu[@]}" wrk -t1 -c"$conns" -d2s "$@" "$scheme://127.0.0.1:$swerve_port$path" >/dev/null
    "${client_cpu[@]}" wrk -t1 -c"$conns" -d2s "$@" "$scheme://127.0.0.1:$nginx_port$path" >/dev/null
    : > "$work/s.txt"; : > "$work/n.txt"
    for _ in $(seq "$ROUNDS"); do
        measure "$scheme://127.0.0.1:$swerve_port$path" "$conns" "$s_worker" "$@" >> "$work/s.txt"
        measure "$scheme://127.0.0.1:$nginx_port$path" "$conns" "$n_worker" "$@" >> "$work/n.txt"
        # Access logs grow by the gigabyte at these rates: each round starts empty.
        find "$work" -name '*-access.log' -exec truncate -s 0 {} +
    done
    row "$name" "$work/s.txt" "$work/n.txt"
}

# The worker's CPU per connection or request over a run, "user-us system-us".
cpu_per() {  # ticks-before ticks-after count
    awk -v b="$1" -v a="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        split(b, x, " "); split(a, y, " "); if (n < 1) n = 1
        printf "%.1f %.1f", (y[1] - x[1]) * 1e6 / hz / n, (y[2] - x[2]) * 1e6 / hz / n }'
}

# New TLS connections per second, each a full handshake, one request and
# Connection: close, from bench/tlsload (BoringSSL; wrk and h2load link
# Debian's OpenSSL 3.0, whose client handshake costs more than either server's,
# so with them this row measured the client). Built on first use.
TLSLOAD=bench/tlsload/.build/release/tlsload
tls_new_round() {  # port worker -> "conn/s failures user-us system-us"
    local before after out
    before=$(cpu_ticks "$2")
    out=$("${client_cpu[@]}" "$TLSLOAD" 127.0.0.1 "$1" localhost /1k.txt "$CONNECTIONS" "$DURATION") || true
    after=$(cpu_ticks "$2")
    [[ "$out" =~ ^[0-9]+\ [0-9]+$ ]] || { echo "tlsload against port $1 failed" >&2; out="0 0"; }
    echo "$out $(cpu_per "$before" "$after" "$(( ${out%% *} * DURATION ))")"
}
tls_new_scenario() {  # name swerve-worker nginx-worker
    "${client_cpu[@]}" "$TLSLOAD" 127.0.0.1 "$swerve_port" localhost /1k.txt "$CONNECTIONS" 2 >/dev/null
    "${client_cpu[@]}" "$TLSLOAD" 127.0.0.1 "$nginx_port" localhost /1k.txt "$CONNECTIONS" 2 >/dev/null
    : > "$work/s.txt"; : > "$work/n.txt"
    for _ in $(seq "$ROUNDS"); do
        tls_new_round "$swerve_port" "$2" >> "$work/s.txt"
        tls_new_round "$nginx_port" "$3" >> "$work/n.txt"
    done
    local s_rate n_rate
    s_rate=$(cut -d' ' -f1 "$work/s.txt" | median); n_rate=$(cut -d' ' -f1 "$work/n.txt" | median)
    printf "%-34s %9s %9s %6s   (%s + %s failed connections)\n" "$1, ${CONNECTIONS}c" "$s_rate" "$n_rate" \
        "$(awk -v a="$s_rate" -v b="$n_rate" 'BEGIN { printf "%.2fx", a / b }')" \
        "$(awk '{ n += $2 } END { print n + 0 }' "$work/s.txt")" "$(awk '{ n += $2 } END { print n + 0 }' "$work/n.txt")"
    printf "%-34s swerve %s + %s us, nginx %s + %s us (user + kernel CPU per connection, medians)\n" "" \
        "$(cut -d' ' -f3 "$work/s.txt" | median)" "$(cut -d' ' -f4 "$work/s.txt" | median)" \
        "$(cut -d' ' -f3 "$work/n.txt" | median)" "$(cut -d' ' -f4 "$work/n.txt" | median)"
}

# Resumed against full handshakes: openssl s_time, one connection at a time
# (each fetching 1 KiB), -new (always a full handshake) against -reuse (a
# session ticket each time; s_time marks every resumed connection 'r' and
# the row says how many were). Rate and the worker's CPU per connection.
s_time_round() {  # port new|reuse worker -> "conn/s user-us system-us resumed-percent"
    local before after start end out count resumed
    before=$(cpu_ticks "$3"); start=$(date +%s.%N)
    # s_time exits 1 when a connection fails: the round still counts what it made.
    out=$(openssl s_time -connect "127.0.0.1:$1" -www /1k.txt "-$2" -time "$DURATION" 2>&1) || true
    end=$(date +%s.%N); after=$(cpu_ticks "$3")
    count=$(awk '/connections in .* real seconds/ { print $1 }' <<<"$out")
    if [ -z "$count" ]; then
        echo "s_time against port $1 failed: $(tail -3 <<<"$out")" >&2
        count=0
    fi
    # One mark per connection on lines of marks only: '*' new, 'r' resumed.
    resumed=$(grep -E '^[*r]+$' <<<"$out" | tr -cd 'r' | wc -c)
    echo "$(awk -v n="$count" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", n / (b - a) }') $(cpu_per "$before" "$after" "$count") $(( resumed * 100 / (count > 0 ? count : 1) ))"
}
tls_resume_scenario() {  # swerve-worker nginx-worker
    local mode
    for mode in new reuse; do
        : > "$work/s-$mode.txt"; : > "$work/n-$mode.txt"
    done
    for _ in $(seq "$ROUNDS"); do
        for mode in new reuse; do
            s_time_round "$swerve_port" "$mode" "$1" >> "$work/s-$mode.txt"
            s_time_round "$nginx_port" "$mode" "$2" >> "$work/n-$mode.txt"
        done
    done
    for mode in new reuse; do
        local s_rate n_rate label="full handshakes (s_time -new), 1c"
        [ "$mode" = reuse ] && label="resumed (s_time -reuse), 1c"
        s_rate=$(cut -d' ' -f1 "$work/s-$mode.txt" | median); n_rate=$(cut -d' ' -f1 "$work/n-$mode.txt" | median)
        printf "%-34s %9s %9s %6s   CPU/conn swerve %s + %s us, nginx %s + %s us; resumed %s%% / %s%%\n" "$label" \
            "$s_rate" "$n_rate" "$(awk -v a="$s_rate" -v b="$n_rate" 'BEGIN { printf "%.2fx", a / b }')" \
            "$(cut -d' ' -f2 "$work/s-$mode.txt" | median)" "$(cut -d' ' -f3 "$work/s-$mode.txt" | median)" \
            "$(cut -d' ' -f2 "$work/n-$mode.txt" | median)" "$(cut -d' ' -f3 "$work/n-$mode.txt" | median)" \
            "$(cut -d' ' -f4 "$work/s-$mode.txt" | median)" "$(cut -d' ' -f4 "$work/n-$mode.txt" | median)"
    done
}

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# HTTP/2 by h2load (one client thread, pinned like wrk): "requests/s MiB/s
# user-us system-us" for one run, the worker's CPU per request as above.
h2_round() {  # port worker clients streams target...
    local port=$1 worker=$2 clients=$3 streams=$4 before after out rps mib
    shift 4
    local targets=()
    for target in "$@"; do targets+=("https://127.0.0.1:$port$target"); done
    before=$(cpu_ticks "$worker")
    out=$("${client_cpu[@]}" h2load -t1 -c"$clients" -m"$streams" -D"$DURATION" "${targets[@]}" 2>&1) || true
    after=$(cpu_ticks "$worker")
    rps=$(awk '/^finished in/ { gsub(",", ""); print $4 }' <<<"$out")
    mib=$(awk '/^finished in/ { gsub(",", ""); v = $6; if (v ~ /GB\/s$/) m = v * 1024; else if (v ~ /MB\/s$/) m = v + 0; else m = v / 1024; printf "%.1f", m / 1.048576 }' <<<"$out")
    grep -q " 0 failed" <<<"$out" || echo "h2load against port $port: $(grep '^requests:' <<<"$out")" >&2
    echo "${rps:-0} ${mib:-0} $(cpu_per "$before" "$after" "$(awk -v r="${rps:-0}" -v d="$DURATION" 'BEGIN { printf "%.0f", r * d }')")"
}
h2_scenario() {  # name swerve-worker nginx-worker clients streams target...
    local name=$1 s_worker=$2 n_worker=$3 clients=$4 streams=$5
    shift 5
    "${client_cpu[@]}" h2load -t1 -c"$clients" -m"$streams" -D2 "https://127.0.0.1:$swerve_port$1" >/dev/null 2>&1 || true
    "${client_cpu[@]}" h2load -t1 -c"$clients" -m"$streams" -D2 "https://127.0.0.1:$nginx_port$1" >/dev/null 2>&1 || true
    : > "$work/s.txt"; : > "$work/n.txt"
    for _ in $(seq "$ROUNDS"); do
        h2_round "$swerve_port" "$s_worker" "$clients" "$streams" "$@" >> "$work/s.txt"
        h2_round "$nginx_port" "$n_worker" "$clients" "$streams" "$@" >> "$work/n.txt"
    done
    local s_rps n_rps s_mib n_mib
    s_rps=$(cut -d' ' -f1 "$work/s.txt" | median); n_rps=$(cut -d' ' -f1 "$work/n.txt" | median)
    s_mib=$(cut -d' ' -f2 "$work/s.txt" | median); n_mib=$(cut -d' ' -f2 "$work/n.txt" | median)
    printf "%-34s %9s %9s %6s   %7s %7s %6s   %8s %8s %6s\n" "$name" "$s_rps" "$n_rps" \
        "$(awk -v a="$s_rps" -v b="$n_rps" 'BEGIN { printf "%.2fx", a / b }')" - - - "$s_mib" "$n_mib" \
        "$(awk -v a="$s_mib" -v b="$n_mib" 'BEGIN { printf "%.2fx", a / b }')"
    printf "%-34s swerve %s + %s us, nginx %s + %s us (user + kernel CPU per request, medians)\n" "" \
        "$(cut -d' ' -f3 "$work/s.txt" | median)" "$(cut -d' ' -f4 "$work/s.txt" | median)" \
        "$(cut -d' ' -f3 "$work/n.txt" | median)" "$(cut -d' ' -f4 "$work/n.txt" | median)"
    # Each round, in order: how far apart the runs were, not just their median.
    printf "%-34s rounds/s: swerve %s; nginx %s\n" "" "$(cut -d' ' -f1 "$work/s.txt" | cut -d. -f1 | paste -sd' ')" \
        "$(cut -d' ' -f1 "$work/n.txt" | cut -d. -f1 | paste -sd' ')"
}

echo "swerve $("$SWERVE" --version | cut -d' ' -f2) vs $(nginx -v 2>&1 | cut -d' ' -f3) — wrk -t1, ${DURATION}s x $ROUNDS alternating rounds (median), $(nproc) cores, $(date -u +%Y-%m-%d)"
printf "%-34s %9s %9s %6s   %7s %7s %6s   %8s %8s %6s\n" scenario "swerve/s" "nginx/s" ratio "s p99ms" "n p99ms" ratio \
    "s MiB/s" "n MiB/s" ratio

if wants keepalive || wants close || wants 64m; then
    start_pair pinned 1 off yes
    # Idle memory first, before any load: the resident set of the serving process.
    swerve_worker=$(pgrep -P "$swerve_pid" | head -1)
    nginx_worker=$(pgrep -P "$nginx_pid" | head -1)
    swerve_rss=$(rss_kib "$swerve_worker"); master_rss=$(rss_kib "$swerve_pid"); nginx_rss=$(rss_kib "$nginx_worker")
    workers=("$swerve_worker" "$nginx_worker")
    wants keepalive && scenario "1 KiB keep-alive, 1w pinned, ${CONNECTIONS}c" /1k.txt "$CONNECTIONS" "${workers[@]}"
    wants close && scenario "1 KiB Connection: close, 1w pinned" /1k.txt "$CONNECTIONS" "${workers[@]}" -H "Connection: close"
    wants 64m && scenario "64 MiB keep-alive, 1w pinned, 4c" /64m.bin 4 - -
    stop_pair
fi
if wants 2workers; then
    start_pair unpinned 2 off no
    scenario "1 KiB keep-alive, 2w, ${CONNECTIONS}c" /1k.txt "$CONNECTIONS" - -
    stop_pair
fi
if wants accesslog; then
    start_pair logged 2 on no
    scenario "1 KiB keep-alive, 2w, access log" /1k.txt "$CONNECTIONS" - -
    stop_pair
fi

if wants tls-keepalive || wants tls-new || wants tls-resume; then
    # Built before the servers start: the first build takes both cores for minutes.
    if wants tls-new && [ ! -x "$TLSLOAD" ]; then swift build -c release --package-path bench/tlsload >/dev/null; fi
    start_pair tls 1 off yes tls
    workers=("$(pgrep -P "$swerve_pid" | head -1)" "$(pgrep -P "$nginx_pid" | head -1)")
    wants tls-keepalive && scenario "1 KiB TLS keep-alive, 1w pinned, ${CONNECTIONS}c" /1k.txt "$CONNECTIONS" "${workers[@]}"
    wants tls-new && tls_new_scenario "new TLS conns (full handshake, close)" "${workers[@]}"
    wants tls-resume && tls_resume_scenario "${workers[@]}"
    stop_pair
fi

if wants h2 || wants h2-page || wants h2-64m; then
    start_pair h2 1 off yes h2
    workers=("$(pgrep -P "$swerve_pid" | head -1)" "$(pgrep -P "$nginx_pid" | head -1)")
    wants h2 && h2_scenario "1 KiB h2, 1w pinned, 16c x 10 streams" "${workers[@]}" 16 10 /1k.txt
    # A page's 100 assets at once on each connection, as a browser loads them.
    assets=(); for i in $(seq 100); do assets+=("/assets/a$i.bin"); done
    wants h2-page && h2_scenario "100-asset page h2, 1w pinned, 4c x 100" "${workers[@]}" 4 100 "${assets[@]}"
    wants h2-64m && h2_scenario "64 MiB h2, 1w pinned, 1c" "${workers[@]}" 1 1 /64m.bin
    stop_pair
fi

if wants upload; then
# Uploads (swerve only: nginx has no route that stores multipart files).
# 32 MiB bodies, 4 clients, three kinds of content — zeros, random bytes (what
# a JPEG looks like) and carriage returns (the multipart parser's worst case) —
# against what dd writes (fsynced) to the same disk, in alternating rounds of
# the same run; medians. Files are fsynced before each answer, so this is
# disk-bound: unlike the rows above, swerve is not pinned (its thread pool
# hashes and writes beside the event loop, as in production) and neither is
# dd. MB/s written and fsynced, and the worker's peak RSS.
upload_seconds=$(( DURATION < 5 ? DURATION : 5 ))
cat > "$work/upload.yaml" <<YAML
server:
  workers: 1
logging:
  access_log: off
  error_log: $work/upload-error.log
vhosts:
  - names: [localhost]
    listen: ["127.0.0.1:$upload_port"]
    root: $work/root
    routes:
      - path: /upload
        type: upload
        dir: $work/uploads
        max_size: 64MiB
        metadata: false
YAML
"$SWERVE" serve -c "$work/upload.yaml" >/dev/null 2>&1 &
upload_pid=$!
for _ in $(seq 100); do grep -q "generation 1 ready" "$work/upload-error.log" 2>/dev/null && break; sleep 0.1; done
upload_worker=$(pgrep -P "$upload_pid" | head -1)
upload_idle=$(rss_kib "$upload_worker")
head -c $((32 * 1024 * 1024)) /dev/zero | tr '\0' z > "$work/zeros.body"
head -c $((32 * 1024 * 1024)) /dev/urandom > "$work/random.body"
head -c $((32 * 1024 * 1024)) /dev/zero | tr '\0' '\r' > "$work/cr.body"
: > "$work/dd.txt"; : > "$work/zeros.txt"; : > "$work/random.txt"; : > "$work/cr.txt"; : > "$work/rss.txt"
( while sleep 0.2; do awk '/VmRSS/ {print $2}' "/proc/$upload_worker/status" 2>/dev/null; done ) > "$work/rss.txt" &
sampler=$!
for _ in $(seq "$ROUNDS"); do
    dd if=/dev/zero of="$work/uploads/dd.bin" bs=1M count=512 conv=fsync 2>&1 | \
        awk '/copied/ { for (i = 1; i <= NF; i++) if ($i ~ /^[MG]B\/s$/) { v = $(i-1); if ($i == "GB/s") v *= 1000; print v } }' >> "$work/dd.txt"
    rm -f "$work/uploads/dd.bin"
    for kind in zeros random cr; do
        BODY_FILE="$work/$kind.body" wrk -t1 -c4 -d"${upload_seconds}s" -s bench/upload.lua \
            "http://127.0.0.1:$upload_port/upload" >/dev/null
        stored=$(find "$work/uploads" -type f | wc -l)
        rm -rf "$work/uploads"/*
        awk -v n="$stored" -v s="$upload_seconds" 'BEGIN { printf "%.0f\n", n * 32 * 1.048576 / s }' >> "$work/$kind.txt"
    done
done
kill "$sampler" 2>/dev/null || true
kill "$upload_pid" 2>/dev/null || true
peak=$(sort -n "$work/rss.txt" | tail -1)
dd_mbs=$(median < "$work/dd.txt")
printf "%-28s %10s MB/s (dd bs=1M count=512 conv=fsync, same disk; median of %s)\n" "disk write" "$dd_mbs" "$ROUNDS"
for kind in zeros random cr; do
    mbs=$(median < "$work/$kind.txt")
    printf "%-28s %10s MB/s written and fsynced, %s of dd\n" "upload 32 MiB $kind, 4c" "$mbs" \
        "$(awk -v a="$mbs" -v b="$dd_mbs" 'BEGIN { printf "%.2fx", a / b }')"
done
printf "%-28s %s -> peak %s MiB (growth %s MiB)\n" "upload worker RSS" "$((upload_idle / 1024))" "$(( ${peak:-0} / 1024 ))" \
    "$(( (${peak:-0} - upload_idle) / 1024 ))"
fi

if [ -n "${swerve_rss:-}" ]; then
    echo
    echo "idle RSS: swerve worker $((swerve_rss / 1024)) MiB ($swerve_rss KiB), nginx worker $((nginx_rss / 1024)) MiB ($nginx_rss KiB); swerve master $((master_rss / 1024)) MiB"
fi
