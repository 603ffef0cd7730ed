//! Server-driven migration, the happy paths, over real sockets against the real server with
//! a real HTTP target for the SFU health probe: the 8th joiner makes every member get
//! voice:mode-change sfu with its own LiveKit token and the configured strategy; all
//! positive acks complete it (REST and metrics say so); joiners of an SFU channel and of a
//! channel mid-migration are told sfu and get their own mode-change; a per-channel strategy
//! override travels in the mode-change; falling to 5 migrates everyone back to p2p.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use serde_json::{json, Value};
use sohbet_rtc::signal::CallMode;
use sohbet_server::RunningServer;

/// Every client must get voice:mode-change `mode` next; they all ack success.
async fn change_and_ack(clients: &mut [Client], id: u64, mode: CallMode) {
    for c in clients.iter_mut() {
        let change = c.expect_mode_change().await;
        assert_eq!((change.channel_id, change.new_mode), (id, mode));
        c.ack(id, true, None).await;
    }
}

/// Joins 8 hybrid clients; everyone gets the sfu mode-change and acks; returns once the
/// channel is settled in SFU mode.
async fn migrate_to_sfu(srv: &RunningServer, id: u64) -> Vec<Client> {
    let mut clients = join_many(srv, id, 8).await;
    change_and_ack(&mut clients, id, CallMode::Sfu).await;
    wait_for(srv, &format!("/api/voice/channels/{id}"), |v| {
        v["mode"] == "sfu"
    })
    .await;
    clients
}

#[tokio::test]
async fn eighth_joiner_sends_every_member_a_mode_change_with_its_own_token_and_strategy() {
    let (srv, sfu) = start_with_sfu(|cfg| cfg.strategy = "gradual".parse().unwrap()).await;
    let mut clients = join_many(&srv, 2, 7).await;
    let mut eighth = Client::new(&srv, "eighth").await;
    assert_eq!(
        eighth.join(2).await.mode,
        Some(CallMode::Sfu),
        "joiner told sfu"
    );
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
    }
    clients.push(eighth);
    let rest = channel(&srv, 2).await;
    assert_eq!(rest["mode"], "migrating");
    assert_eq!(rest["migration"]["state"], "migrating");
    assert_eq!(rest["migration"]["target_mode"], "sfu");
    assert_eq!(rest["migration"]["strategy"], "gradual");
    assert_eq!(rest["migration"]["awaiting"].as_array().unwrap().len(), 8);
    for c in clients.iter_mut() {
        let change = c.expect_mode_change().await;
        assert_eq!((change.channel_id, change.new_mode), (2, CallMode::Sfu));
        assert_eq!(change.strategy.as_deref(), Some("gradual"));
        assert_eq!(change.sfu_url.as_deref(), Some(sfu.url().as_str()));
        let claims = livekit_claims(change.sfu_token.as_deref().expect("a token"));
        assert_eq!(claims["sub"], c.id().to_string(), "the member's own token");
        assert_eq!(claims["video"]["room"], "channel_2");
    }
}

#[tokio::test]
async fn all_positive_acks_complete_the_migration_and_metrics_count_it() {
    let (srv, _sfu) = start_with_sfu(|_| {}).await;
    let mut clients = migrate_to_sfu(&srv, 1).await;
    let rest = channel(&srv, 1).await;
    assert_eq!(
        (rest["mode"].as_str(), &rest["migration"]),
        (Some("sfu"), &Value::Null)
    );
    let history = migrations(&srv, 1).await;
    let done = &history["migrations"][0];
    assert_eq!(
        (done["target_mode"].as_str(), done["outcome"].as_str()),
        (Some("sfu"), Some("completed"))
    );
    assert_eq!(done["strategy"], "hard", "the default strategy");
    for c in clients.iter_mut() {
        c.expect_silence().await;
    }
    let text = metrics_text(&srv).await;
    for line in [
        "voice_migrations_started_total{target_mode=\"sfu\"} 1",
        "voice_migrations_completed_total{target_mode=\"sfu\"} 1",
        "voice_migration_duration_seconds_count{target_mode=\"sfu\"} 1",
        "voice_migrations_in_progress 0",
        "voice_active_channels{mode=\"sfu\"} 1",
        "voice_participants{mode=\"sfu\"} 8",
        "voice_join_latency_seconds_count 8",
        "voice_sfu_reachable 1",
        "livekit_tokens_minted_total{source=\"mode-change\"} 8",
        "voice_mode_change_acks_total{success=\"true\"} 8",
    ] {
        assert!(text.contains(line), "missing {line}\n{text}");
    }
    for family in [
        "voice_migrations_failed_total",
        "voice_rollbacks_executed_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {family} counter")),
            "{family}"
        );
    }
}

#[tokio::test]
async fn joiner_of_an_sfu_channel_is_told_sfu_then_gets_its_own_mode_change() {
    let (srv, _sfu) = start_with_sfu(|_| {}).await;
    let mut clients = migrate_to_sfu(&srv, 3).await;
    let mut ninth = Client::new(&srv, "ninth").await;
    let seen = ninth.join(3).await;
    assert_eq!(
        (seen.mode, seen.participants.len()),
        (Some(CallMode::Sfu), 8)
    );
    let change = ninth.expect_mode_change().await;
    assert_eq!(change.new_mode, CallMode::Sfu);
    assert_eq!(
        livekit_claims(&change.sfu_token.unwrap())["sub"],
        ninth.id().to_string()
    );
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        c.expect_silence().await;
    }
    ninth.ack(3, true, None).await;
    ninth.expect_silence().await;
    assert_eq!(channel(&srv, 3).await["mode"], "sfu");
}

#[tokio::test]
async fn joiner_mid_migration_is_told_sfu_and_its_ack_is_awaited() {
    let (srv, _sfu) = start_with_sfu(|_| {}).await;
    let mut clients = join_many(&srv, 2, 8).await;
    let mut ninth = Client::new(&srv, "ninth").await;
    assert_eq!(ninth.join(2).await.mode, Some(CallMode::Sfu));
    assert_eq!(ninth.expect_mode_change().await.new_mode, CallMode::Sfu);
    for c in clients.iter_mut() {
        c.expect_mode_change().await;
        c.expect("voice:user-joined").await;
        c.ack(2, true, None).await;
    }
    let rest = wait_for(&srv, "/api/voice/channels/2", |v| {
        v["migration"]["acked"]
            .as_array()
            .is_some_and(|a| a.len() == 8)
    })
    .await;
    assert_eq!(
        rest["migration"]["awaiting"],
        json!([ninth.id()]),
        "the joiner is awaited"
    );
    ninth.ack(2, true, None).await;
    wait_for(&srv, "/api/voice/channels/2", |v| v["mode"] == "sfu").await;
}

#[tokio::test]
async fn a_per_channel_strategy_override_travels_in_the_mode_change() {
    let (srv, _sfu) = start_with_sfu(|_| {}).await;
    let user = login(&srv, "operator").await;
    let put = |body: Value, token: Option<String>| {
        let mut req = http().put(format!("{}/api/voice/channels/1/strategy", srv.http_url()));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        async move { req.json(&body).send().await.unwrap() }
    };
    assert_eq!(
        put(json!({"strategy": "opportunistic"}), None)
            .await
            .status(),
        401
    );
    assert_eq!(
        put(json!({"strategy": "soft"}), Some(user.token.clone()))
            .await
            .status(),
        400
    );
    let bad = put(
        json!({"sfu_up_at": 3, "p2p_down_at": 5}),
        Some(user.token.clone()),
    )
    .await;
    assert_eq!(bad.status(), 400, "thresholds are validated");
    // Pre-warm at the switch itself, so join_many sees no pre-warm mode-change first.
    // (gradual: an opportunistic channel would also pre-warm, see migration_prewarm.rs)
    let body = json!({"strategy": "gradual", "sfu_up_at": 3, "p2p_down_at": 1,
                      "prewarm_at": 3, "cooldown_ms": 0});
    let ok = put(body.clone(), Some(user.token.clone())).await;
    assert_eq!(ok.status(), 200);
    let settings: Value = ok.json().await.unwrap();
    assert_eq!(
        (
            settings["strategy"].as_str(),
            settings["sfu_up_at"].as_u64()
        ),
        (Some("gradual"), Some(3))
    );

    let mut clients = join_many(&srv, 1, 3).await;
    for c in clients.iter_mut() {
        assert_eq!(
            c.expect_mode_change().await.strategy.as_deref(),
            Some("gradual")
        );
    }
    assert_eq!(
        put(body, Some(user.token.clone())).await.status(),
        200,
        "same thresholds"
    );
    let new = json!({"sfu_up_at": 4, "p2p_down_at": 1, "prewarm_at": 2});
    let live = put(new, Some(user.token)).await;
    assert_eq!(
        live.status(),
        409,
        "new thresholds only while the channel is empty"
    );
    assert_eq!(
        channel(&srv, 1).await["strategy"],
        "gradual",
        "a 409 changes nothing"
    );
}

#[tokio::test]
async fn falling_to_five_migrates_everyone_back_to_p2p() {
    let (srv, _sfu) = start_with_sfu(|_| {}).await;
    let mut clients = migrate_to_sfu(&srv, 1).await;
    for _ in 0..3 {
        clients.pop().unwrap().leave(1).await;
        for c in clients.iter_mut() {
            c.expect("voice:user-left").await;
        }
    }
    assert_eq!(channel(&srv, 1).await["mode"], "migrating");
    for c in clients.iter_mut() {
        let change = c.expect_mode_change().await;
        assert_eq!(change.new_mode, CallMode::P2p);
        assert!(change.sfu_token.is_none() && change.sfu_url.is_none());
        assert_eq!(change.strategy.as_deref(), Some("hard"));
        c.ack(1, true, None).await;
    }
    wait_for(&srv, "/api/voice/channels/1", |v| v["mode"] == "p2p").await;
    let history = migrations(&srv, 1).await;
    let outcomes: Vec<(&str, &str)> = history["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["target_mode"].as_str().unwrap(),
                m["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, [("sfu", "completed"), ("p2p", "completed")]);
    let mut late = Client::new(&srv, "late").await;
    assert_eq!(late.join(1).await.mode, Some(CallMode::P2p));
    late.expect_silence().await;
}
