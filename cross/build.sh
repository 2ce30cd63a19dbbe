#!/usr/bin/env bash
# Builds the Raspberry Pi release binary and its .deb, per architecture, on x86-64 Debian with
# Debian's cross linkers (no Docker needed):
#
#   cross/build.sh            # both: aarch64 (arm64 .deb) and armv7 (armhf .deb)
#   cross/build.sh aarch64    # Raspberry Pi OS 64-bit: Pi 3/4/5, Zero 2 W
#   cross/build.sh armv7      # Raspberry Pi OS 32-bit: Pi 2/3/4, Zero 2 W
#   cross/build.sh amd64      # this machine's architecture, e.g. to try the package here
#
# Needs (as root):  apt-get install gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf \
#                       libc6-dev-arm64-cross libc6-dev-armhf-cross
#                   cargo install cargo-deb --locked --version 3.8.0
# The linkers are set per target in .cargo/config.toml; rustup targets are added here.
# Packages land in target/debian/, binaries in target/<triple>/release/hearth.
set -euo pipefail
cd "$(dirname "$0")/.."

# rustup target, linker, Debian architecture.
triple_of() {
    case "$1" in
    aarch64) echo aarch64-unknown-linux-gnu ;;
    armv7) echo armv7-unknown-linux-gnueabihf ;;
    amd64) echo x86_64-unknown-linux-gnu ;;
    *) return 1 ;;
    esac
}
linker_of() {
    case "$1" in
    aarch64) echo aarch64-linux-gnu-gcc ;;
    armv7) echo arm-linux-gnueabihf-gcc ;;
    amd64) echo cc ;;
    esac
}

usage() {
    echo "usage: $0 [aarch64|armv7|amd64|all]   (default: all = aarch64 armv7)" >&2
    exit 2
}

case "${1:-all}" in
all) arches=(aarch64 armv7) ;;
aarch64 | armv7 | amd64) arches=("$1") ;;
*) usage ;;
esac

if ! cargo deb --version >/dev/null 2>&1; then
    echo "cargo-deb is missing: cargo install cargo-deb --locked --version 3.8.0" >&2
    exit 1
fi

target_dir="${CARGO_TARGET_DIR:-target}"
mkdir -p "$target_dir/debian"
for arch in "${arches[@]}"; do
    triple="$(triple_of "$arch")"
    linker="$(linker_of "$arch")"
    if ! command -v "$linker" >/dev/null; then
        echo "$linker is missing: apt-get install gcc-${linker%-gcc} (see the top of $0)" >&2
        exit 1
    fi
    rustup target add "$triple" >/dev/null 2>&1 || rustup target list --installed | grep -qx "$triple"

    echo "--- $arch: building $triple"
    start=$SECONDS
    cargo build --release --locked -p gateway --bin hearth --target "$triple"
    build_s=$((SECONDS - start))

    # The release profile strips symbols already; the host's strip could not read these binaries.
    deb="$(cargo deb -p gateway --target "$triple" --no-build --no-strip \
        --output "$target_dir/debian/" | tail -n 1)"
    bin="$target_dir/$triple/release/hearth"
    echo "--- $arch: built in ${build_s}s"
    echo "    binary  $bin  $(stat -c %s "$bin") bytes"
    echo "    package $deb  $(stat -c %s "$deb") bytes"
done
