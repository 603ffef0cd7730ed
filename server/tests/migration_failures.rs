//! Server-driven migration, the failure paths, over real sockets against the real server:
//! a negative ack rolls every member back and bars the SFU for the cool-down; without acks
//! the mode-change is re-sent, then rolled back at the timeout; a negative ack or a REST
//! report in SFU mode rolls the channel back; livekit-server becoming unreachable (its port
//! closed) rolls back an SFU channel; while it is unreachable no migration starts.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use sohbet_rtc::signal::CallMode;
use sohbet_server::RunningServer;

/// Every client must get voice:mode-change `mode` next.
async fn expect_changes(clients: &mut [Client], mode: CallMode) {
    for c in clients.iter_mut() {
        assert_eq!(c.expect_mode_change().await.new_mode, mode);
    }
}

async fn expect_rollbacks(clients: &mut [Client], reason: &str) {
    for c in clients.iter_mut() {
        assert_eq!(c.expect_rollback().await, reason);
    }
}

/// 8 hybrid clients in channel `id`, all acked into SFU mode.
async fn settled_sfu(srv: &RunningServer, id: u64) -> Vec<Client> {
    let mut clients = join_many(srv, id, 8).await;
    for c in clients.iter_mut() {
        c.expect_mode_change().await;
        c.ack(id, true, None).await;
    }
    wait_for(srv, &format!("/api/voice/channels/{id}"), |v| {
        v["mode"] == "sfu"
    })
    .await;
    clients
}

fn history_len(history: &Value, key: &str) -> usize {
    history[key].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn a_negative_ack_rolls_back_every_member_and_bars_the_sfu_for_the_cool_down() {
    let (srv, _sfu) = start_with_sfu(|cfg| cfg.policy.cooldown_ms = 1500).await;
    let mut clients = join_many(&srv, 1, 8).await;
    expect_changes(&mut clients, CallMode::Sfu).await;
    clients[0].ack(1, true, None).await;
    clients[3].ack(1, false, Some("publish failed")).await;
    expect_rollbacks(&mut clients, "ack-failed").await;
    let rest = channel(&srv, 1).await;
    assert_eq!(
        (rest["mode"].as_str(), &rest["migration"]),
        (Some("p2p"), &Value::Null)
    );
    let history = migrations(&srv, 1).await;
    assert_eq!(history["migrations"][0]["outcome"], "rolled_back");
    assert_eq!(history["migrations"][0]["reason"], "ack-failed");
    assert_eq!(history["rollbacks"][0]["from"], "migrating");

    // Barred: a ninth member is told p2p and nothing else happens during the cool-down...
    let mut ninth = Client::new(&srv, "ninth").await;
    assert_eq!(ninth.join(1).await.mode, Some(CallMode::P2p));
    ninth.expect_silence().await;
    assert_eq!(history_len(&migrations(&srv, 1).await, "migrations"), 1);
    // ...and once it is over, the policy may try the SFU again.
    clients.push(ninth);
    let again = wait_for(&srv, "/api/voice/channels/1", |v| v["mode"] == "migrating").await;
    let rolled_back_at = history["rollbacks"][0]["at_ms"].as_u64().unwrap();
    let restarted_at = again["migration"]["started_at_ms"].as_u64().unwrap();
    assert!(
        restarted_at >= rolled_back_at + 1500,
        "{rolled_back_at} → {restarted_at}"
    );
    let text = metrics_text(&srv).await;
    for line in [
        "voice_migrations_failed_total{target_mode=\"sfu\",reason=\"ack-failed\"} 1",
        "voice_rollbacks_executed_total{reason=\"ack-failed\"} 1",
    ] {
        assert!(text.contains(line), "missing {line}\n{text}");
    }
}

#[tokio::test]
async fn without_acks_the_mode_change_is_resent_then_rolled_back_at_the_timeout() {
    let (srv, _sfu) = start_with_sfu(|cfg| {
        cfg.migration.resend_ms = 300;
        cfg.migration.timeout_ms = 1200;
        cfg.policy.cooldown_ms = 60_000;
    })
    .await;
    let mut clients = join_many(&srv, 2, 8).await;
    let sent = std::time::Instant::now();
    expect_changes(&mut clients, CallMode::Sfu).await;
    // One member acks: it is not resent to; the seven others get it again.
    clients[0].ack(2, true, None).await;
    let (acked, rest) = clients.split_at_mut(1);
    let resent = rest[0].expect_mode_change().await;
    assert!(
        sent.elapsed() >= Duration::from_millis(250),
        "resent after the interval"
    );
    assert!(resent.sfu_token.is_some(), "a resend carries a fresh token");
    expect_changes(&mut rest[1..], CallMode::Sfu).await;
    // Eventually everyone is rolled back for the timeout (after a few resends).
    for c in rest.iter_mut() {
        loop {
            match c.recv().await {
                sohbet_rtc::signal::Message::ModeChange(_) => continue,
                sohbet_rtc::signal::Message::Rollback(r) => {
                    assert_eq!(r.reason, "timeout");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(acked[0].expect_rollback().await, "timeout");
    let history = migrations(&srv, 2).await;
    let done = &history["migrations"][0];
    assert_eq!(
        (done["outcome"].as_str(), done["reason"].as_str()),
        (Some("rolled_back"), Some("timeout"))
    );
    assert!(done["duration_ms"].as_u64().unwrap() >= 1200);
    assert_eq!(channel(&srv, 2).await["mode"], "p2p");
}

#[tokio::test]
async fn a_failure_ack_in_sfu_mode_rolls_the_channel_back() {
    let (srv, _sfu) = start_with_sfu(|cfg| cfg.policy.cooldown_ms = 60_000).await;
    let mut clients = settled_sfu(&srv, 3).await;
    clients[5].ack(3, false, Some("livekit disconnected")).await;
    expect_rollbacks(&mut clients, "sfu-failed").await;
    assert_eq!(channel(&srv, 3).await["mode"], "p2p");
    let history = migrations(&srv, 3).await;
    assert_eq!(history["rollbacks"][0]["from"], "sfu");
    assert!(history["rollbacks"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("livekit disconnected"));
    // A positive ack now is late and changes nothing.
    clients[0].ack(3, true, None).await;
    clients[0].expect_silence().await;
}

#[tokio::test]
async fn sfu_failure_reports_over_rest_roll_the_channel_back() {
    let (srv, _sfu) = start_with_sfu(|cfg| cfg.policy.cooldown_ms = 60_000).await;
    let mut clients = settled_sfu(&srv, 1).await;
    let report = |token: String, url: String, body: Value| async move {
        http()
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let outsider = login(&srv, "outsider").await;
    let url = format!("{}/api/voice/channels/1/sfu-failed", srv.http_url());
    let refused = report(outsider.token, url.clone(), json!({"error": "x"})).await;
    assert_eq!(refused.status(), 403, "only live members may report");
    assert_eq!(channel(&srv, 1).await["mode"], "sfu");

    let ok = report(
        clients[0].user.token.clone(),
        url,
        json!({"error": "ice failed"}),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["mode"], "p2p");
    expect_rollbacks(&mut clients, "sfu-failed").await;

    // The v2 doc's shape is accepted as well; the channel is already P2P, so it is stale.
    let v2 = report(
        clients[1].user.token.clone(),
        format!("{}/api/voice/migration-failed", srv.http_url()),
        json!({"channel_id": 1, "error": "timeout", "rollback_completed": true}),
    )
    .await;
    assert_eq!(v2.status(), 200);
    clients[1].expect_silence().await;
    assert_eq!(history_len(&migrations(&srv, 1).await, "rollbacks"), 1);
}

#[tokio::test]
async fn with_the_sfu_unreachable_no_migration_starts() {
    let closed = FakeSfu::start().await;
    let url = closed.url();
    closed.kill();
    drop(closed);
    let srv = start_with(|cfg| {
        cfg.livekit_url = url;
        cfg.sfu_probe_ms = 50;
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get_json(&srv, "/api/voice/sfu-health").await["reachable"],
        false
    );
    let mut clients = join_many(&srv, 2, 9).await;
    for c in clients.iter_mut() {
        c.expect_silence().await;
    }
    let rest = channel(&srv, 2).await;
    assert_eq!(
        (rest["mode"].as_str(), rest["sfu_reachable"].as_bool()),
        (Some("p2p"), Some(false))
    );
    assert!(metrics_text(&srv).await.contains("voice_sfu_reachable 0"));
}

#[tokio::test]
async fn losing_the_sfu_in_sfu_mode_rolls_the_channel_back() {
    let (srv, sfu) = start_with_sfu(|_| {}).await;
    let mut clients = settled_sfu(&srv, 3).await;
    sfu.kill();
    expect_rollbacks(&mut clients, "sfu-unreachable").await;
    let rest = channel(&srv, 3).await;
    assert_eq!(
        (rest["mode"].as_str(), rest["sfu_reachable"].as_bool()),
        (Some("p2p"), Some(false))
    );
    // Still unreachable: a ninth member keeps the channel in P2P, nobody is told anything.
    let mut ninth = Client::new(&srv, "ninth").await;
    assert_eq!(ninth.join(3).await.mode, Some(CallMode::P2p));
    ninth.expect_silence().await;
}
