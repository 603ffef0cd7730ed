# Sourced first by test.sh and bench.sh: when they run as root (CI containers, this machine), the
# script restarts itself without CAP_SYS_NICE, so the Chromium it starts runs its audio threads
# at normal priority, as on a user's desktop (RLIMIT_RTPRIO 0).
#
# Why (issue 12): with the capability Chromium puts every AudioContext's rendering and output
# threads on SCHED_RR. The hybrid suite holds nine clients and ~60 peer connections in one
# renderer on two cores; those real-time threads then starve WebRTC's worker threads, and a
# synchronous RTCPeerConnection call that waits for them (close(), addTransceiver()) blocked the
# page's main thread for up to 12 s: clients stopped processing signalling, migrations timed out.
# Profiled with HYBRID_PROFILE=1 (tests/e2e/hybrid.mjs).
sys_nice_bit=23
if [[ $(id -u) == 0 && -z ${SOHBET_NO_REALTIME:-} ]] \
  && (( 0x$(awk '/^CapBnd/ {print $2}' /proc/self/status) >> sys_nice_bit & 1 )); then
  if command -v setpriv >/dev/null 2>&1; then
    export SOHBET_NO_REALTIME=1
    exec setpriv --bounding-set -sys_nice --inh-caps -sys_nice -- bash "$0" "$@"
  fi
  echo "warning: running as root without setpriv: Chromium's audio threads run real-time (issue 12)" >&2
fi
unset sys_nice_bit
