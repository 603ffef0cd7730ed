//! Pure ping/timeout bookkeeping for the LiveKit signal socket: when to send `ping`/`ping_req`,
//! when silence means the socket is dead, and the measured round-trip time.
//!
//! Times are plain milliseconds supplied by the caller, so this is tested natively.

/// What the caller should do on a timer tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingAction {
    /// Nothing due yet.
    Idle,
    /// Send `ping` + `ping_req` with this timestamp.
    SendPing(i64),
    /// Nothing was received for longer than the timeout: treat the socket as lost.
    TimedOut,
}

/// Ping state for one signal connection.
#[derive(Debug, Clone)]
pub struct PingClock {
    interval_ms: i64,
    timeout_ms: i64,
    last_received_ms: i64,
    last_sent_ms: Option<i64>,
    rtt_ms: i64,
}

impl PingClock {
    /// Uses the JoinResponse's `ping_interval` / `ping_timeout` (seconds); zero or negative
    /// values fall back to the server defaults 5 s / 15 s.
    pub fn new(interval_s: i32, timeout_s: i32, now_ms: i64) -> Self {
        let interval = if interval_s > 0 { interval_s } else { 5 };
        let timeout = if timeout_s > 0 { timeout_s } else { 15 };
        Self {
            interval_ms: i64::from(interval) * 1000,
            timeout_ms: i64::from(timeout) * 1000,
            last_received_ms: now_ms,
            last_sent_ms: None,
            rtt_ms: 0,
        }
    }

    /// Any message from the server proves the socket alive.
    pub fn on_message(&mut self, now_ms: i64) {
        self.last_received_ms = self.last_received_ms.max(now_ms);
    }

    /// A `pong_resp` echoing our timestamp gives a round-trip time.
    pub fn on_pong(&mut self, echoed_ms: i64, now_ms: i64) {
        self.on_message(now_ms);
        if echoed_ms > 0 && echoed_ms <= now_ms {
            self.rtt_ms = now_ms - echoed_ms;
        }
    }

    /// Called on every timer tick.
    pub fn tick(&mut self, now_ms: i64) -> PingAction {
        if now_ms - self.last_received_ms > self.timeout_ms {
            return PingAction::TimedOut;
        }
        let due = match self.last_sent_ms {
            None => true,
            Some(sent) => now_ms - sent >= self.interval_ms,
        };
        if due {
            self.last_sent_ms = Some(now_ms);
            PingAction::SendPing(now_ms)
        } else {
            PingAction::Idle
        }
    }

    /// Latest measured round-trip time in ms (0 before the first pong).
    pub fn rtt_ms(&self) -> i64 {
        self.rtt_ms
    }
}
