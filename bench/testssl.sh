#!/usr/bin/env bash
# A third-party look at swerve's TLS: testssl.sh (Debian's testssl.sh) against
# a swerve TLS port, with a certificate from a CA made here (ECDSA P-256, a CRL
# address as public CAs give, trusted by testssl through --add-ca) and HSTS on.
#
#   bench/testssl.sh            # prints testssl's report, then the verdict
#
# Exits 1 when testssl reports anything VULNERABLE or NOT ok, 2 when it
# could not run. A check, not a
# test: it takes about a minute and is run by hand (docs/operations.md).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

need=()
command -v testssl >/dev/null || need+=(testssl.sh)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
make -s build >/dev/null
SWERVE=.build/release/swerve

work=$(mktemp -d /tmp/swerve-testssl.XXXXXX)
cleanup() {
    [ -n "${swerve_pid:-}" ] && kill "$swerve_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A CA and a server certificate it signs.
cat > "$work/leaf.ext" <<EXT
subjectAltName = DNS:localhost, IP:127.0.0.1
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
crlDistributionPoints = URI:http://ca.test/crl.der
EXT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=swerve testssl CA" \
    -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$work/server.key" -out "$work/server.csr" 2>/dev/null
openssl x509 -req -in "$work/server.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 30 \
    -extfile "$work/leaf.ext" -out "$work/server.pem" 2>/dev/null

port=$(free_port)
mkdir -p "$work/root"
echo "swerve" > "$work/root/index.html"
cat > "$work/swerve.yaml" <<YAML
server: { workers: 1 }
logging: { access_log: off, error_log: $work/error.log }
vhosts:
  - names: [localhost]
    listen: ["127.0.0.1:$port tls"]
    root: $work/root
    tls: { certificate: $work/server.pem, key: $work/server.key, hsts: "max-age=31536000" }
    routes:
      - { path: /, type: static }
YAML
"$SWERVE" serve -c "$work/swerve.yaml" >/dev/null 2>&1 &
swerve_pid=$!
for _ in $(seq 100); do grep -q "generation 1 ready" "$work/error.log" 2>/dev/null && break; sleep 0.1; done
if ! grep -q "generation 1 ready" "$work/error.log" 2>/dev/null; then
    echo "swerve did not start:" >&2
    cat "$work/error.log" >&2 2>/dev/null || true
    exit 2
fi

# testssl's own exit status counts its findings and its doubts; the verdict below reads the report.
testssl --quiet --color 0 --warnings off --ip one --add-ca "$work/ca.pem" "127.0.0.1:$port" | tee "$work/report.txt" || true
echo
[ -s "$work/report.txt" ] || { echo "testssl: no report" >&2; exit 2; }
if grep -E "VULNERABLE|NOT ok" "$work/report.txt"; then
    echo "testssl: the lines above are findings"
    exit 1
fi
echo "testssl: no VULNERABLE and no NOT ok lines"
