#!/usr/bin/env bash
# Runs every test tier from a fresh clone: set-up, lint, native tests, browser tests (wasm in
# headless Chromium against the real reference server and a real livekit-server), and the
# end-to-end suite. Servers started here are stopped by PID on exit.
set -euo pipefail
source "$(dirname "$0")/no_realtime.sh"
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh

ART=.artifacts; mkdir -p "$ART"
export PID_FILE="$ART/test-pids"
source scripts/servers.sh
trap stop_servers EXIT
# The servers' ports (livekit-server also takes the next two), checked now: a taken port stops
# the run in its first second, not after the long tiers, and never gets tested against.
REF_HTTP_PORT=18080 REF_WS_PORT=18081 LK_PORT=17880
require_free_stack_ports $REF_HTTP_PORT $REF_WS_PORT $LK_PORT
T0=$(date +%s)
step() { printf '\n=== %s (t=%ss) ===\n' "$*" "$(( $(date +%s) - T0 ))"; }

FAILED=()
# Runs one tier, keeps its log, and records (rather than stops on) a failure so every tier reports.
tier() { local name=$1; shift; "$@" 2>&1 | tee "$ART/$name.log" || FAILED+=("$name"); }

step "format";        tier fmt cargo fmt --all -- --check
step "clippy native"; tier clippy-native cargo clippy --workspace --all-targets -- -D warnings
step "clippy wasm32"; tier clippy-wasm32 cargo clippy -p sohbet-rtc --all-targets --target wasm32-unknown-unknown --features bench -- -D warnings
# The npm package's configuration: without the default `sfu-client` feature.
tier clippy-wasm32-pkg cargo clippy -p sohbet-rtc --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings

step "native tests"
tier native cargo test --workspace

step "start servers"
cargo build -p sohbet-server --quiet
export SERVER_BIN=${CARGO_TARGET_DIR:-target}/debug/sohbet-server
# (SOHBET_LIVEKIT_PORT, not LIVEKIT_PORT: livekit-server reads LIVEKIT_<KEY> variables as config.)
export SOHBET_HTTP_PORT=$REF_HTTP_PORT SOHBET_WS_PORT=$REF_WS_PORT SOHBET_LIVEKIT_PORT=$LK_PORT
start_ref_server $SOHBET_HTTP_PORT $SOHBET_WS_PORT "$ART/ref-server.log"
# The same server in its C++-compatible mode, for the browser tests of mixed rooms (issue 16).
start_cpp_ref_server "$ART/ref-server-cpp.log"
start_livekit $SOHBET_LIVEKIT_PORT "$ART/livekit.log"
export SOHBET_HTTP_URL="http://127.0.0.1:$SOHBET_HTTP_PORT" SOHBET_WS_URL="ws://127.0.0.1:$SOHBET_WS_PORT"
export SOHBET_LIVEKIT_URL="ws://127.0.0.1:$SOHBET_LIVEKIT_PORT"

step "browser tests (wasm in headless Chromium)"
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300}
tier browser wasm-pack test --headless --chrome

step "end-to-end (Playwright + system Chromium): SFU + livekit-client, hybrid P2P/SFU calls, demo page, packed package, consumer app"
bash scripts/build_pkg.sh
# The size budget of the shipped package (docs/ARCHITECTURE.md, "Size budget").
tier size-gate node scripts/bundle_size.mjs --budget "${SOHBET_SIZE_BUDGET:-92000}"
# The suites load the package we ship (release, size-built, names minified), not a dev build,
# except the SFU suite: it drives the standalone SfuClient class, which the npm package leaves
# out, so it runs on a dev build of the crate with its default features (built by the suite).
export SFU_E2E_SKIP_BUILD=1 SFU_E2E_PKG=../../pkg
for suite in run hybrid demo pkg_smoke consumers; do
  [[ -f tests/e2e/$suite.mjs ]] || continue
  if [[ $suite == run ]]; then
    tier "e2e-$suite" env SFU_E2E_SKIP_BUILD=0 SFU_E2E_PKG=pkg node "tests/e2e/$suite.mjs"
  else
    tier "e2e-$suite" node "tests/e2e/$suite.mjs"
  fi
done

step "summary"
count() { grep -hoE "test result: (ok|FAILED)\. [0-9]+ passed; [0-9]+ failed" "$@" 2>/dev/null | awk '{p+=$4; f+=$6} END {print p+0, f+0}'; }
read -r NP NF < <(count "$ART/native.log")
read -r BP BF < <(count "$ART/browser.log")
read -r EP EF < <(cat "$ART"/e2e-*.log 2>/dev/null | grep -hoE "^e2e: [0-9]+ passed, [0-9]+ failed" | awk '{p+=$2; f+=$4} END {print p+0, f+0}')
echo "native:  $NP passed, $NF failed"
echo "browser: $BP passed, $BF failed"
echo "e2e:     $EP passed, $EF failed"
echo "wall time: $(( $(date +%s) - T0 ))s"
((${#FAILED[@]})) && echo "failed tiers: ${FAILED[*]}"
TF=$((NF + BF + EF)); (( TF == 0 && ${#FAILED[@]} > 0 )) && TF=${#FAILED[@]}  # a tier that failed without counting
echo "$((NP + BP + EP)) passed, $TF failed"
((${#FAILED[@]} == 0))
