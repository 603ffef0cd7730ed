//! Server configuration: read from the environment (`SOHBET_*`, `LIVEKIT_*`) by the binary,
//! or built in code by tests (ephemeral ports, zero cool-down). Parsing is separated from
//! the process environment so it can be tested with a plain map.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use sohbet_rtc::mode::policy::PolicyConfig;

use crate::error::ServerError;
use crate::limits::Limits;
use crate::migration::{Strategy, Timing};

/// LiveKit secrets anyone knows (`livekit-server --dev` uses key `devkey`, secret `secret`).
pub const DEV_LIVEKIT_SECRETS: &[&str] = &["secret", "devkey"];

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
    /// Carry out mode switches with voice:mode-change, acks and rollback
    /// (`SOHBET_SEND_MODE_CHANGE`, default on; `0` = only advertise the mode, send nothing).
    pub send_mode_change: bool,
    /// Strategy sent in voice:mode-change (`SOHBET_MIGRATION_STRATEGY`, default `hard`);
    /// overridable per channel over REST.
    pub strategy: Strategy,
    /// Resend to non-ackers (`SOHBET_MODE_CHANGE_RESEND_MS`, default 3000) and give up
    /// (`SOHBET_MIGRATION_TIMEOUT_MS`, default 30000).
    pub migration: Timing,
    /// Probe livekit-server this often (`SOHBET_SFU_PROBE_MS`, default 2000; 0 = never probe
    /// and assume it reachable).
    pub sfu_probe_ms: u64,
    /// Timeout of one probe (`SOHBET_SFU_PROBE_TIMEOUT_MS`, default 1000).
    pub sfu_probe_timeout_ms: u64,
    /// What the probe GETs (`SOHBET_SFU_HEALTH_URL`, default: `LIVEKIT_URL` with ws→http,
    /// wss→https, path `/`).
    pub sfu_health_url: Option<String>,
    /// Development mode (`SOHBET_DEV=1`, or the older `SOHBET_DEV_ENDPOINTS=1`; default
    /// off): `/api/dev/*` (login, drop-connections), CORS for any origin, voice rooms for
    /// channel ids the store does not have, sfu-token for non-members, and the LiveKit dev
    /// key/secret. Off, the server refuses to start with the well-known dev secret.
    pub dev_mode: bool,
    /// Origins allowed by CORS outside dev mode (`SOHBET_CORS_ORIGINS`, comma-separated,
    /// default none: same-origin pages only).
    pub cors_origins: Vec<String>,
    /// Behave like the deployed C++ server where clients can tell (`SOHBET_CPP_QUIRKS=1` or
    /// `--cpp-quirks`; default off; for tests): one frame per read on the voice port,
    /// relays with the trailing `}`, voice:participants without state or mode, no hybrid.
    pub cpp_quirks: bool,
    /// Connection caps, timeouts, rate limits (see [`Limits`]).
    pub limits: Limits,
    /// Mode policy thresholds (`SOHBET_SFU_UP_AT`, `SOHBET_P2P_DOWN_AT`,
    /// `SOHBET_PREWARM_AT`, `SOHBET_MODE_COOLDOWN_MS`; defaults from the policy).
    pub policy: PolicyConfig,
    /// Interval of the policy and migration tick (`SOHBET_TICK_MS`, default 250).
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
            send_mode_change: true,
            strategy: Strategy::Hard,
            migration: Timing::default(),
            sfu_probe_ms: 2_000,
            sfu_probe_timeout_ms: 1_000,
            sfu_health_url: None,
            dev_mode: false,
            cors_origins: Vec::new(),
            cpp_quirks: false,
            limits: Limits::default(),
            policy: PolicyConfig::default(),
            tick_ms: 250,
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
        cfg.dev_mode = ["SOHBET_DEV", "SOHBET_DEV_ENDPOINTS"]
            .iter()
            .any(|key| get(key).is_some_and(|v| flag(&v)));
        cfg.cors_origins = get("SOHBET_CORS_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        cfg.cpp_quirks = get("SOHBET_CPP_QUIRKS").is_some_and(|v| flag(&v));
        cfg.limits.read(&get)?;
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
        if let Some(v) = get("SOHBET_MIGRATION_STRATEGY") {
            cfg.strategy = parse(&v, "SOHBET_MIGRATION_STRATEGY")?;
        }
        if let Some(v) = get("SOHBET_MODE_CHANGE_RESEND_MS") {
            cfg.migration.resend_ms = parse(&v, "SOHBET_MODE_CHANGE_RESEND_MS")?;
        }
        if let Some(v) = get("SOHBET_MIGRATION_TIMEOUT_MS") {
            cfg.migration.timeout_ms = parse(&v, "SOHBET_MIGRATION_TIMEOUT_MS")?;
        }
        if let Some(v) = get("SOHBET_SFU_PROBE_MS") {
            cfg.sfu_probe_ms = parse(&v, "SOHBET_SFU_PROBE_MS")?;
        }
        if let Some(v) = get("SOHBET_SFU_PROBE_TIMEOUT_MS") {
            cfg.sfu_probe_timeout_ms = parse(&v, "SOHBET_SFU_PROBE_TIMEOUT_MS")?;
        }
        cfg.sfu_health_url = get("SOHBET_SFU_HEALTH_URL");
        if let Some(v) = get("SOHBET_TICK_MS") {
            cfg.tick_ms = parse(&v, "SOHBET_TICK_MS")?;
        }
        Ok(cfg)
    }

    /// Refuses a configuration that is only safe on a developer's machine: outside dev mode
    /// the LiveKit key/secret must not be `livekit-server --dev`'s well-known pair, since
    /// anyone could then mint tokens for every room.
    pub fn validate(&self) -> Result<(), ServerError> {
        if !self.dev_mode
            && (DEV_LIVEKIT_SECRETS.contains(&self.livekit_api_secret.as_str())
                || self.livekit_api_secret.len() < 16)
        {
            return Err(ServerError::InsecureLiveKitSecret);
        }
        Ok(())
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
        assert!(cfg.send_mode_change, "mode changes are sent by default");
        assert_eq!(cfg.strategy, Strategy::Hard);
        assert_eq!(cfg.migration, Timing::default());
        assert_eq!((cfg.sfu_probe_ms, cfg.sfu_probe_timeout_ms), (2_000, 1_000));
        assert_eq!(cfg.tick_ms, 250);
        assert!(!cfg.dev_mode, "dev mode is opt-in");
        assert_eq!(cfg.limits, Limits::default());
        assert_eq!(
            cfg.validate().unwrap_err().code(),
            "insecure-livekit-secret"
        );
        assert_eq!(cfg.jwt_secret.len(), 64);
        assert_ne!(cfg.jwt_secret, from(&[]).unwrap().jwt_secret);
    }

    #[test]
    fn environment_values_override_defaults() {
        let cfg = from(&[
            ("SOHBET_HTTP_PORT", "18080"),
            ("SOHBET_WS_PORT", "18081"),
            ("SOHBET_SEND_MODE_CHANGE", "0"),
            ("SOHBET_MODE_COOLDOWN_MS", "0"),
            ("SOHBET_STATIC_DIR", "/tmp"),
            ("SOHBET_MIGRATION_STRATEGY", "gradual"),
            ("SOHBET_MODE_CHANGE_RESEND_MS", "500"),
            ("SOHBET_MIGRATION_TIMEOUT_MS", "4000"),
            ("SOHBET_SFU_PROBE_MS", "0"),
            ("SOHBET_SFU_HEALTH_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(cfg.http_port, 18080);
        assert_eq!(cfg.ws_port, 18081);
        assert!(!cfg.send_mode_change);
        assert_eq!(cfg.strategy, Strategy::Gradual);
        assert_eq!(
            cfg.migration,
            Timing {
                resend_ms: 500,
                timeout_ms: 4000
            }
        );
        assert_eq!(cfg.sfu_probe_ms, 0);
        assert_eq!(cfg.sfu_health_url.as_deref(), Some("http://127.0.0.1:9/"));
        assert_eq!(cfg.policy.cooldown_ms, 0);
        assert_eq!(cfg.static_dir, Some(PathBuf::from("/tmp")));
    }

    #[test]
    fn dev_mode_is_opt_in_and_allows_the_dev_secret() {
        for key in ["SOHBET_DEV", "SOHBET_DEV_ENDPOINTS"] {
            let cfg = from(&[(key, "1")]).unwrap();
            assert!(cfg.dev_mode);
            assert!(cfg.validate().is_ok());
        }
        let cfg = from(&[
            ("LIVEKIT_API_KEY", "prodkey"),
            ("LIVEKIT_API_SECRET", "a-long-production-secret-0123456789"),
            (
                "SOHBET_CORS_ORIGINS",
                "https://a.example, https://b.example",
            ),
        ])
        .unwrap();
        assert!(cfg.validate().is_ok());
        assert_eq!(cfg.cors_origins.len(), 2);
    }

    #[test]
    fn unparsable_values_are_config_errors() {
        let err = from(&[("SOHBET_HTTP_PORT", "eighty")]).unwrap_err();
        assert_eq!(err.code(), "config");
        let err = from(&[("SOHBET_MIGRATION_STRATEGY", "soft")]).unwrap_err();
        assert_eq!(err.code(), "config");
    }
}
