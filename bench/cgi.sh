#!/usr/bin/env bash
# CGI: swerve vs lighttpd's mod_cgi vs Apache's mod_cgi, side by side in one run.
#
#   bench/cgi.sh                  # 10 s per run, 3 alternating rounds, 8 clients
#   DURATION=5 ROUNDS=1 bench/cgi.sh
#
# All three run the same /bin/sh script (builtins only: one process per
# request, no further fork) with the access log off, over 127.0.0.1 with
# keep-alive. swerve has one worker, lighttpd is one process, Apache runs
# mpm_prefork + mod_cgi (the classic pairing; one process per connection, so
# it gets as many as there are clients). Servers and their scripts are pinned
# to core 0, wrk to core 1. A benchmark, not a test: it asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-8}

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v lighttpd >/dev/null || need+=(lighttpd)
command -v apache2 >/dev/null || need+=(apache2)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
make -s deps >/dev/null
# The binary make run and make install use (release, runtime linked statically).
make -s build >/dev/null
SWERVE=.build/release/swerve

work=$(mktemp -d /tmp/swerve-cgi-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -f "$work/apache.pid" ] && kill "$(cat "$work/apache.pid")" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

chmod 755 "$work"
mkdir -p "$work/root/cgi-bin" "$work/apache-logs"
cat > "$work/root/cgi-bin/hello.sh" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
printf 'hello from %s, %s\n' "$SERVER_SOFTWARE" "$QUERY_STRING"
SH
chmod -R a+rX "$work/root"
chmod 755 "$work/root/cgi-bin/hello.sh"

swerve_port=$(free_port)
lighttpd_port=$(free_port)
apache_port=$(free_port)

cat > "$work/swerve.yaml" <<YAML
server:
  workers: 1
logging:
  access_log: off
  error_log: $work/swerve-error.log
vhosts:
  - names: [localhost]
    listen: ["127.0.0.1:$swerve_port"]
    root: $work/root
    routes:
      - path: /cgi-bin/
        type: script
        interpreters: { .sh: /bin/sh }
      - path: /
        type: static
YAML

cat > "$work/lighttpd.conf" <<CONF
server.modules = ("mod_alias", "mod_cgi")
server.document-root = "$work/root"
server.bind = "127.0.0.1"
server.port = $lighttpd_port
server.errorlog = "$work/lighttpd-error.log"
server.max-keep-alive-requests = 100000
alias.url = ("/cgi-bin/" => "$work/root/cgi-bin/")
\$HTTP["url"] =~ "^/cgi-bin/" { cgi.assign = (".sh" => "/bin/sh") }
CONF

modules=/usr/lib/apache2/modules
cat > "$work/apache.conf" <<CONF
ServerRoot "$work"
ServerName localhost
Listen 127.0.0.1:$apache_port
PidFile $work/apache.pid
ErrorLog $work/apache-logs/error.log
LogLevel warn
LoadModule mpm_prefork_module $modules/mod_mpm_prefork.so
LoadModule authz_core_module $modules/mod_authz_core.so
LoadModule alias_module $modules/mod_alias.so
LoadModule cgi_module $modules/mod_cgi.so
LoadModule mime_module $modules/mod_mime.so
TypesConfig /etc/mime.types
StartServers $CONNECTIONS
MinSpareServers $CONNECTIONS
MaxSpareServers $((CONNECTIONS * 2))
MaxRequestWorkers $((CONNECTIONS * 4))
MaxKeepAliveRequests 0
KeepAlive On
DocumentRoot "$work/root"
ScriptAlias /cgi-bin/ "$work/root/cgi-bin/"
<Directory "$work/root/cgi-bin">
    Options +ExecCGI
    Require all granted
</Directory>
CONF

"$SWERVE" --version >/dev/null
taskset -c 0 "$SWERVE" serve -c "$work/swerve.yaml" >/dev/null 2>&1 &
pids+=($!)
taskset -c 0 lighttpd -D -f "$work/lighttpd.conf" >/dev/null 2>&1 &
pids+=($!)
# Apache refuses to start as root without a user to drop to; run it as is when not root.
user_lines=""
if [ "$(id -u)" = 0 ]; then user_lines=$'User www-data\nGroup www-data'; fi
printf '%s\n' "$user_lines" >> "$work/apache.conf"
# setsid: Apache signals its whole process group when it stops, which would include this script.
setsid taskset -c 0 apache2 -f "$work/apache.conf" -DFOREGROUND >/dev/null 2>&1 &
pids+=($!)

url() { echo "http://127.0.0.1:$1/cgi-bin/hello.sh?bench"; }
for port in "$swerve_port" "$lighttpd_port" "$apache_port"; do
    for _ in $(seq 100); do curl -sf -o /dev/null "$(url "$port")" && break; sleep 0.1; done
    curl -sf "$(url "$port")" >/dev/null || { echo "server on port $port does not answer"; exit 1; }
done

# One wrk run: prints "requests/s p99-ms".
measure() {
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1" | wrk_summary | cut -d' ' -f1,2
}

names=(swerve lighttpd apache)
ports=("$swerve_port" "$lighttpd_port" "$apache_port")
for i in 0 1 2; do
    taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d2s "$(url "${ports[$i]}")" >/dev/null
    : > "$work/${names[$i]}.txt"
done
for _ in $(seq "$ROUNDS"); do
    for i in 0 1 2; do measure "$(url "${ports[$i]}")" >> "$work/${names[$i]}.txt"; done
done

echo "CGI /bin/sh script, ${CONNECTIONS} clients keep-alive, wrk -t1, ${DURATION}s x $ROUNDS rounds (median); $(nproc) cores, servers and scripts on core 0, wrk on core 1"
echo "swerve $("$SWERVE" --version | cut -d' ' -f2), $(lighttpd -v 2>&1 | cut -d' ' -f1), $(apache2 -v | head -1 | cut -d' ' -f3) (prefork + mod_cgi)"
printf "%-10s %10s %9s\n" server "req/s" "p99 ms"
best_other=0
for i in 0 1 2; do
    rps=$(cut -d' ' -f1 "$work/${names[$i]}.txt" | median)
    p99=$(cut -d' ' -f2 "$work/${names[$i]}.txt" | median)
    printf "%-10s %10s %9s\n" "${names[$i]}" "$rps" "$p99"
    if [ "$i" = 0 ]; then swerve_rps=$rps; elif [ "$rps" -gt "$best_other" ]; then best_other=$rps; fi
done
echo "swerve / faster of lighttpd and Apache: $(awk -v a="$swerve_rps" -v b="$best_other" 'BEGIN { printf "%.2fx", a / b }')"
