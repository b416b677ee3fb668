#!/usr/bin/env bash
# Staged install: `make install DESTDIR=…` twice, then `make uninstall`, and
# check every file, its mode, that the installed config is valid, that an
# edited config survives a second install, and (when systemd-analyze exists)
# that the units verify. Run by `make test`; needs the release build.
set -euo pipefail
cd "$(dirname "$0")/../.."

stage=$(mktemp -d /tmp/swerve-install.XXXXXX)
trap 'rm -rf "$stage"' EXIT
failures=0
fail() { echo "✘ install: $*" >&2; failures=$((failures + 1)); }
ok() { echo "✔ install: $*"; }

# mode PATH EXPECTED: the permission bits of a staged path.
expect_mode() {
    local path=$stage$1 want=$2 got
    if [ ! -e "$path" ]; then fail "$1 is missing"; return; fi
    got=$(stat -c %a "$path")
    [ "$got" = "$want" ] || fail "$1 has mode $got, expected $want"
}
expect_absent() { [ ! -e "$stage$1" ] || fail "$1 is still there"; }
expect_text() { grep -qF -- "$2" "$stage$1" || fail "$1 does not contain '$2'"; }

make -s install DESTDIR="$stage" > "$stage.log" 2>&1 || { cat "$stage.log"; fail "make install failed"; exit 1; }
grep -q "installed /etc/swerve/config.yaml" "$stage.log" || fail "the first install did not report the config"

# Every file, with its mode.
expect_mode /usr/local/bin/swerve 755
expect_mode /etc/swerve 755
expect_mode /etc/swerve/config.yaml 640
expect_mode /etc/systemd/system/swerve.service 644
expect_mode /etc/systemd/system/swerve.socket 644
expect_mode /etc/logrotate.d/swerve 644
expect_mode /usr/lib/sysusers.d/swerve.conf 644
expect_mode /usr/local/share/doc/swerve/operations.md 644
expect_mode /usr/local/share/doc/swerve/configuration.md 644
expect_mode /var/log/swerve 750
expect_mode /var/www/swerve 755
expect_mode /var/www/swerve/uploads 750
for file in index.html upload.html upload.js form.html style.css images/swerve.png \
            cgi-bin/_site.py cgi-bin/gallery.py cgi-bin/view.py cgi-bin/echo.py template/hello.py; do
    expect_mode "/var/www/swerve/$file" 644
done
expect_absent /var/www/swerve/uploads/.gitkeep
"$stage/usr/local/bin/swerve" --version | grep -q '^swerve ' || fail "the installed binary does not run"
# It runs without the Swift toolchain: the runtime and Foundation are linked in.
if ldd "$stage/usr/local/bin/swerve" | grep -Ei 'swift|foundation|dispatch|BlocksRuntime'; then
    fail "the installed binary needs the Swift toolchain's shared libraries"
fi
ok "files and modes; the binary needs no toolchain"

# Paths filled in.
expect_text /etc/systemd/system/swerve.service "ExecStart=/usr/local/bin/swerve serve -c /etc/swerve/config.yaml"
expect_text /etc/systemd/system/swerve.service "ExecStartPre=/usr/local/bin/swerve check -c /etc/swerve/config.yaml"
expect_text /etc/systemd/system/swerve.service "ReadWritePaths=/var/www/swerve/uploads"
expect_text /etc/systemd/system/swerve.service 'ExecReload=/usr/local/bin/swerve signal reload -c /etc/swerve/config.yaml --pid $MAINPID'
expect_text /etc/systemd/system/swerve.service "StartLimitBurst=5"
expect_text /etc/logrotate.d/swerve "/usr/local/bin/swerve signal reopen -c /etc/swerve/config.yaml"
# A failing reopen must reach logrotate (and so the journal), not be discarded.
grep -A3 postrotate "$stage/etc/logrotate.d/swerve" | grep -q '|| true\|/dev/null' && fail "logrotate's postrotate discards a failing reopen"
expect_text /usr/lib/sysusers.d/swerve.conf "u swerve"
if grep -q "@[A-Z]*@" "$stage/etc/systemd/system/swerve.service" "$stage/etc/systemd/system/swerve.socket" \
        "$stage/etc/logrotate.d/swerve"; then
    fail "a @PLACEHOLDER@ was left in a unit or the logrotate snippet"
fi

# The installed config: absolute paths, port 80, a pid file, logs in /var/log/swerve — and valid.
config=$stage/etc/swerve/config.yaml
grep -q '\.\./' "$config" && fail "the installed config still has relative paths"
expect_text /etc/swerve/config.yaml "root: /var/www/swerve"
expect_text /etc/swerve/config.yaml "listen: [80]"
expect_text /etc/swerve/config.yaml "pid_file: /run/swerve/swerve.pid"
expect_text /etc/swerve/config.yaml "access_log: /var/log/swerve/access.log"
mkdir -p "$stage/run/swerve"
sed -e "s|/var/www/swerve|$stage/var/www/swerve|g; s|/var/log/swerve|$stage/var/log/swerve|g" \
    -e "s|/run/swerve|$stage/run/swerve|g" "$config" > "$stage/check.yaml"
if "$stage/usr/local/bin/swerve" check -c "$stage/check.yaml" > "$stage/check.log" 2>&1; then
    ok "the installed config is valid"
else
    cat "$stage/check.log" >&2
    fail "the installed config does not pass swerve check"
fi

# Socket activation as swerve.socket does it: systemd-socket-activate binds the
# port and execs swerve on the first connection, passing the socket in LISTEN_FDS.
if command -v systemd-socket-activate >/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    sed -e "s|listen: \[80\]|listen: [\"127.0.0.1:$port\"]|" -e "s|workers: auto|workers: 1|" \
        -e "s|access_log: $stage/var/log/swerve/access.log|access_log: off|" "$stage/check.yaml" > "$stage/activate.yaml"
    systemd-socket-activate -l "127.0.0.1:$port" "$stage/usr/local/bin/swerve" serve -c "$stage/activate.yaml" \
        > "$stage/activate.log" 2>&1 &
    activator=$!
    status=000
    for _ in $(seq 100); do  # bounded: 10 s
        status=$(python3 -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).status)' \
            "http://127.0.0.1:$port/" 2>/dev/null || echo 000)
        [ "$status" = 200 ] && break
        sleep 0.1
    done
    if [ "$status" = 200 ] && grep -q "adopted listener 127.0.0.1:$port from systemd" "$stage/activate.log"; then
        ok "socket activation: the first connection starts swerve, which adopts the socket"
    else
        cat "$stage/activate.log" >&2
        fail "socket activation did not serve (HTTP $status)"
    fi
    kill -TERM "$activator" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$activator" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$activator" 2>/dev/null || true
    wait "$activator" 2>/dev/null || true
else
    echo "  (systemd-socket-activate not found: socket activation check skipped)"
fi

# A second install keeps an edited config and puts the new default beside it.
echo "# edited by the operator" >> "$config"
edited=$(sha256sum < "$config")
echo "<p>my own site</p>" > "$stage/var/www/swerve/index.html"
make -s install DESTDIR="$stage" > "$stage.log" 2>&1 || { cat "$stage.log"; fail "the second make install failed"; }
[ "$(sha256sum < "$config")" = "$edited" ] || fail "the second install overwrote the edited config"
expect_mode /etc/swerve/config.yaml.new 640
grep -q "kept /etc/swerve/config.yaml" "$stage.log" || fail "the second install did not say it kept the config"
grep -q "my own site" "$stage/var/www/swerve/index.html" || fail "the second install overwrote the site"
ok "a second install keeps the edited config (config.yaml.new beside it) and the site"

# The units, checked by systemd itself (with ExecStart pointing at the staged binary).
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$stage/verify"
    for unit in swerve.service swerve.socket; do
        sed "s|/usr/local/bin/swerve|$stage/usr/local/bin/swerve|g" "$stage/etc/systemd/system/$unit" > "$stage/verify/$unit"
    done
    if (cd "$stage/verify" && systemd-analyze verify ./swerve.service ./swerve.socket) > "$stage/verify.log" 2>&1; then
        ok "systemd-analyze verify passes"
    else
        cat "$stage/verify.log" >&2
        fail "systemd-analyze verify failed"
    fi
    score=$(cd "$stage/verify" && systemd-analyze security --offline=true ./swerve.service 2>/dev/null | tail -1 || true)
    [ -n "$score" ] && echo "  systemd-analyze security: ${score#→ }"
else
    echo "  (systemd-analyze not found: unit verification skipped)"
fi

# Uninstall removes what install created, except config, site and logs.
make -s uninstall DESTDIR="$stage" > "$stage.log" 2>&1 || { cat "$stage.log"; fail "make uninstall failed"; }
for path in /usr/local/bin/swerve /etc/systemd/system/swerve.service /etc/systemd/system/swerve.socket \
            /etc/logrotate.d/swerve /usr/lib/sysusers.d/swerve.conf /usr/local/share/doc/swerve; do
    expect_absent "$path"
done
for path in /etc/swerve/config.yaml /var/www/swerve/index.html /var/www/swerve/uploads /var/log/swerve; do
    [ -e "$stage$path" ] || fail "uninstall removed $path"
done
ok "uninstall keeps config, site and logs"

rm -f "$stage.log"
if [ "$failures" -gt 0 ]; then
    echo "staged install test: $failures failure(s)" >&2
    exit 1
fi
echo "staged install test passed"
