# Start/stop helpers for the reference server and livekit-server (sourced by test.sh and demo.sh).
# Every process started here is recorded in $PID_FILE and stopped by PID in stop_servers.

PID_FILE="${PID_FILE:-.artifacts/pids}"
mkdir -p "$(dirname "$PID_FILE")"

wait_http() { # url timeout_s
  local url=$1 deadline=$(( $(date +%s) + ${2:-30} ))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    (( $(date +%s) > deadline )) && { echo "timed out waiting for $url" >&2; return 1; }
    sleep 0.2
  done
}

# Fails loudly when something already listens on a port we are about to use: a test must
# never run against whatever else answers there.
require_free_port() { # port what
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "port $1 ($2) is already in use on 127.0.0.1: stop what listens there and retry" >&2
    return 1
  fi
}

start_ref_server() { # http_port ws_port log [server flags, e.g. --cpp-quirks]
  local http=$1 ws=$2 log=$3
  shift 3
  require_free_port "$http" "reference server HTTP" && require_free_port "$ws" "reference server WebSocket" || return 1
  # Development mode: dev login and test endpoints on, channels created on first join, and the
  # livekit-server --dev key pair accepted (the reference server refuses it otherwise).
  SOHBET_DEV=1 SOHBET_DEV_ENDPOINTS=1 \
  SOHBET_HTTP_PORT=$http SOHBET_WS_PORT=$ws SOHBET_STATIC_DIR="$PWD" \
  LIVEKIT_URL="ws://127.0.0.1:${SOHBET_LIVEKIT_PORT:-7880}" \
    "$SERVER_BIN" "$@" >"$log" 2>&1 &
  echo $! >>"$PID_FILE"
  wait_http "http://127.0.0.1:$http/api/voice/channels" 30
}

# The reference server in its C++-compatible mode on 18090/18091 (the mixed-room browser
# tests and benchmark reach it through SOHBET_CPP_HTTP_URL / SOHBET_CPP_WS_URL).
start_cpp_ref_server() { # log
  start_ref_server 18090 18091 "$1" --cpp-quirks
  export SOHBET_CPP_HTTP_URL="http://127.0.0.1:18090" SOHBET_CPP_WS_URL="ws://127.0.0.1:18091"
}

start_livekit() { # port log
  local port=$1 log=$2
  require_free_port "$port" "livekit-server" || return 1
  local cfg="port: $port
rtc:
  tcp_port: $((port + 1))
  udp_port: $((port + 2))
  use_external_ip: false
  enable_loopback_candidate: true
  stun_servers: [\"127.0.0.1:3478\"]
logging:
  level: info"
  "$LIVEKIT_SERVER_BIN" --dev --bind 127.0.0.1 --node-ip 127.0.0.1 --config-body "$cfg" >"$log" 2>&1 &
  echo $! >>"$PID_FILE"
  wait_http "http://127.0.0.1:$port/" 60
}

stop_servers() {
  [[ -f "$PID_FILE" ]] || return 0
  while read -r pid; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true
  done <"$PID_FILE"
  sleep 0.3
  while read -r pid; do
    [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null || true
  done <"$PID_FILE"
  rm -f "$PID_FILE"
}
