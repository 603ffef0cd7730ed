#!/usr/bin/env bash
# Where the shipped wasm's code goes (a size-work tool, not a test): builds the wasm the way
# scripts/build_pkg.sh does (the pinned nightly with build-std when installed) but keeps the name
# section, runs wasm-bindgen, prints the shipped size (wasm-opt with the release flags, names
# minified, gzip -9), then code bytes per crate, per sohbet_rtc module and the largest functions of
# the named build (before wasm-opt, whose inlining would merge and rename functions).
# Usage: scripts/wasm_breakdown.sh [regex]   (regex: list only the functions whose names match)
# Honours CARGO_TARGET_DIR (default target/size-names).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/size-names}
if [[ -n "$SOHBET_SIZE_TOOLCHAIN" ]] && \
   [[ -d "$(rustup run "$SOHBET_SIZE_TOOLCHAIN" rustc --print sysroot 2>/dev/null)/lib/rustlib/src" ]]; then
  RUSTUP_TOOLCHAIN=$SOHBET_SIZE_TOOLCHAIN CARGO_PROFILE_RELEASE_STRIP=false \
    RUSTFLAGS="$SOHBET_SIZE_RUSTFLAGS" \
    cargo build --quiet --release --target wasm32-unknown-unknown --lib --no-default-features \
    -Zbuild-std=std,panic_abort -Zbuild-std-features=optimize_for_size
else
  CARGO_PROFILE_RELEASE_STRIP=false cargo build --quiet --release --target wasm32-unknown-unknown --lib --no-default-features
fi
out="$CARGO_TARGET_DIR/breakdown"; rm -rf "$out"; mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --keep-debug "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/sohbet_rtc.wasm"
cp "$out/sohbet_rtc_bg.wasm" "$out/named.wasm"
# shellcheck disable=SC2086 # the flags are a word list
wasm-opt $SOHBET_WASM_OPT_FLAGS "$out/sohbet_rtc_bg.wasm" -o "$out/opt.wasm"
node scripts/order_functions.mjs "$out/opt.wasm" >/dev/null
node scripts/minify_names.mjs "$out/opt.wasm" "$out/sohbet_rtc.js" >/dev/null
# shellcheck disable=SC2086 # the flags are a word list
terser "$out/sohbet_rtc.js" $SOHBET_TERSER_FLAGS -o "$out/glue.min.js"
node scripts/wasm_breakdown.mjs "$out/named.wasm" "$out/opt.wasm" "$out/glue.min.js" "${1:-}"
