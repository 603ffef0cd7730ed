# Start/stop helpers for the reference server and livekit-server (sourced by test.sh, bench.sh and
# demo.sh). Every process started here is recorded in $PID_FILE and stopped by PID in stop_servers.
# A port that is taken stops the caller with a message naming it: nothing is ever tested against
# whatever else answers there.

PID_FILE="${PID_FILE:-.artifacts/pids}"
mkdir -p "$(dirname "$PID_FILE")"
# The C++-compatible reference server's ports (start_cpp_ref_server).
CPP_HTTP_PORT=${CPP_HTTP_PORT:-18090}
CPP_WS_PORT=${CPP_WS_PORT:-18091}

# Waits until the process we started answers at url; fails at once, with the end of its log, if it
# exits first (a port taken, a bad flag), and fails if url answers while it is gone.
wait_started() { # pid url log timeout_s what
  local pid=$1 url=$2 log=$3 deadline=$(( $(date +%s) + ${4:-30} )) what=$5
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$what exited before answering $url; the end of $log:" >&2
      tail -n 3 "$log" | sed 's/^/    /' >&2
      return 1
    fi
    (( $(date +%s) > deadline )) && { echo "timed out waiting for $url ($what; log $log)" >&2; return 1; }
    sleep 0.2
  done
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "$what exited, yet $url answers: another process has its port" >&2
    return 1
  fi
}

# Fails loudly when something already listens on a port we are about to use: a test must
# never run against whatever else answers there.
require_free_port() { # port what
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "port $1 ($2) is already in use on 127.0.0.1: stop what listens there and retry" >&2
    return 1
  fi
}

require_free_udp_port() { # port what
  if ! node -e "const s = require('dgram').createSocket('udp4');
    s.once('error', () => process.exit(1)); s.bind(+process.argv[1], '127.0.0.1', () => s.close());" "$1"; then
    echo "UDP port $1 ($2) is already in use on 127.0.0.1: stop what uses it and retry" >&2
    return 1
  fi
}

# livekit-server takes its port, the next one (ICE over TCP) and the one after (ICE over UDP).
require_free_livekit_ports() { # port
  require_free_port "$1" "livekit-server" && require_free_port "$(($1 + 1))" "livekit-server ICE/TCP" &&
    require_free_udp_port "$(($1 + 2))" "livekit-server ICE/UDP"
}

# Every port a run will take, checked up front (before the long tiers): the reference server's,
# the C++-compatible one's and livekit-server's.
require_free_stack_ports() { # http_port ws_port livekit_port
  require_free_port "$1" "reference server HTTP" && require_free_port "$2" "reference server WebSocket" &&
    require_free_port "$CPP_HTTP_PORT" "C++-compatible reference server HTTP" &&
    require_free_port "$CPP_WS_PORT" "C++-compatible reference server WebSocket" &&
    require_free_livekit_ports "$3"
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
  local pid=$!
  echo $pid >>"$PID_FILE"
  wait_started $pid "http://127.0.0.1:$http/api/voice/channels" "$log" 30 "the reference server" || return 1
  # It says where it listens (a line printed just after it starts serving): the ports asked for.
  local _
  for _ in {1..20}; do
    grep -q "listening http=127.0.0.1:$http ws=127.0.0.1:$ws" "$log" && return 0
    sleep 0.1
  done
  echo "the reference server does not say it listens on $http/$ws: $(grep -m1 listening "$log")" >&2
  return 1
}

# The reference server in its C++-compatible mode on 18090/18091 (the mixed-room browser
# tests and benchmark reach it through SOHBET_CPP_HTTP_URL / SOHBET_CPP_WS_URL).
start_cpp_ref_server() { # log
  start_ref_server "$CPP_HTTP_PORT" "$CPP_WS_PORT" "$1" --cpp-quirks || return 1
  export SOHBET_CPP_HTTP_URL="http://127.0.0.1:$CPP_HTTP_PORT" SOHBET_CPP_WS_URL="ws://127.0.0.1:$CPP_WS_PORT"
}

start_livekit() { # port log
  local port=$1 log=$2
  require_free_livekit_ports "$port" || return 1
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
  local pid=$!
  echo $pid >>"$PID_FILE"
  wait_started $pid "http://127.0.0.1:$port/" "$log" 60 "livekit-server"
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
