//! Server configuration: read from the environment (`SOHBET_*`, `LIVEKIT_*`) by the binary,
//! or built in code by tests (ephemeral ports, zero cool-down). Parsing is separated from
//! the process environment so it can be tested with a plain map.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use sohbet_rtc::mode::policy::PolicyConfig;

use crate::error::ServerError;

/// Default number of LiveKit tokens a user may mint per minute (compat-spec H-T1).
pub const DEFAULT_TOKENS_PER_MINUTE: usize = 10;

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address both listeners bind to (`SOHBET_BIND`, default 127.0.0.1).
    pub bind: IpAddr,
    /// REST + static files (`SOHBET_HTTP_PORT`, default 8080; 0 = ephemeral).
    pub http_port: u16,
    /// The voice:* WebSocket at `/` (`SOHBET_WS_PORT`, default 8081; 0 = ephemeral).
    pub ws_port: u16,
    /// Directory served over HTTP at `/` (`SOHBET_STATIC_DIR`, default none).
    pub static_dir: Option<PathBuf>,
    /// HS256 secret of the user JWTs (`SOHBET_JWT_SECRET`, default random per process).
    pub jwt_secret: String,
    /// URL handed to clients for the SFU (`LIVEKIT_URL`, default ws://127.0.0.1:7880).
    pub livekit_url: String,
    /// LiveKit API key (`LIVEKIT_API_KEY`, default `devkey` as in `livekit-server --dev`).
    pub livekit_api_key: String,
    /// LiveKit API secret (`LIVEKIT_API_SECRET`, default `secret`). Never leaves the server.
    pub livekit_api_secret: String,
    /// LiveKit tokens per user per minute (`SOHBET_TOKENS_PER_MINUTE`, default 10).
    pub tokens_per_minute: usize,
    /// Send voice:mode-change when a channel's mode changes (`SOHBET_SEND_MODE_CHANGE=1`).
    pub send_mode_change: bool,
    /// Enable `/api/dev/*` (login, drop-connections) (`SOHBET_DEV_ENDPOINTS`, default on).
    pub dev_endpoints: bool,
    /// Mode policy thresholds (`SOHBET_SFU_UP_AT`, `SOHBET_P2P_DOWN_AT`,
    /// `SOHBET_PREWARM_AT`, `SOHBET_MODE_COOLDOWN_MS`; defaults from the policy).
    pub policy: PolicyConfig,
    /// Interval of the policy tick in milliseconds (default 1000).
    pub tick_ms: u64,
    /// The server pings each voice socket this often (`SOHBET_WS_PING_MS`, default 20000);
    /// a socket silent for three intervals is dropped as dead (its rooms get user-left).
    pub ws_ping_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            http_port: 8080,
            ws_port: 8081,
            static_dir: None,
            jwt_secret: random_secret(),
            livekit_url: "ws://127.0.0.1:7880".into(),
            livekit_api_key: "devkey".into(),
            livekit_api_secret: "secret".into(),
            tokens_per_minute: DEFAULT_TOKENS_PER_MINUTE,
            send_mode_change: false,
            dev_endpoints: true,
            policy: PolicyConfig::default(),
            tick_ms: 1000,
            ws_ping_ms: 20_000,
        }
    }
}

impl Config {
    /// A configuration for in-process tests: loopback, ephemeral ports, everything else default.
    pub fn ephemeral() -> Self {
        Config {
            http_port: 0,
            ws_port: 0,
            ..Config::default()
        }
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ServerError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the configuration through `get` (a key → value lookup), so tests need no real
    /// environment. Empty values count as unset.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ServerError> {
        let get = |key: &str| get(key).filter(|v| !v.trim().is_empty());
        let mut cfg = Config::default();
        if let Some(v) = get("SOHBET_BIND") {
            cfg.bind = parse(&v, "SOHBET_BIND")?;
        }
        if let Some(v) = get("SOHBET_HTTP_PORT") {
            cfg.http_port = parse(&v, "SOHBET_HTTP_PORT")?;
        }
        if let Some(v) = get("SOHBET_WS_PORT") {
            cfg.ws_port = parse(&v, "SOHBET_WS_PORT")?;
        }
        cfg.static_dir = get("SOHBET_STATIC_DIR").map(PathBuf::from);
        if let Some(v) = get("SOHBET_JWT_SECRET") {
            cfg.jwt_secret = v;
        }
        if let Some(v) = get("LIVEKIT_URL") {
            cfg.livekit_url = v;
        }
        if let Some(v) = get("LIVEKIT_API_KEY") {
            cfg.livekit_api_key = v;
        }
        if let Some(v) = get("LIVEKIT_API_SECRET") {
            cfg.livekit_api_secret = v;
        }
        if let Some(v) = get("SOHBET_TOKENS_PER_MINUTE") {
            cfg.tokens_per_minute = parse(&v, "SOHBET_TOKENS_PER_MINUTE")?;
        }
        if let Some(v) = get("SOHBET_SEND_MODE_CHANGE") {
            cfg.send_mode_change = flag(&v);
        }
        if let Some(v) = get("SOHBET_DEV_ENDPOINTS") {
            cfg.dev_endpoints = flag(&v);
        }
        if let Some(v) = get("SOHBET_SFU_UP_AT") {
            cfg.policy.sfu_up_at = parse(&v, "SOHBET_SFU_UP_AT")?;
        }
        if let Some(v) = get("SOHBET_P2P_DOWN_AT") {
            cfg.policy.p2p_down_at = parse(&v, "SOHBET_P2P_DOWN_AT")?;
        }
        if let Some(v) = get("SOHBET_PREWARM_AT") {
            cfg.policy.prewarm_at = parse(&v, "SOHBET_PREWARM_AT")?;
        }
        if let Some(v) = get("SOHBET_MODE_COOLDOWN_MS") {
            cfg.policy.cooldown_ms = parse(&v, "SOHBET_MODE_COOLDOWN_MS")?;
        }
        if let Some(v) = get("SOHBET_WS_PING_MS") {
            cfg.ws_ping_ms = parse(&v, "SOHBET_WS_PING_MS")?;
        }
        Ok(cfg)
    }

    /// The HTTP listener's address.
    pub fn http_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.http_port)
    }

    /// The WebSocket listener's address.
    pub fn ws_addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.ws_port)
    }
}

fn parse<T: std::str::FromStr>(value: &str, key: &'static str) -> Result<T, ServerError> {
    value.trim().parse().map_err(|_| ServerError::Config {
        key,
        value: value.to_owned(),
    })
}

fn flag(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on"
    )
}

/// 256 bits of randomness from the OS (via uuid v4), hex-encoded.
fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ServerError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn empty_environment_gives_documented_defaults() {
        let cfg = from(&[]).unwrap();
        assert_eq!(cfg.http_addr().to_string(), "127.0.0.1:8080");
        assert_eq!(cfg.ws_addr().to_string(), "127.0.0.1:8081");
        assert_eq!(cfg.livekit_url, "ws://127.0.0.1:7880");
        assert_eq!(cfg.livekit_api_key, "devkey");
        assert!(!cfg.send_mode_change);
        assert!(cfg.dev_endpoints);
        assert_eq!(cfg.jwt_secret.len(), 64);
        assert_ne!(cfg.jwt_secret, from(&[]).unwrap().jwt_secret);
    }

    #[test]
    fn environment_values_override_defaults() {
        let cfg = from(&[
            ("SOHBET_HTTP_PORT", "18080"),
            ("SOHBET_WS_PORT", "18081"),
            ("SOHBET_SEND_MODE_CHANGE", "1"),
            ("SOHBET_MODE_COOLDOWN_MS", "0"),
            ("SOHBET_STATIC_DIR", "/tmp"),
        ])
        .unwrap();
        assert_eq!(cfg.http_port, 18080);
        assert_eq!(cfg.ws_port, 18081);
        assert!(cfg.send_mode_change);
        assert_eq!(cfg.policy.cooldown_ms, 0);
        assert_eq!(cfg.static_dir, Some(PathBuf::from("/tmp")));
    }

    #[test]
    fn unparsable_port_is_a_config_error() {
        let err = from(&[("SOHBET_HTTP_PORT", "eighty")]).unwrap_err();
        assert_eq!(err.code(), "config");
    }
}
