//! Mode advertisement driven by the pure ModePolicy inside the real server: with a zero
//! cool-down a channel advertises `sfu` once 8 members are live and `p2p` again at 5, with
//! hysteresis in between (in voice:participants `mode` and in the channel REST JSON); no
//! voice:mode-change is sent by default; with SOHBET_SEND_MODE_CHANGE on, every member gets
//! one, carrying their own LiveKit token; a switch blocked by a cool-down happens on a tick.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::time::{Duration, Instant};

use common::*;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sohbet_rtc::signal::{CallMode, Message};
use sohbet_server::RunningServer;

async fn rest_mode(srv: &RunningServer, channel: u64) -> (String, u64) {
    let v: Value = http()
        .get(format!("{}/api/voice/channels/{channel}", srv.http_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        v["mode"].as_str().unwrap_or_default().to_owned(),
        v["participants"].as_u64().unwrap_or(0),
    )
}

/// Joins `n` new clients to `channel`; returns them and the mode each joiner was told.
async fn join_many(
    srv: &RunningServer,
    channel: u64,
    n: usize,
) -> (Vec<Client>, Vec<Option<CallMode>>) {
    let mut clients: Vec<Client> = Vec::new();
    let mut modes = Vec::new();
    for i in 0..n {
        let mut c = Client::new(srv, &format!("user{i}")).await;
        modes.push(c.join(channel).await.mode);
        for earlier in clients.iter_mut() {
            earlier.expect("voice:user-joined").await;
        }
        clients.push(c);
    }
    (clients, modes)
}

#[tokio::test]
async fn channel_switches_to_sfu_at_eight_members_and_back_to_p2p_at_five() {
    let srv = start_server().await;
    let (mut clients, modes) = join_many(&srv, 1, 8).await;
    let p2p = Some(CallMode::P2p);
    assert_eq!(&modes[..7], &[p2p; 7], "one to seven members: p2p");
    assert_eq!(
        modes[7],
        Some(CallMode::Sfu),
        "the eighth joiner is told sfu"
    );
    assert_eq!(rest_mode(&srv, 1).await, ("sfu".to_owned(), 8));

    // 8 → 7 → 6: hysteresis keeps the SFU.
    for _ in 0..2 {
        clients.pop().unwrap().leave(1).await;
        for c in clients.iter_mut() {
            c.expect("voice:user-left").await;
        }
    }
    assert_eq!(rest_mode(&srv, 1).await, ("sfu".to_owned(), 6));
    // 6 → 5: back to P2P.
    clients.pop().unwrap().leave(1).await;
    for c in clients.iter_mut() {
        c.expect("voice:user-left").await;
    }
    assert_eq!(rest_mode(&srv, 1).await, ("p2p".to_owned(), 5));
    // A newcomer making six sees p2p (hysteresis on the way up too), and no member ever got
    // a voice:mode-change (off by default).
    let mut late = Client::new(&srv, "late").await;
    assert_eq!(late.join(1).await.mode, Some(CallMode::P2p));
    for c in clients.iter_mut() {
        c.expect("voice:user-joined").await;
        c.expect_silence().await;
    }
}

fn livekit_claims(token: &str) -> Value {
    let validation = Validation::new(Algorithm::HS256);
    decode::<Value>(token, &DecodingKey::from_secret(b"secret"), &validation)
        .expect("mode-change token verifies with the LiveKit dev secret")
        .claims
}

#[tokio::test]
async fn with_mode_change_enabled_every_member_gets_its_own_sfu_token() {
    let srv = start_with(|cfg| cfg.send_mode_change = true).await;
    let (mut clients, _) = join_many(&srv, 2, 7).await;
    let mut eighth = Client::new(&srv, "eighth").await;
    // The joiner first gets its participants list (already saying sfu), then the change.
    assert_eq!(eighth.join(2).await.mode, Some(CallMode::Sfu));
    clients.push(eighth);
    let last = clients.len() - 1;
    for (i, c) in clients.iter_mut().enumerate() {
        if i < last {
            c.expect("voice:user-joined").await;
        }
        let change = match c.expect("voice:mode-change").await {
            Message::ModeChange(m) => m,
            other => panic!("member {i}: {other:?}"),
        };
        assert_eq!((change.channel_id, change.new_mode), (2, CallMode::Sfu));
        assert_eq!(change.sfu_url.as_deref(), Some("ws://127.0.0.1:7880"));
        let claims = livekit_claims(change.sfu_token.as_deref().expect("token"));
        assert_eq!(
            claims["sub"],
            c.id().to_string(),
            "token is the member's own"
        );
        assert_eq!(claims["video"]["room"], "channel_2");
    }

    // Down to five: every remaining member is told p2p, without a token.
    for _ in 0..3 {
        clients.pop().unwrap().leave(2).await;
        for c in clients.iter_mut() {
            c.expect("voice:user-left").await;
        }
    }
    for c in clients.iter_mut() {
        match c.expect("voice:mode-change").await {
            Message::ModeChange(m) => {
                assert_eq!(m.new_mode, CallMode::P2p);
                assert!(m.sfu_token.is_none());
            }
            other => panic!("{other:?}"),
        }
        c.send_json(serde_json::json!({"type": "voice:mode-change-ack",
            "payload": {"channel_id": 2, "user_id": c.id(), "success": true}}))
            .await;
        c.expect_silence().await;
    }
    let metrics = metrics_text(&srv).await;
    assert!(
        metrics.contains("voice_mode_change_acks_total{success=\"true\"} 5"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_switch_blocked_by_the_cool_down_happens_on_a_later_tick() {
    let srv = start_with(|cfg| cfg.policy.cooldown_ms = 3000).await;
    let (mut clients, modes) = join_many(&srv, 3, 8).await;
    assert_eq!(modes[7], Some(CallMode::Sfu));
    for _ in 0..3 {
        clients.pop().unwrap().leave(3).await;
        for c in clients.iter_mut() {
            c.expect("voice:user-left").await;
        }
    }
    // Five members, but the switch to sfu was under 3 s ago: the cool-down holds it...
    assert_eq!(rest_mode(&srv, 3).await, ("sfu".to_owned(), 5));
    // ...and once the cool-down has passed, the ticker moves the channel to p2p.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (mode, count) = rest_mode(&srv, 3).await;
        assert_eq!(count, 5);
        if mode == "p2p" {
            break;
        }
        assert!(Instant::now() < deadline, "channel never returned to p2p");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_member_reporting_sfu_failure_sends_the_channel_back_to_p2p() {
    let srv = start_with(|cfg| cfg.policy.cooldown_ms = 3000).await;
    let (clients, modes) = join_many(&srv, 1, 8).await;
    assert_eq!(modes[7], Some(CallMode::Sfu));
    let outsider = login(&srv, "outsider").await;
    let report = |token: String, url: String, body: Value| async move {
        http()
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let url = format!("{}/api/voice/channels/1/sfu-failed", srv.http_url());
    let refused = report(
        outsider.token.clone(),
        url.clone(),
        serde_json::json!({"error": "x"}),
    )
    .await;
    assert_eq!(refused.status(), 403, "only live members may report");
    assert_eq!(rest_mode(&srv, 1).await.0, "sfu");

    let ok = report(
        clients[0].user.token.clone(),
        url,
        serde_json::json!({"error": "ice failed"}),
    )
    .await;
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.json::<Value>().await.unwrap()["mode"], "p2p");
    assert_eq!(rest_mode(&srv, 1).await, ("p2p".to_owned(), 8));

    // The v2 doc's shape is accepted as well.
    let v2 = report(
        clients[1].user.token.clone(),
        format!("{}/api/voice/migration-failed", srv.http_url()),
        serde_json::json!({"channel_id": 1, "error": "timeout", "rollback_completed": true}),
    )
    .await;
    assert_eq!(v2.status(), 200);
}
