//! Capabilities (compat-spec H9) and stability of server-driven migration, over real
//! sockets: voice:participants and voice:user-joined entries say which members are new clients
//! (`supports_sfu`); a member without `supports_sfu` keeps the channel P2P at 8 and makes it say
//! voice:degraded-mode above 10 (once per crossing); a legacy member joining an SFU channel
//! migrates it back to P2P; flapping between 7 and 8 members twenty times starts at most
//! one migration per cool-down window.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;
use sohbet_rtc::signal::{CallMode, Message};

#[tokio::test]
async fn entries_tell_new_clients_from_old_ones_so_members_know_who_offers_first() {
    let srv = start_server().await;
    let mut legacy = Client::new(&srv, "legacy").await;
    legacy.join_legacy(3).await;
    let mut modern = Client::new(&srv, "modern").await;
    let listed = modern.join(3).await.participants;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].supports_sfu, Some(false), "the legacy member");
    match legacy.expect("voice:user-joined").await {
        Message::UserJoined(u) => assert_eq!(u.user.supports_sfu, Some(true), "the new joiner"),
        other => panic!("{other:?}"),
    }
    let mut late = Client::new(&srv, "late").await;
    let listed = late.join_legacy(3).await.participants;
    let flags: Vec<_> = listed.iter().map(|e| (e.user_id, e.supports_sfu)).collect();
    assert_eq!(
        flags,
        vec![(legacy.user.id, Some(false)), (modern.user.id, Some(true))]
    );
    match modern.expect("voice:user-joined").await {
        Message::UserJoined(u) => assert_eq!(u.user.supports_sfu, Some(false), "an old joiner"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_legacy_member_keeps_the_channel_p2p_at_eight_and_degraded_above_ten() {
    let (srv, _sfu) = start_with_sfu(|_| {}).await;
    let mut legacy = Client::new(&srv, "legacy").await;
    legacy.join_legacy(1).await;
    let mut clients = join_many(&srv, 1, 8).await;
    for _ in 0..8 {
        legacy.expect("voice:user-joined").await;
    }
    let mut tenth = Client::new(&srv, "tenth").await;
    assert_eq!(tenth.join(1).await.mode, Some(CallMode::P2p));
    legacy.expect("voice:user-joined").await;
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        c.expect_silence().await;
    }
    assert_eq!(channel(&srv, 1).await["mode"], "p2p");
    clients.push(tenth);
    clients.push(legacy);

    // The eleventh member crosses the P2P limit: everyone, joiner included, is told once.
    let mut eleventh = Client::new(&srv, "eleventh").await;
    assert_eq!(eleventh.join(1).await.mode, Some(CallMode::P2p));
    let degraded = match eleventh.expect("voice:degraded-mode").await {
        Message::DegradedMode(d) => d,
        other => panic!("{other:?}"),
    };
    assert_eq!(degraded.max_participants, 10);
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        c.expect("voice:degraded-mode").await;
    }
    // A twelfth is told on joining; the others are not told again.
    let mut twelfth = Client::new(&srv, "twelfth").await;
    twelfth.join(1).await;
    twelfth.expect("voice:degraded-mode").await;
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        c.expect_silence().await;
    }
    assert!(migrations(&srv, 1).await["migrations"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_legacy_joiner_of_an_sfu_channel_migrates_it_back_to_p2p() {
    let (srv, _sfu) = start_with_sfu(|cfg| cfg.policy.cooldown_ms = 60_000).await;
    let mut clients = join_many(&srv, 2, 8).await;
    for c in clients.iter_mut() {
        c.expect_mode_change().await;
        c.ack(2, true, None).await;
    }
    wait_for(&srv, "/api/voice/channels/2", |v| v["mode"] == "sfu").await;
    let mut legacy = Client::new(&srv, "legacy").await;
    assert_eq!(
        legacy.join_legacy(2).await.mode,
        Some(CallMode::P2p),
        "legacy told p2p"
    );
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        let change = c.expect_mode_change().await;
        assert_eq!(change.new_mode, CallMode::P2p);
        c.ack(2, true, None).await;
    }
    legacy.expect_silence().await;
    wait_for(&srv, "/api/voice/channels/2", |v| v["mode"] == "p2p").await;
    let history = migrations(&srv, 2).await;
    assert_eq!(history["migrations"][1]["target_mode"], "p2p");
    assert_eq!(history["migrations"][1]["outcome"], "completed");
}

#[tokio::test]
async fn flapping_between_seven_and_eight_starts_at_most_one_migration_per_cool_down() {
    const COOLDOWN_MS: u64 = 700;
    let (srv, _sfu) = start_with_sfu(|_| {}).await;
    // Tight thresholds (up at 8, down at 7) so that every flap would want a switch.
    let operator = login(&srv, "operator").await;
    let res = http()
        .put(format!("{}/api/voice/channels/3/strategy", srv.http_url()))
        .bearer_auth(&operator.token)
        .json(
            &json!({"sfu_up_at": 8, "p2p_down_at": 7, "prewarm_at": 8, "cooldown_ms": COOLDOWN_MS}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let _members = join_many(&srv, 3, 7).await;
    let mut flapper = Client::new(&srv, "flapper").await;
    let started = Instant::now();
    let join = json!({"type": "voice:join", "payload": {"channel_id": 3, "supports_sfu": true}});
    for _ in 0..20 {
        // What the flapper is sent is not read here; only the server's record matters.
        flapper.send_json(join.clone()).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
        flapper.leave(3).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let elapsed_ms = started.elapsed().as_millis() as u64;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let history = migrations(&srv, 3).await;
    let mut starts: Vec<u64> = history["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["started_at_ms"].as_u64().unwrap())
        .collect();
    if let Some(live) = history["migration"]["started_at_ms"].as_u64() {
        starts.push(live);
    }
    assert!(
        starts.len() >= 2,
        "thresholds this tight flip again after a cool-down: {starts:?}"
    );
    assert!(
        starts.len() as u64 <= elapsed_ms / COOLDOWN_MS + 1,
        "{} migrations in {elapsed_ms} ms",
        starts.len()
    );
    for pair in starts.windows(2) {
        assert!(
            pair[1] - pair[0] >= COOLDOWN_MS,
            "two migrations within a cool-down: {starts:?}"
        );
    }
}
