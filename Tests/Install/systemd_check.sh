#!/usr/bin/env bash
# The shipped unit under a real systemd, on a machine whose PID 1 is not
# systemd (a VM or container like CI's): `make install`, then systemd runs
# as PID 1 of new pid and mount namespaces and starts swerve.service, and
# this checks what operators do (docs/operations.md):
#
#   - `systemctl reload` fails (exit 1, the error in the journal) after a
#     typo, and succeeds after the fix;
#   - a reload that adds an upload dir outside ReadWritePaths= fails and
#     says to restart;
#   - no "Failed to set thread priority" line from workers starting or
#     draining under the hardened unit;
#   - a broken config stops restarting after the start limit;
#   - `systemctl stop` drains and exits.
#
# Manual, as root, not part of `make test`: it installs into the real
# system (then uninstalls; config, site, logs and the user stay) and boots
# a second systemd. Units that would touch the host are masked in the
# private /run: tmpfiles (its `D /tmp` empties the shared /tmp), udev.
#
#   sudo bash Tests/Install/systemd_check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ "$(cat /proc/1/comm)" != systemd ] || { echo "PID 1 is systemd already: use systemctl directly" >&2; exit 1; }

failures=0
fail() { echo "✘ systemd: $*" >&2; failures=$((failures + 1)); }
ok() { echo "✔ systemd: $*"; }

make -s install >/dev/null
config=/etc/swerve/config.yaml
saved=$(mktemp /root/swerve-config.XXXXXX)
cp "$config" "$saved"

boot=$(mktemp /root/swerve-boot.XXXXXX)
cat > "$boot" <<'BOOT'
#!/bin/bash
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/system
for unit in systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer \
            systemd-tmpfiles-clean.service systemd-udevd.service systemd-udev-trigger.service \
            systemd-udevd-control.socket systemd-udevd-kernel.socket tmp.mount systemd-random-seed.service \
            systemd-sysusers.service systemd-journal-flush.service; do
    ln -s /dev/null "/run/systemd/system/$unit"
done
printf '[Unit]\nDescription=swerve check boot\nWants=swerve.service\n' > /run/systemd/system/swerve-check.target
export container=swerve-check
exec /lib/systemd/systemd --system --unit=swerve-check.target
BOOT
chmod +x "$boot"
setsid unshare --fork --pid --mount --mount-proc --propagation private "$boot" >/dev/null 2>&1 < /dev/null &
init=
for _ in $(seq 100); do  # bounded: 10 s
    init=$(pgrep -f "systemd --system --unit=swerve-check.target" || true)
    [ -n "$init" ] && break
    sleep 0.1
done
cleanup() {
    [ -n "$init" ] && kill -KILL "$init" 2>/dev/null || true
    cp "$saved" "$config"
    rm -f "$saved" "$boot"
    rmdir /var/www/swerve/check-uploads 2>/dev/null || true
    make -s uninstall >/dev/null
}
trap cleanup EXIT
[ -n "$init" ] || { echo "systemd did not start" >&2; exit 1; }
inside() { nsenter -t "$init" -m -p "$@"; }
since=$(inside date +%s)
for _ in $(seq 100); do inside systemctl is-active --quiet swerve.service 2>/dev/null && break; sleep 0.1; done
inside systemctl is-active --quiet swerve.service && ok "swerve.service started" || fail "swerve.service did not start"

sed -i 's/^  workers:/  workerz:/' "$config"
if inside systemctl reload swerve.service 2>/dev/null; then fail "a reload with a typo succeeded"; else ok "a reload with a typo fails"; fi
inside journalctl -u swerve.service --since "@$since" --no-pager | grep -q "error: unknown key 'workerz'" \
    && ok "the journal names the error" || fail "the journal does not name the error"
cp "$saved" "$config"
inside systemctl reload swerve.service && ok "the reload after the fix succeeds" || fail "the reload after the fix failed"

install -d -o swerve -g swerve /var/www/swerve/check-uploads
sed -i 's|dir: /var/www/swerve/uploads |dir: /var/www/swerve/check-uploads |' "$config"
if inside systemctl reload swerve.service 2>/dev/null; then fail "a reload with an upload dir outside ReadWritePaths= succeeded"
else ok "a reload with an upload dir outside ReadWritePaths= fails"; fi
inside journalctl -u swerve.service --since "@$since" --no-pager | grep -q "read-only file system (under systemd: add it to ReadWritePaths=" \
    && ok "and says to add it to ReadWritePaths= and restart" || fail "the journal does not say what to do"
cp "$saved" "$config"

echo "  $(inside systemd-analyze security swerve.service 2>/dev/null | tail -1)"
inside systemctl stop swerve.service && ok "stop drains and exits" || fail "stop failed"
if inside journalctl --since "@$since" --no-pager | grep -q "thread priority"; then fail "libdispatch logged 'Failed to set thread priority'"
else ok "no 'Failed to set thread priority' line"; fi

sed -i 's/^  workers:/  workerz:/' "$config"
inside systemctl start swerve.service 2>/dev/null || true
for _ in $(seq 300); do  # bounded: 30 s (five starts 2 s apart)
    [ "$(inside systemctl show -p ActiveState --value swerve.service)" = failed ] && break
    sleep 0.1
done
[ "$(inside systemctl show -p ActiveState --value swerve.service)" = failed ] \
    && ok "a broken config stops restarting at the start limit" || fail "a broken config keeps restarting"

[ "$failures" = 0 ] && echo "systemd check passed" || { echo "systemd check: $failures failure(s)"; exit 1; }
