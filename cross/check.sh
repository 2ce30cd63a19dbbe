#!/usr/bin/env bash
# Checks what cross/build.sh made, per architecture: the binary runs (under qemu-user for the
# Pi's architectures) and accepts the configuration the package installs; the .deb holds the
# expected files, conffile and maintainer scripts; the systemd unit passes systemd-analyze.
#
#   cross/check.sh [aarch64|armv7|amd64|all]   (default: all = aarch64 armv7)
#
# Needs: apt-get install qemu-user systemd   (systemd only for systemd-analyze)
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-all}" in
all) arches=(aarch64 armv7) ;;
aarch64 | armv7 | amd64) arches=("$1") ;;
*)
    echo "usage: $0 [aarch64|armv7|amd64|all]" >&2
    exit 2
    ;;
esac

target_dir="${CARGO_TARGET_DIR:-target}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

fail() {
    echo "FAILED: $*" >&2
    exit 1
}

for arch in "${arches[@]}"; do
    case "$arch" in
    aarch64) triple=aarch64-unknown-linux-gnu deb_arch=arm64 objdump=aarch64-linux-gnu-objdump
        run=(qemu-aarch64 -L /usr/aarch64-linux-gnu) ;;
    armv7) triple=armv7-unknown-linux-gnueabihf deb_arch=armhf objdump=arm-linux-gnueabihf-objdump
        run=(qemu-arm -L /usr/arm-linux-gnueabihf) ;;
    amd64) triple=x86_64-unknown-linux-gnu deb_arch=amd64 objdump=objdump run=() ;;
    esac
    bin="$target_dir/$triple/release/hearth"
    deb="$target_dir/debian/hearth_${version}-1_${deb_arch}.deb"
    [ -x "$bin" ] || fail "$bin is missing: run cross/build.sh $arch"
    [ -f "$deb" ] || fail "$deb is missing: run cross/build.sh $arch"

    echo "--- $arch: the package"
    dpkg-deb --info "$deb"
    dpkg-deb --contents "$deb"
    [ "$(dpkg-deb --field "$deb" Architecture)" = "$deb_arch" ] || fail "$deb: Architecture is not $deb_arch"
    contents="$(dpkg-deb --contents "$deb" | awk '{print $NF}')"
    for path in ./usr/bin/hearth ./etc/hearth/hearth.toml ./usr/lib/systemd/system/hearth.service \
        ./usr/share/doc/hearth/raspberry-pi.md ./usr/share/doc/hearth/esp8266/hearth_node.ino; do
        grep -qx "$path" <<<"$contents" || fail "$deb lacks $path"
    done
    control="$scratch/$arch-control"
    dpkg-deb --control "$deb" "$control"
    grep -qx /etc/hearth/hearth.toml "$control/conffiles" || fail "$deb: hearth.toml is not a conffile"
    grep -q "adduser --system" "$control/postinst" || fail "$deb: postinst creates no user"
    grep -q "deb-systemd-helper enable" "$control/postinst" || fail "$deb: postinst does not enable the unit"
    grep -q "deb-systemd-invoke" "$control/prerm" || fail "$deb: prerm does not stop the unit"
    grep -q "rm -rf /var/lib/hearth" "$control/postrm" || fail "$deb: postrm does not purge the state"
    depends="$(dpkg-deb --field "$deb" Depends)"
    grep -q "adduser" <<<"$depends" || fail "$deb: does not depend on adduser"
    # The libc6 version declared must cover the newest glibc symbol the binary links to.
    declared="$(sed -n 's/.*libc6 (>= \([0-9.]*\)).*/\1/p' <<<"$depends")"
    needed="$("$objdump" -T "$bin" | grep -o 'GLIBC_[0-9.]*' | cut -d_ -f2 | sort -uV | tail -n 1)"
    dpkg --compare-versions "$needed" le "$declared" ||
        fail "$bin needs glibc $needed but $deb declares libc6 (>= ${declared:-?})"
    echo "glibc: needs $needed, declares libc6 (>= $declared)"

    root="$scratch/$arch-root"
    dpkg-deb --extract "$deb" "$root"
    cmp "$root/usr/bin/hearth" "$bin" || fail "$deb holds another binary than $bin"
    cmp "$root/usr/lib/systemd/system/hearth.service" systemd/hearth.service || fail "$deb holds another unit"

    echo "--- $arch: the binary${run:+ under ${run[*]}}"
    "${run[@]}" "$bin" --version | grep -qx "hearth $version" || fail "$bin --version"
    "${run[@]}" "$bin" --version
    "${run[@]}" "$bin" check --config "$root/etc/hearth/hearth.toml" || fail "the packaged config"
done

# systemd-analyze verify also checks that ExecStart= names an executable, so it is run on a
# copy of the unit whose /usr/bin/hearth is the binary just built (and checked above).
echo "--- systemd-analyze verify systemd/hearth.service"
mkdir -p "$scratch/unit"
sed "s#/usr/bin/hearth#$(realpath "$bin")#g" systemd/hearth.service >"$scratch/unit/hearth.service"
out="$(systemd-analyze verify "$scratch/unit/hearth.service" 2>&1)" || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
echo "clean"
