//! SFU health: the server probes livekit-server every `sfu_probe_ms` with a short timeout
//! and tells the hub (while unreachable no migration to the SFU starts, and channels using
//! it are rolled back). The probe is `GET /` over plain HTTP, which livekit-server answers
//! with 200 "OK"; the target is `LIVEKIT_URL` with `ws://` → `http://` (or
//! `SOHBET_SFU_HEALTH_URL`). For `wss://`/`https://` the reference server has no TLS client,
//! so a TCP connect to the host and port is the probe.

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::Config;
use crate::hub::Hub;

/// Why a probe failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProbeError {
    #[error("cannot probe {0:?}: not an http(s) or ws(s) URL with a host")]
    BadUrl(String),
    #[error("probe timed out")]
    Timeout,
    #[error("probe I/O error: {0}")]
    Io(String),
    #[error("probe answered {0:?}")]
    Status(String),
}

/// Where and how to probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeTarget {
    /// `host:port` to connect to (IPv6 hosts keep their brackets for the Host header).
    pub authority: String,
    pub path: String,
    /// False for TLS URLs: only the TCP connect is checked.
    pub http: bool,
}

/// The URL the probe uses, as configured or derived from `LIVEKIT_URL`.
pub fn probe_url(cfg: &Config) -> String {
    if let Some(url) = &cfg.sfu_health_url {
        return url.clone();
    }
    let url = &cfg.livekit_url;
    if let Some(rest) = url.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if let Some(rest) = url.strip_prefix("wss://") {
        format!("https://{rest}")
    } else {
        url.clone()
    }
}

/// Parses `http(s)://host[:port][/path]` (ws/wss accepted as well).
pub fn parse_target(url: &str) -> Result<ProbeTarget, ProbeError> {
    let bad = || ProbeError::BadUrl(url.to_owned());
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let (http, default_port) = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => (true, 80),
        "https" | "wss" => (false, 443),
        _ => return Err(bad()),
    };
    let (host_port, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if host_port.is_empty() {
        return Err(bad());
    }
    let has_port = match host_port.rfind(']') {
        Some(end) => host_port[end..].contains(':'),
        None => host_port.contains(':'),
    };
    let authority = if has_port {
        host_port.to_owned()
    } else {
        format!("{host_port}:{default_port}")
    };
    Ok(ProbeTarget {
        authority,
        path: path.to_owned(),
        http,
    })
}

/// One probe: connect (and for HTTP, expect a 200 status line) within `timeout`.
pub async fn probe(target: &ProbeTarget, timeout: Duration) -> Result<(), ProbeError> {
    tokio::time::timeout(timeout, probe_once(target))
        .await
        .map_err(|_| ProbeError::Timeout)?
}

async fn probe_once(target: &ProbeTarget) -> Result<(), ProbeError> {
    let io = |e: std::io::Error| ProbeError::Io(e.to_string());
    let connect_to = target.authority.replace(['[', ']'], "");
    let mut tcp = TcpStream::connect(connect_to).await.map_err(io)?;
    if !target.http {
        return Ok(());
    }
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: sohbet-server\r\n\r\n",
        target.path, target.authority
    );
    tcp.write_all(request.as_bytes()).await.map_err(io)?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 256];
    while !buf.windows(2).any(|w| w == b"\r\n") && buf.len() < 1024 {
        let n = tcp.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8_lossy(&buf);
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    match (parts.next(), parts.next()) {
        (Some(version), Some("200")) if version.starts_with("HTTP/1.") => Ok(()),
        _ => Err(ProbeError::Status(status_line.to_owned())),
    }
}

/// Spawns the prober (none when `sfu_probe_ms` is 0); it ends when the hub is dropped.
pub fn spawn_prober(hub: &Arc<Hub>, cfg: &Config) -> Option<tokio::task::JoinHandle<()>> {
    if cfg.sfu_probe_ms == 0 {
        return None;
    }
    let url = probe_url(cfg);
    let target = match parse_target(&url) {
        Ok(target) => target,
        Err(e) => {
            tracing::error!("SFU health probe disabled, SFU treated as unreachable: {e}");
            return None;
        }
    };
    let period = Duration::from_millis(cfg.sfu_probe_ms.max(10));
    let timeout = Duration::from_millis(cfg.sfu_probe_timeout_ms.max(10));
    let weak = Arc::downgrade(hub);
    Some(tokio::spawn(async move {
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            let result = probe(&target, timeout).await;
            if let Err(e) = &result {
                tracing::debug!(url, "SFU probe failed: {e}");
            }
            match weak.upgrade() {
                Some(hub) => hub.set_sfu_reachable(result.is_ok()),
                None => break,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_default_ports_and_paths() {
        let t = parse_target("ws://127.0.0.1:7880").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str(), t.http),
            ("127.0.0.1:7880", "/", true)
        );
        let t = parse_target("https://sfu.example.org/health").unwrap();
        assert_eq!(
            (t.authority.as_str(), t.path.as_str(), t.http),
            ("sfu.example.org:443", "/health", false)
        );
        let t = parse_target("http://[::1]/").unwrap();
        assert_eq!(t.authority, "[::1]:80");
        assert_eq!(
            parse_target("http://[::1]:7880").unwrap().authority,
            "[::1]:7880"
        );
        for bad in ["127.0.0.1:7880", "ftp://x", "http://", "http:///x"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn probe_url_derives_from_the_livekit_url() {
        let mut cfg = Config::ephemeral();
        cfg.livekit_url = "wss://sfu.example.org".into();
        assert_eq!(probe_url(&cfg), "https://sfu.example.org");
        cfg.livekit_url = "ws://127.0.0.1:7880".into();
        assert_eq!(probe_url(&cfg), "http://127.0.0.1:7880");
        cfg.sfu_health_url = Some("http://10.0.0.1:9/".into());
        assert_eq!(probe_url(&cfg), "http://10.0.0.1:9/");
    }

    #[tokio::test]
    async fn probe_of_a_closed_port_fails() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let target = parse_target(&format!("http://{addr}")).unwrap();
        assert!(probe(&target, Duration::from_millis(500)).await.is_err());
    }
}
