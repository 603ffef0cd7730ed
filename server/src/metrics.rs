//! Prometheus text metrics (`GET /metrics`): live channels per mode, voice participants,
//! WebSocket connections, refused frames by reason, policy decisions, mode switches, acks
//! and minted LiveKit tokens. Counters are plain atomics and small maps; the gauges are read
//! from the hub at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::state::AppState;

/// Counters of one server.
#[derive(Default)]
pub struct Metrics {
    ws_connections_total: AtomicU64,
    tokens_minted_total: AtomicU64,
    acks_ok: AtomicU64,
    acks_failed: AtomicU64,
    refused: Mutex<BTreeMap<&'static str, u64>>,
    decisions: Mutex<BTreeMap<&'static str, u64>>,
    switches: Mutex<BTreeMap<&'static str, u64>>,
}

fn bump(map: &Mutex<BTreeMap<&'static str, u64>>, key: &'static str) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    *map.entry(key).or_insert(0) += 1;
}

fn read(map: &Mutex<BTreeMap<&'static str, u64>>) -> BTreeMap<&'static str, u64> {
    map.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

impl Metrics {
    pub fn ws_connected(&self) {
        self.ws_connections_total.fetch_add(1, Ordering::Relaxed);
    }

    pub fn frame_refused(&self, code: &'static str) {
        bump(&self.refused, code);
    }

    pub fn policy_decision(&self, name: &'static str) {
        bump(&self.decisions, name);
    }

    pub fn mode_switched(&self, to: &'static str) {
        bump(&self.switches, to);
    }

    pub fn mode_change_ack(&self, success: bool) {
        let counter = if success {
            &self.acks_ok
        } else {
            &self.acks_failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn token_minted(&self) {
        self.tokens_minted_total.fetch_add(1, Ordering::Relaxed);
    }

    /// Frames refused with `code` so far.
    pub fn refused_count(&self, code: &str) -> u64 {
        read(&self.refused).get(code).copied().unwrap_or(0)
    }

    /// Renders the Prometheus text exposition, given the hub's live gauges.
    pub fn render(
        &self,
        channels_per_mode: &BTreeMap<&'static str, usize>,
        participants: usize,
        connections: usize,
    ) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family(
            "voice_active_channels",
            "gauge",
            "Live voice rooms by advertised mode.",
        );
        let mut body = String::new();
        for (mode, n) in channels_per_mode {
            let _ = writeln!(body, "voice_active_channels{{mode=\"{mode}\"}} {n}");
        }
        out.push_str(&body);
        let mut line = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        line(
            "voice_participants",
            "gauge",
            "Live voice members over all rooms.",
            participants.to_string(),
        );
        line(
            "ws_connections",
            "gauge",
            "Open voice WebSocket connections.",
            connections.to_string(),
        );
        line(
            "ws_connections_total",
            "counter",
            "WebSocket connections accepted.",
            self.ws_connections_total
                .load(Ordering::Relaxed)
                .to_string(),
        );
        line(
            "livekit_tokens_minted_total",
            "counter",
            "LiveKit tokens minted over REST.",
            self.tokens_minted_total.load(Ordering::Relaxed).to_string(),
        );
        let labelled = [
            (
                "voice_frames_refused_total",
                "reason",
                "Client frames refused with voice:error, by code.",
                read(&self.refused),
            ),
            (
                "voice_policy_decisions_total",
                "decision",
                "Mode policy decisions.",
                read(&self.decisions),
            ),
            (
                "voice_mode_switches_total",
                "to",
                "Advertised mode changes.",
                read(&self.switches),
            ),
            (
                "voice_mode_change_acks_total",
                "success",
                "voice:mode-change-ack received.",
                BTreeMap::from([
                    ("true", self.acks_ok.load(Ordering::Relaxed)),
                    ("false", self.acks_failed.load(Ordering::Relaxed)),
                ]),
            ),
        ];
        for (name, label, help, values) in labelled {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (key, n) in values {
                let _ = writeln!(out, "{name}{{{label}=\"{key}\"}} {n}");
            }
        }
        out
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let (per_mode, participants, connections) = state.hub().snapshot();
    let text = state.metrics().render(&per_mode, participants, connections);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_gauges_and_refusals_by_reason() {
        let m = Metrics::default();
        m.frame_refused("bad-id");
        m.frame_refused("bad-id");
        m.frame_refused("malformed");
        let modes = BTreeMap::from([("p2p", 2), ("sfu", 1)]);
        let text = m.render(&modes, 11, 12);
        assert!(text.contains("voice_active_channels{mode=\"p2p\"} 2"));
        assert!(text.contains("voice_active_channels{mode=\"sfu\"} 1"));
        assert!(text.contains("voice_participants 11"));
        assert!(text.contains("ws_connections 12"));
        assert!(text.contains("voice_frames_refused_total{reason=\"bad-id\"} 2"));
        assert!(text.contains("voice_frames_refused_total{reason=\"malformed\"} 1"));
        assert_eq!(m.refused_count("bad-id"), 2);
    }
}
