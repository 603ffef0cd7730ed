//! Abuse limits of the server (issue 13): connection caps and HTTP timeouts, sockets per user,
//! the per-socket inbound frame rate, the slow-consumer send timeout and the token leeway.
//! Every value has a default fit for a public deployment and an environment override
//! (`SOHBET_*`, listed in server/README.md); `0` turns a cap off where that makes sense.

use crate::error::ServerError;

/// Frames queued for one connection. Relayed frames stop at [`RELAY_HIGH_WATER`] (the
/// sender gets `target-busy`); a socket whose queue is full is dropped as a slow consumer.
pub const OUTBOUND_QUEUE: usize = 256;
/// Queued frames above which relays to a connection are refused (server events still go in).
pub const RELAY_HIGH_WATER: usize = OUTBOUND_QUEUE * 3 / 4;

/// WebSocket close code: the token expired (application range; the client treats it as
/// final and must re-authenticate before reconnecting).
pub const CLOSE_TOKEN_EXPIRED: u16 = 4001;
/// WebSocket close code: the user opened more sockets than allowed; the oldest is closed.
pub const CLOSE_TOO_MANY_SOCKETS: u16 = 4008;
/// WebSocket close code (RFC 6455 policy violation): the socket kept exceeding its frame rate.
pub const CLOSE_RATE_LIMITED: u16 = 1008;

/// The limits, read by [`crate::Config`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// TCP connections open at once on both ports together (`SOHBET_MAX_CONNECTIONS`,
    /// default 50 000; also kept 256 below the process's open-file limit). Over it a new
    /// connection is closed at once.
    pub max_connections: usize,
    /// TCP connections from one IP address (`SOHBET_MAX_CONNECTIONS_PER_IP`, default 1000;
    /// 0 = no per-address cap, e.g. behind a reverse proxy or for the load bench).
    pub max_connections_per_ip: usize,
    /// An HTTP request's headers must arrive within this long, and an idle keep-alive
    /// connection is closed after it (`SOHBET_HEADER_TIMEOUT_MS`, default 10 000).
    pub header_timeout_ms: u64,
    /// A REST request (body included) must be answered within this long, else 408
    /// (`SOHBET_REQUEST_TIMEOUT_MS`, default 15 000).
    pub request_timeout_ms: u64,
    /// Largest REST request body (`SOHBET_MAX_BODY_BYTES`, default 65 536; 413 above).
    pub max_body_bytes: usize,
    /// Voice sockets one user may hold (`SOHBET_MAX_SOCKETS_PER_USER`, default 8); a further
    /// one closes the user's oldest with [`CLOSE_TOO_MANY_SOCKETS`].
    pub sockets_per_user: usize,
    /// Sustained inbound frames per second per voice socket (`SOHBET_WS_FRAMES_PER_SEC`,
    /// default 100); frames above it are discarded with voice:error `rate-limited`.
    pub frames_per_sec: u32,
    /// Burst of inbound frames a socket may send at once (`SOHBET_WS_FRAME_BURST`, default 400).
    pub frame_burst: u32,
    /// Frames over the rate a socket may have discarded (refilled at `frames_per_sec / 10`
    /// a second) before it is closed with 1008 (`SOHBET_WS_EXCESS_FRAMES`, default 200).
    pub excess_frames: u32,
    /// A frame the client does not take within this long marks it a slow consumer: dropped,
    /// its rooms get voice:user-left (`SOHBET_WS_SEND_TIMEOUT_MS`, default 10 000).
    pub send_timeout_ms: u64,
    /// Seconds an expired user JWT is still accepted (`SOHBET_TOKEN_LEEWAY_SECS`, default 0:
    /// this server issues the tokens, so there is no clock skew to absorb).
    pub token_leeway_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 50_000,
            max_connections_per_ip: 1_000,
            header_timeout_ms: 10_000,
            request_timeout_ms: 15_000,
            max_body_bytes: 64 * 1024,
            sockets_per_user: 8,
            frames_per_sec: 100,
            frame_burst: 400,
            excess_frames: 200,
            send_timeout_ms: 10_000,
            token_leeway_secs: 0,
        }
    }
}

impl Limits {
    /// Applies the `SOHBET_*` overrides found through `get` (empty values already removed).
    pub fn read(&mut self, get: &impl Fn(&str) -> Option<String>) -> Result<(), ServerError> {
        set(get, "SOHBET_MAX_CONNECTIONS", &mut self.max_connections)?;
        set(
            get,
            "SOHBET_MAX_CONNECTIONS_PER_IP",
            &mut self.max_connections_per_ip,
        )?;
        set(get, "SOHBET_HEADER_TIMEOUT_MS", &mut self.header_timeout_ms)?;
        set(
            get,
            "SOHBET_REQUEST_TIMEOUT_MS",
            &mut self.request_timeout_ms,
        )?;
        set(get, "SOHBET_MAX_BODY_BYTES", &mut self.max_body_bytes)?;
        set(
            get,
            "SOHBET_MAX_SOCKETS_PER_USER",
            &mut self.sockets_per_user,
        )?;
        set(get, "SOHBET_WS_FRAMES_PER_SEC", &mut self.frames_per_sec)?;
        set(get, "SOHBET_WS_FRAME_BURST", &mut self.frame_burst)?;
        set(get, "SOHBET_WS_EXCESS_FRAMES", &mut self.excess_frames)?;
        set(get, "SOHBET_WS_SEND_TIMEOUT_MS", &mut self.send_timeout_ms)?;
        set(get, "SOHBET_TOKEN_LEEWAY_SECS", &mut self.token_leeway_secs)?;
        if self.frames_per_sec == 0 || self.frame_burst == 0 || self.sockets_per_user == 0 {
            return Err(ServerError::Config {
                key: "SOHBET_WS_FRAMES_PER_SEC/SOHBET_WS_FRAME_BURST/SOHBET_MAX_SOCKETS_PER_USER",
                value: "0".into(),
            });
        }
        Ok(())
    }
}

fn set<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    key: &'static str,
    slot: &mut T,
) -> Result<(), ServerError> {
    if let Some(v) = get(key) {
        *slot = v.trim().parse().map_err(|_| ServerError::Config {
            key,
            value: v.clone(),
        })?;
    }
    Ok(())
}

/// Raises the soft open-file limit to the hard limit (the server holds one descriptor per
/// socket) and returns the soft limit now in force (None where unknown).
pub fn raise_fd_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!("could not raise the open-file limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

/// The connection cap in force: the configured one, kept 256 below the open-file limit so
/// `accept` never fails with EMFILE (0 = the open-file bound only).
pub fn effective_max_connections(configured: usize, fd_limit: Option<u64>) -> usize {
    let by_fds = fd_limit.map_or(usize::MAX, |n| {
        usize::try_from(n.saturating_sub(256)).unwrap_or(usize::MAX)
    });
    match configured {
        0 => by_fds,
        n => n.min(by_fds),
    }
    .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_cap_stays_below_the_fd_limit() {
        assert_eq!(effective_max_connections(50_000, Some(1024)), 768);
        assert_eq!(effective_max_connections(100, Some(1_000_000)), 100);
        assert_eq!(effective_max_connections(0, Some(10_256)), 10_000);
        assert_eq!(effective_max_connections(7, None), 7);
    }

    #[test]
    fn overrides_are_parsed_and_zero_rates_refused() {
        let mut limits = Limits::default();
        let get = |k: &str| (k == "SOHBET_WS_FRAMES_PER_SEC").then(|| "5".to_owned());
        limits.read(&get).unwrap();
        assert_eq!(limits.frames_per_sec, 5);
        let zero = |k: &str| (k == "SOHBET_WS_FRAME_BURST").then(|| "0".to_owned());
        assert!(limits.read(&zero).is_err());
    }
}
