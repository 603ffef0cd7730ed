//! Unit tests of the Prometheus exposition: H-M1 families and OpenMetrics naming.

use super::*;

#[test]
fn render_lists_gauges_refusals_and_migrations() {
    let m = Metrics::default();
    m.frame_refused("bad-id");
    m.frame_refused("bad-id");
    m.frame_refused("malformed");
    m.migration_started("sfu");
    m.migration_completed("sfu", 1500);
    m.migration_failed("sfu", "timeout");
    m.rollback_executed("timeout");
    let g = ModeGauges {
        channels: BTreeMap::from([("p2p", 2), ("sfu", 1), ("migrating", 0)]),
        participants: BTreeMap::from([("p2p", 3), ("sfu", 8)]),
        in_progress: 0,
        connections: 12,
        sfu_reachable: true,
    };
    let text = m.render(&g);
    for line in [
        "voice_active_channels{mode=\"p2p\"} 2",
        "voice_active_channels{mode=\"sfu\"} 1",
        "voice_participants{mode=\"sfu\"} 8",
        "voice_migrations_in_progress 0",
        "voice_sfu_reachable 1",
        "ws_connections_open 12",
        "voice_frames_refused_total{reason=\"bad-id\"} 2",
        "voice_migrations_started_total{target_mode=\"sfu\"} 1",
        "voice_migrations_started_total{target_mode=\"p2p\"} 0",
        "voice_migrations_completed_total{target_mode=\"sfu\"} 1",
        "voice_migrations_failed_total{target_mode=\"sfu\",reason=\"timeout\"} 1",
        "voice_rollbacks_executed_total{reason=\"timeout\"} 1",
        "voice_migration_duration_seconds_bucket{target_mode=\"sfu\",le=\"2.5\"} 1",
        "voice_join_latency_seconds_count 0",
    ] {
        assert!(text.contains(line), "missing {line}\n{text}");
    }
    assert_eq!(m.refused_count("bad-id"), 2);
}

#[test]
fn no_gauge_shares_a_base_name_with_a_counter() {
    let text = Metrics::default().render(&ModeGauges::default());
    let mut kinds = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let mut parts = line.split_whitespace().skip(2);
        let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        let base = name.strip_suffix("_total").unwrap_or(name);
        assert!(
            kinds.insert(base.to_owned(), kind.to_owned()).is_none(),
            "{base} twice"
        );
    }
}
