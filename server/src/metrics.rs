//! Prometheus text metrics (`GET /metrics`), including compat-spec H-M1: migrations started,
//! completed and failed (by target mode and reason), rollbacks by reason, the migration
//! duration and join handling histograms, and live channels, participants and migrations by
//! mode. Plus WebSocket connections, refused frames, policy decisions, acks, minted LiveKit
//! tokens and the SFU probe's verdict, the abuse counters and process metrics
//! (`process_metrics`). Counters are atomics and small maps; gauges are read
//! from the hub at scrape time. Names follow OpenMetrics: no gauge shares a base name with a
//! counter (`ws_connections_open` vs `ws_connections_total`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::histogram::{HistogramFamily, JOIN_BUCKETS, MIGRATION_BUCKETS};
use crate::process_metrics::{AbuseCounters, ProcessStats};
use crate::state::AppState;

type Counts<K> = Mutex<BTreeMap<K, u64>>;

/// Counters and histograms of one server.
pub struct Metrics {
    ws_connections_total: AtomicU64,
    acks_ok: AtomicU64,
    acks_failed: AtomicU64,
    tokens: Counts<&'static str>,
    refused: Counts<&'static str>,
    decisions: Counts<&'static str>,
    switches: Counts<&'static str>,
    started: Counts<&'static str>,
    completed: Counts<&'static str>,
    failed: Counts<(&'static str, &'static str)>,
    rollbacks: Counts<&'static str>,
    migration_duration: HistogramFamily,
    join_latency: HistogramFamily,
    /// Refused connections and sockets closed by the server.
    pub abuse: AbuseCounters,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            ws_connections_total: AtomicU64::new(0),
            acks_ok: AtomicU64::new(0),
            acks_failed: AtomicU64::new(0),
            tokens: Counts::default(),
            refused: Counts::default(),
            decisions: Counts::default(),
            switches: Counts::default(),
            started: Counts::default(),
            completed: Counts::default(),
            failed: Counts::default(),
            rollbacks: Counts::default(),
            migration_duration: HistogramFamily::new(MIGRATION_BUCKETS),
            join_latency: HistogramFamily::new(JOIN_BUCKETS),
            abuse: AbuseCounters::default(),
        }
    }
}

/// Live gauges read from the hub at scrape time (keys: `p2p`, `sfu`, `migrating`).
#[derive(Debug, Clone, Default)]
pub struct ModeGauges {
    pub channels: BTreeMap<&'static str, usize>,
    pub participants: BTreeMap<&'static str, usize>,
    pub in_progress: usize,
    pub connections: usize,
    pub sfu_reachable: bool,
}

fn bump<K: Ord>(map: &Counts<K>, key: K) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    *map.entry(key).or_insert(0) += 1;
}

fn read<K: Ord + Clone>(map: &Counts<K>) -> BTreeMap<K, u64> {
    map.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// `# HELP` and `# TYPE` lines.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A family with one label; `always` keys are shown at 0 before their first count.
fn labelled<V: std::fmt::Display + Default + Clone>(
    out: &mut String,
    (name, kind, help): (&str, &str, &str),
    label: &str,
    mut values: BTreeMap<&'static str, V>,
    always: &[&'static str],
) {
    family(out, name, kind, help);
    for key in always {
        values.entry(key).or_default();
    }
    for (key, n) in values {
        let _ = writeln!(out, "{name}{{{label}=\"{key}\"}} {n}");
    }
}

const MODES: &[&str] = &["p2p", "sfu"];

impl Metrics {
    /// A TCP connection was closed at accept (over a connection cap).
    pub fn connection_refused(&self, reason: &'static str) {
        self.abuse.connection_refused(reason);
    }

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

    /// A LiveKit token was minted: `rest` (sfu-token endpoint) or `mode-change`.
    pub fn token_minted(&self, source: &'static str) {
        bump(&self.tokens, source);
    }

    pub fn migration_started(&self, target: &'static str) {
        bump(&self.started, target);
    }

    pub fn migration_completed(&self, target: &'static str, duration_ms: u64) {
        bump(&self.completed, target);
        self.migration_duration
            .observe(target, duration_ms as f64 / 1000.0);
    }

    pub fn migration_failed(&self, target: &'static str, reason: &'static str) {
        bump(&self.failed, (target, reason));
    }

    pub fn rollback_executed(&self, reason: &'static str) {
        bump(&self.rollbacks, reason);
    }

    /// Time from a voice:join being handled to its voice:participants being queued.
    pub fn join_handled(&self, took: Duration) {
        self.join_latency.observe("", took.as_secs_f64());
    }

    /// Frames refused with `code` so far.
    pub fn refused_count(&self, code: &str) -> u64 {
        read(&self.refused).get(code).copied().unwrap_or(0)
    }

    /// Renders the Prometheus text exposition, given the hub's live gauges.
    pub fn render(&self, g: &ModeGauges) -> String {
        let mut out = String::new();
        let o = &mut out;
        let gauge = "gauge";
        let counter = "counter";
        labelled(
            o,
            (
                "voice_active_channels",
                gauge,
                "Live voice rooms by mode (p2p, sfu, migrating).",
            ),
            "mode",
            g.channels.clone(),
            MODES,
        );
        labelled(
            o,
            (
                "voice_participants",
                gauge,
                "Live voice members by their room's mode.",
            ),
            "mode",
            g.participants.clone(),
            MODES,
        );
        family(
            o,
            "voice_migrations_in_progress",
            gauge,
            "Migrations waiting for acks.",
        );
        let _ = writeln!(o, "voice_migrations_in_progress {}", g.in_progress);
        family(
            o,
            "voice_sfu_reachable",
            gauge,
            "1 while the probe reaches livekit-server.",
        );
        let _ = writeln!(o, "voice_sfu_reachable {}", u8::from(g.sfu_reachable));
        family(
            o,
            "ws_connections_open",
            gauge,
            "Open voice WebSocket connections.",
        );
        let _ = writeln!(o, "ws_connections_open {}", g.connections);
        family(
            o,
            "ws_connections_total",
            counter,
            "WebSocket connections accepted.",
        );
        let total = self.ws_connections_total.load(Ordering::Relaxed);
        let _ = writeln!(o, "ws_connections_total {total}");
        labelled(
            o,
            (
                "voice_migrations_started_total",
                counter,
                "Migrations started.",
            ),
            "target_mode",
            read(&self.started),
            MODES,
        );
        labelled(
            o,
            (
                "voice_migrations_completed_total",
                counter,
                "Migrations completed.",
            ),
            "target_mode",
            read(&self.completed),
            MODES,
        );
        family(
            o,
            "voice_migrations_failed_total",
            counter,
            "Migrations rolled back or superseded.",
        );
        for ((target, reason), n) in read(&self.failed) {
            let _ = writeln!(
                o,
                "voice_migrations_failed_total{{target_mode=\"{target}\",reason=\"{reason}\"}} {n}"
            );
        }
        labelled(
            o,
            (
                "voice_rollbacks_executed_total",
                counter,
                "voice:rollback sent to a channel.",
            ),
            "reason",
            read(&self.rollbacks),
            &[],
        );
        self.migration_duration.render(
            o,
            "voice_migration_duration_seconds",
            "Migration start to completion (all acks).",
            "target_mode",
            MODES,
        );
        self.join_latency.render(
            o,
            "voice_join_latency_seconds",
            "voice:join received to voice:participants queued (server handling only).",
            "",
            &[""],
        );
        labelled(
            o,
            (
                "livekit_tokens_minted_total",
                counter,
                "LiveKit tokens minted, by source.",
            ),
            "source",
            read(&self.tokens),
            &["rest", "mode-change"],
        );
        labelled(
            o,
            (
                "voice_frames_refused_total",
                counter,
                "Client frames refused with voice:error, by code.",
            ),
            "reason",
            read(&self.refused),
            &[],
        );
        labelled(
            o,
            (
                "voice_policy_decisions_total",
                counter,
                "Mode policy decisions.",
            ),
            "decision",
            read(&self.decisions),
            &[],
        );
        labelled(
            o,
            (
                "voice_mode_switches_total",
                counter,
                "Mode policy switches.",
            ),
            "to",
            read(&self.switches),
            &[],
        );
        let acks = BTreeMap::from([
            ("true", self.acks_ok.load(Ordering::Relaxed)),
            ("false", self.acks_failed.load(Ordering::Relaxed)),
        ]);
        labelled(
            o,
            (
                "voice_mode_change_acks_total",
                counter,
                "voice:mode-change-ack received.",
            ),
            "success",
            acks,
            &[],
        );
        self.abuse.render(o);
        if let Some(process) = ProcessStats::read() {
            process.render(o);
        }
        out
    }
}

/// `GET /metrics`.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let text = state.metrics().render(&state.hub().snapshot());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

#[cfg(test)]
mod tests;
