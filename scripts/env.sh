# Shared settings for the set-up, test and demo scripts (sourced, not run).
export SOHBET_CACHE="${SOHBET_CACHE:-$HOME/.cache/sohbet-rtc}"
export WASM_PACK_VERSION="${WASM_PACK_VERSION:-0.13.1}"
export LIVEKIT_VERSION="${LIVEKIT_VERSION:-v1.13.5}"
export LIVEKIT_SERVER_BIN="${LIVEKIT_SERVER_BIN:-$SOHBET_CACHE/bin/livekit-server-$LIVEKIT_VERSION}"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
# node_modules/.bin first: its wasm-opt (binaryen 132) must win over any older system one.
export PATH="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/node_modules/.bin:$HOME/.cargo/bin:$PATH:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
# The shipped package is built with a pinned nightly so that std is rebuilt for size
# (build-std, optimize_for_size, immediate-abort panics); see scripts/build_pkg.sh. Tests and
# clippy use stable. Set SOHBET_SIZE_TOOLCHAIN= (empty) to build the package with stable.
export SOHBET_SIZE_TOOLCHAIN="${SOHBET_SIZE_TOOLCHAIN-nightly-2026-10-30}"
# Its rustc flags: immediate-abort panics (no panic-message formatting), no panic locations, and
# MIR optimisation level 3 with the MIR inliner's thresholds at 100 (calls) / 50 (#[inline]
# hints): together about 2.5 KB less gzip.
export SOHBET_SIZE_RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zmir-opt-level=3 \
  -Zinline-mir-threshold=100 -Zinline-mir-hint-threshold=50"
# wasm-opt for the shipped wasm: -Oz to a fixed point, plus assumptions that hold for Rust's wasm
# (no implicit traps: safe Rust never loads out of bounds or divides unchecked; the module's own
# memory starts zero-filled and its low 1 KiB is never addressed: the stack sits below 1 MiB, data
# above), and the producers/target-features custom sections stripped.
# The wasm features the build uses (also given to the later wasm-opt runs of order_functions.mjs,
# after the target-features section is gone).
export SOHBET_WASM_FEATURES="--enable-bulk-memory --enable-bulk-memory-opt --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-call-indirect-overlong"
# A function with a single caller is inlined only when it is tiny (10 instructions): by default -Oz
# inlines every such function, which saves raw bytes (4 KB here) but costs compressed ones, since
# separate functions keep their small local indices and repeat each other's byte patterns
# (-1.8 KB gzip, -1.3 KB brotli; any limit from 5 to 20 gives about the same).
export SOHBET_WASM_OPT_FLAGS="-Oz --converge --one-caller-inline-max-function-size=10 \
  --ignore-implicit-traps --low-memory-unused --zero-filled-memory \
  --strip-debug --strip-producers --strip-target-features $SOHBET_WASM_FEATURES"
# terser for the shipped JS (an ES module: top-level names are private; three compress passes).
# unsafe_methods writes the import object's `k: function () {…}` entries as methods (nothing
# constructs them with `new`); the instance properties the glue keeps for itself get short names.
export SOHBET_TERSER_FLAGS="--module --ecma 2020 --compress passes=3,unsafe_arrows=true,unsafe_methods=true --mangle \
  --mangle-props regex=/^(__wbg_ptr|__destroy_into_raw|_wbg_cb_unref)\$/"
