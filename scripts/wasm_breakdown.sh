#!/usr/bin/env bash
# Where the shipped wasm's code goes (a size-work tool, not a test): builds the release wasm with
# the name section kept and runs wasm-bindgen; prints the shipped size (wasm-opt -Oz, names
# stripped, gzip -9), then code bytes per crate and the largest functions of the named build
# (before wasm-opt, whose inlining would merge and rename functions).
# Usage: scripts/wasm_breakdown.sh [regex]   (regex: list only the functions whose names match)
# Honours CARGO_TARGET_DIR (default target/size-names).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/size-names}
CARGO_PROFILE_RELEASE_STRIP=false cargo build --quiet --release --target wasm32-unknown-unknown --lib
out="$CARGO_TARGET_DIR/breakdown"; mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --keep-debug "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/sohbet_rtc.wasm"
wasm-opt -Oz --strip-debug --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/sohbet_rtc_bg.wasm" -o "$out/opt.wasm"
node scripts/wasm_breakdown.mjs "$out/sohbet_rtc_bg.wasm" "$out/opt.wasm" "$out/sohbet_rtc.js" "${1:-}"
