#!/usr/bin/env bash
# Runs the demo stack: builds the npm package and the reference server, starts livekit-server and the
# reference server on 127.0.0.1, and tells you where to point a browser. Ctrl-C stops everything (by PID).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/setup.sh
bash scripts/build_pkg.sh
cargo build -p sohbet-server --release --quiet
export SERVER_BIN=${CARGO_TARGET_DIR:-target}/release/sohbet-server
export PID_FILE=.artifacts/demo-pids
source scripts/servers.sh
trap stop_servers EXIT INT TERM
HTTP_PORT=${SOHBET_HTTP_PORT:-8080} WS_PORT=${SOHBET_WS_PORT:-8081} SOHBET_LIVEKIT_PORT=${SOHBET_LIVEKIT_PORT:-7880}
mkdir -p .artifacts
start_livekit "$SOHBET_LIVEKIT_PORT" .artifacts/demo-livekit.log
start_ref_server "$HTTP_PORT" "$WS_PORT" .artifacts/demo-server.log
cat <<MSG

  sohbet-rtc demo is running.
    Open:           http://127.0.0.1:$HTTP_PORT/www/index.html   (open it in several tabs to talk)
    Reference API:  http://127.0.0.1:$HTTP_PORT/api/voice/channels
    voice:* socket: ws://127.0.0.1:$WS_PORT/?token=...
    LiveKit (SFU):  ws://127.0.0.1:$SOHBET_LIVEKIT_PORT
    Logs:           .artifacts/demo-server.log, .artifacts/demo-livekit.log
  Press Ctrl-C to stop.
MSG
if [[ -n "${DEMO_EXIT_AFTER:-}" ]]; then sleep "$DEMO_EXIT_AFTER"; exit 0; fi
while true; do sleep 3600; done
