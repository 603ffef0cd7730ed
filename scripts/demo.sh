#!/usr/bin/env bash
# Runs the demo stack: builds the npm package and the reference server, starts livekit-server and the
# reference server on 127.0.0.1, and tells you where to point a browser. Ctrl-C stops everything (by PID).
# Ports: SOHBET_HTTP_PORT (8080: the page, REST and the voice socket at /ws), SOHBET_WS_PORT (8081:
# the voice socket on its own port, as on the C++ server), SOHBET_LIVEKIT_PORT (7880, and the next
# two for ICE). A port that is taken stops the script before anything is built or started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
export PID_FILE=.artifacts/demo-pids
source scripts/servers.sh
HTTP_PORT=${SOHBET_HTTP_PORT:-8080} WS_PORT=${SOHBET_WS_PORT:-8081} SOHBET_LIVEKIT_PORT=${SOHBET_LIVEKIT_PORT:-7880}
require_free_port "$HTTP_PORT" "reference server HTTP (SOHBET_HTTP_PORT)"
require_free_port "$WS_PORT" "reference server WebSocket (SOHBET_WS_PORT)"
require_free_livekit_ports "$SOHBET_LIVEKIT_PORT"
bash scripts/setup.sh
bash scripts/build_pkg.sh
cargo build -p sohbet-server --release --quiet
export SERVER_BIN=${CARGO_TARGET_DIR:-target}/release/sohbet-server
# Ctrl-C or a TERM ends the script (a trap that only stopped the servers let it sleep on), and
# its exit stops the servers. It naps in the background so that a signal ends the wait at once.
trap 'kill ${NAP:-} 2>/dev/null; stop_servers' EXIT
trap 'exit 130' INT TERM
nap() { sleep "$1" & NAP=$!; wait $NAP; }
mkdir -p .artifacts
start_livekit "$SOHBET_LIVEKIT_PORT" .artifacts/demo-livekit.log
start_ref_server "$HTTP_PORT" "$WS_PORT" .artifacts/demo-server.log
cat <<MSG

  sohbet-rtc demo is running.
    Open:           http://127.0.0.1:$HTTP_PORT/www/index.html   (open it in several tabs to talk)
    voice:* socket: ws://127.0.0.1:$HTTP_PORT/ws (the page's default: its own origin), or the voice port
                    ws://127.0.0.1:$WS_PORT (the C++ URL shape): http://127.0.0.1:$HTTP_PORT/www/index.html?ws=ws://127.0.0.1:$WS_PORT
    Reference API:  http://127.0.0.1:$HTTP_PORT/api/voice/channels
    LiveKit (SFU):  ws://127.0.0.1:$SOHBET_LIVEKIT_PORT (the call moves there at 8 people, back at 5; the page
                    shows the mode and each migration with its duration)
    Logs:           .artifacts/demo-server.log, .artifacts/demo-livekit.log
  Press Ctrl-C to stop.
MSG
if [[ -n "${DEMO_EXIT_AFTER:-}" ]]; then nap "$DEMO_EXIT_AFTER"; exit 0; fi
while true; do nap 3600; done
