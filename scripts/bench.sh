#!/usr/bin/env bash
# Runs the benchmarks (never part of the tests): each prints `BENCH name=value` lines, which are
# merged into bench/results.json. Starts the same servers as the tests and stops them by PID.
# Usage: scripts/bench.sh [size|server|p2p|sfu|hybrid ...]   (default: all)
set -euo pipefail
source "$(dirname "$0")/no_realtime.sh"
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
ART=.artifacts; mkdir -p "$ART"
export PID_FILE="$ART/bench-pids"
source scripts/servers.sh
trap stop_servers EXIT
which=("$@"); ((${#which[@]})) || which=(size server p2p sfu hybrid)
want() { [[ " ${which[*]} " == *" $1 "* ]]; }

if want p2p || want sfu; then
  export SOHBET_HTTP_PORT=18080 SOHBET_WS_PORT=18081 SOHBET_LIVEKIT_PORT=17880
  # A taken port stops the run before the build (and is never measured against).
  require_free_stack_ports $SOHBET_HTTP_PORT $SOHBET_WS_PORT $SOHBET_LIVEKIT_PORT
  cargo build -p sohbet-server --release --quiet
  export SERVER_BIN=${CARGO_TARGET_DIR:-target}/release/sohbet-server
  start_ref_server $SOHBET_HTTP_PORT $SOHBET_WS_PORT "$ART/bench-ref-server.log"
  start_cpp_ref_server "$ART/bench-ref-server-cpp.log"
  start_livekit $SOHBET_LIVEKIT_PORT "$ART/bench-livekit.log"
  export SOHBET_HTTP_URL="http://127.0.0.1:$SOHBET_HTTP_PORT" SOHBET_WS_URL="ws://127.0.0.1:$SOHBET_WS_PORT"
  export SOHBET_LIVEKIT_URL="ws://127.0.0.1:$SOHBET_LIVEKIT_PORT" WASM_BINDGEN_TEST_TIMEOUT=900
fi
if want size; then
  bash scripts/build_pkg.sh
  node scripts/bundle_size.mjs 2>&1 | tee "$ART/bench-size.log" | node scripts/bench_merge.mjs --stdin
fi
if want server; then
  # The server runs as its own process (the release binary); the example is the load generator.
  cargo build -q -p sohbet-server --release --bins --examples
  "${CARGO_TARGET_DIR:-target}/release/examples/load_bench" 2>&1 | tee "$ART/bench-server.log" \
    | node scripts/bench_merge.mjs --stdin
fi
if want p2p; then
  for t in tests/bench_p2p*.rs tests/bench_signal*.rs tests/bench_mixed*.rs; do
    [[ -f $t ]] || continue
    wasm-pack test --headless --chrome --release -- --features bench --test "$(basename "$t" .rs)" -- --nocapture 2>&1 \
      | tee "$ART/bench-$(basename "$t" .rs).log" | node scripts/bench_merge.mjs --stdin
  done
fi
if want sfu; then
  # Our side is a release build of the crate with the standalone SfuClient class (a default
  # feature the npm package leaves out; the engine behind it is the package's), built by the
  # benchmark into tests/e2e/pkg-release.
  export SFU_E2E_SKIP_BUILD=0 SFU_E2E_PKG=pkg-release
  for b in tests/e2e/bench_*.mjs; do
    [[ -f $b ]] || continue
    node "$b" 2>&1 | tee "$ART/bench-$(basename "$b" .mjs).log" | node scripts/bench_merge.mjs --stdin
  done
fi
if want hybrid; then
  # Migrations between the mesh and the SFU, 8 clients, each strategy 5 times (medians); the
  # suite starts its own reference server and livekit-server on free ports.
  cargo build -p sohbet-server --release --quiet
  bash scripts/build_pkg.sh
  SERVER_BIN=${CARGO_TARGET_DIR:-target}/release/sohbet-server SFU_E2E_PKG=../../pkg HYBRID_BENCH=${HYBRID_BENCH:-5} \
    node tests/e2e/hybrid.mjs 2>&1 | tee "$ART/bench-hybrid.log" | node scripts/bench_merge.mjs --stdin
fi
echo "bench/results.json:"; cat bench/results.json
