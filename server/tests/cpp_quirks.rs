//! The server's C++-compatible mode (`cpp_quirks`, issue 16): what the deployed C++ server
//! does to clients, reproduced so the browser suites can run against it. Frames coalesced
//! into one read are lost except the first, relays carry the extra trailing `}`,
//! voice:participants has no state or mode, and nobody is offered the hybrid.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use sohbet_rtc::signal::{decode_frame, Decoded, Message};

async fn quirky_server() -> sohbet_server::RunningServer {
    start_with(|cfg| cfg.cpp_quirks = true).await
}

/// Two old-style members of `channel`, the first told of the second.
async fn two_members(srv: &sohbet_server::RunningServer, channel: u64) -> (Client, Client) {
    let mut a = Client::new(srv, "alice").await;
    let mut b = Client::new(srv, "bob").await;
    a.join_legacy(channel).await;
    b.join_legacy(channel).await;
    a.expect("voice:user-joined").await;
    (a, b)
}

fn candidate_text(channel: u64, from: u64, to: u64, n: u32) -> String {
    json!({"type": "voice:ice-candidate", "payload": {
        "channel_id": channel, "target_user_id": to, "from_user_id": from,
        "candidate": {"candidate": format!("candidate:{n} 1 udp 1 127.0.0.1 5000{n} typ host"),
                      "sdpMid": "0", "sdpMLineIndex": 0}}})
    .to_string()
}

#[tokio::test]
async fn coalesced_frames_are_lost_but_the_first_and_spaced_frames_all_arrive() {
    let srv = quirky_server().await;
    let (mut a, mut b) = two_members(&srv, 7).await;
    let (ai, bi) = (a.id(), b.id());

    let burst: Vec<String> = (1..=3).map(|n| candidate_text(7, ai, bi, n)).collect();
    a.send_coalesced(&burst).await;
    let first = b.recv_text().await;
    assert!(first.contains("candidate:1 "), "{first}");
    b.expect_silence().await;

    for n in 4..=6 {
        a.send_text(candidate_text(7, ai, bi, n)).await;
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    for n in 4..=6 {
        let text = b.recv_text().await;
        assert!(text.contains(&format!("candidate:{n} ")), "{text}");
    }
}

#[tokio::test]
async fn relays_carry_the_trailing_brace_that_the_codec_tolerates() {
    let srv = quirky_server().await;
    let (mut a, mut b) = two_members(&srv, 3).await;
    a.send_json(offer(3, a.id(), b.id())).await;
    let text = b.recv_text().await;
    assert!(text.ends_with("}}}"), "{text}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "not valid JSON"
    );
    let decoded = decode_frame(&text);
    assert!(
        matches!(decoded.as_slice(), [Ok(Decoded::Voice(Message::Offer(_)))]),
        "{decoded:?}"
    );
}

#[tokio::test]
async fn participants_carry_no_state_and_nobody_is_offered_the_sfu() {
    let srv = quirky_server().await;
    let mut a = Client::new(&srv, "alice").await;
    a.join(9).await;
    a.mute(9, true).await;
    let echo = a.expect("voice:user-muted").await;
    assert!(
        matches!(echo, Message::UserMuted(m) if m.muted),
        "the C++ server echoes mute"
    );

    let mut b = Client::new(&srv, "bob").await;
    b.send_json(json!({"type": "voice:join", "payload": {"channel_id": 9, "supports_sfu": true}}))
        .await;
    let text = b.recv_text().await;
    assert!(text.contains("\"voice:participants\""), "{text}");
    for absent in [
        "\"muted\"",
        "\"video_enabled\"",
        "\"mode\"",
        "\"supports_sfu\"",
    ] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
    // Nor does voice:user-joined say whether the joiner is a new client.
    let joined = a.recv_text().await;
    assert!(joined.contains("\"voice:user-joined\""), "{joined}");
    assert!(!joined.contains("supports_sfu"), "{joined}");
    // No replay of alice's mute as an event: a newcomer sees everyone unmuted.
    b.expect_silence().await;
}

#[tokio::test]
async fn eight_hybrid_clients_stay_on_the_mesh_as_on_the_cpp_server() {
    let srv = quirky_server().await;
    let mut clients = Vec::new();
    for i in 0..8 {
        let mut c = Client::new(&srv, &format!("u{i}")).await;
        c.join(11).await;
        clients.push(c);
    }
    for c in &mut clients {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(600);
        while let Ok(text) = tokio::time::timeout_at(deadline, c.recv_text()).await {
            assert!(!text.contains("voice:mode-change"), "{text}");
        }
    }
}
