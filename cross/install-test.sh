#!/usr/bin/env bash
# Installs, upgrades, removes and purges the amd64 package on this machine to exercise the
# maintainer scripts as a Pi user would (cross/build.sh amd64 first). Needs root and a
# machine where Hearth is not installed; it leaves it uninstalled again (the `hearth` system
# account stays, as it would on a Pi). Where systemd is not running (containers, CI) the
# scripts must still succeed: they enable the unit but cannot start it.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
deb="$target_dir/debian/hearth_${version}-1_amd64.deb"
conf=/etc/hearth/hearth.toml

fail() {
    echo "FAILED: $*" >&2
    exit 1
}
[ "$(id -u)" -eq 0 ] || fail "run as root"
[ -f "$deb" ] || fail "$deb is missing: run cross/build.sh amd64"
if dpkg-query -W -f '${Status}' hearth 2>/dev/null | grep -q installed; then
    fail "hearth is installed here already; this test would change that installation"
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "--- install"
dpkg -i "$deb"
id hearth
for group in i2c gpio; do
    id -nG hearth | grep -qw "$group" || fail "hearth is not in group $group"
done
[ "$(stat -c '%U:%G %a' /var/lib/hearth)" = "hearth:hearth 750" ] || fail "/var/lib/hearth: $(stat -c '%U:%G %a' /var/lib/hearth)"
[ "$(stat -c '%U:%G %a' "$conf")" = "root:hearth 640" ] || fail "$conf: $(stat -c '%U:%G %a' "$conf")"
[ -L /etc/systemd/system/multi-user.target.wants/hearth.service ] || fail "the unit is not enabled"
# What ExecStartPre= runs, as the service's user.
runuser -u hearth -- /usr/bin/hearth check --config "$conf"
systemd-analyze verify /usr/lib/systemd/system/hearth.service

echo "--- upgrade keeps an edited config"
sed -i 's/^listen = "127.0.0.1:1883"/listen = "0.0.0.0:1883"/' "$conf"
touch /var/lib/hearth/discovery-memory
cargo deb -p gateway --target x86_64-unknown-linux-gnu --no-build --no-strip \
    --deb-revision 2 --output "$scratch/" >/dev/null
dpkg -i "$scratch/hearth_${version}-2_amd64.deb"
grep -qx 'listen = "0.0.0.0:1883"' "$conf" || fail "the upgrade replaced the edited $conf"
[ -e /var/lib/hearth/discovery-memory ] || fail "the upgrade lost the state"

echo "--- remove keeps config and state"
dpkg -r hearth
[ ! -e /usr/bin/hearth ] || fail "/usr/bin/hearth is still there"
[ -f "$conf" ] && [ -d /var/lib/hearth ] || fail "remove deleted the config or the state"

echo "--- purge removes them"
dpkg -P hearth
[ ! -e /etc/hearth ] || fail "/etc/hearth is still there"
[ ! -e /var/lib/hearth ] || fail "/var/lib/hearth is still there"
[ ! -e /etc/systemd/system/multi-user.target.wants/hearth.service ] || fail "the unit is still enabled"
echo "install, upgrade, remove and purge behaved"
