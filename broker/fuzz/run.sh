#!/usr/bin/env bash
# Fuzzes broker::codec::decode with libFuzzer (cargo-fuzz) for a bounded time.
#
#   broker/fuzz/run.sh [SECONDS] [libFuzzer flags...]     (SECONDS defaults to 60)
#
# FUZZ_TARGET=decode_v5 fuzzes broker::codec::v5::decode instead; each target has its own
# corpus/, seeds/, regressions/ subdirectory and .dict file.
#
# Installs the pinned cargo-fuzz if it is missing. Runs on the stable toolchain: cargo-fuzz
# asks rustc for nightly-only flags (-Zsanitizer=address, sanitizer coverage), which
# RUSTC_BOOTSTRAP=1 lets a stable rustc accept. New inputs go to corpus/decode (not
# committed), read together with the committed seeds/decode and regressions/decode. A failing
# input is saved under artifacts/decode/ and the script exits non-zero; to keep it, minimise
# it with `cargo fuzz tmin decode FILE` (from broker/), add it to regressions/decode/ and add
# a codec test named after the bug.
set -euo pipefail
fuzz_dir=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-60}
shift || true

CARGO_FUZZ_VERSION=0.13.2
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

export RUSTC_BOOTSTRAP=1
target=${FUZZ_TARGET:-decode}
mkdir -p "$fuzz_dir/corpus/$target" "$fuzz_dir/regressions/$target"
# cargo-fuzz finds broker/fuzz as the fuzz project of the broker crate.
cd "$fuzz_dir/.."
cargo fuzz build "$target"
cargo fuzz run "$target" \
    "$fuzz_dir/corpus/$target" "$fuzz_dir/seeds/$target" "$fuzz_dir/regressions/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -dict="$fuzz_dir/$target.dict" -print_final_stats=1 "$@"
