//! Frames the reference server refuses: relays to or from non-members (ice candidates too),
//! a forged `from_user_id`, out-of-range ids, oversized, malformed, unknown, server-only and
//! binary frames, and mute from a non-member. Each gets `voice:error {code, message}` on the
//! sender's socket, nothing reaches anyone else, and the same socket keeps working (proved
//! by a successful message right after).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::*;
use serde_json::json;
use sohbet_rtc::signal::Message;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A and B in channel 10, C connected but not in voice.
async fn room() -> (sohbet_server::RunningServer, Client, Client, Client) {
    let srv = start_server().await;
    let mut a = Client::new(&srv, "a").await;
    let mut b = Client::new(&srv, "b").await;
    let c = Client::new(&srv, "c").await;
    a.join(10).await;
    b.join(10).await;
    a.expect("voice:user-joined").await;
    (srv, a, b, c)
}

/// Proves A's socket still works: an offer to B is relayed.
async fn a_can_still_offer_to_b(a: &mut Client, b: &mut Client) {
    a.send_json(offer(10, a.id(), b.id())).await;
    b.expect("voice:offer").await;
}

#[tokio::test]
async fn relay_to_a_user_outside_the_channel_is_refused_offer_and_candidate() {
    let (_srv, mut a, mut b, mut c) = room().await;
    a.send_json(offer(10, a.id(), c.id())).await;
    a.expect_error("target-not-in-channel").await;
    a.send_json(candidate(10, a.id(), c.id())).await;
    a.expect_error("target-not-in-channel").await;
    c.expect_silence().await;
    a_can_still_offer_to_b(&mut a, &mut b).await;
}

#[tokio::test]
async fn relay_from_a_user_outside_the_channel_is_refused_offer_and_candidate() {
    let (_srv, mut a, mut b, mut c) = room().await;
    c.send_json(offer(10, c.id(), a.id())).await;
    c.expect_error("not-a-member").await;
    c.send_json(candidate(10, c.id(), a.id())).await;
    c.expect_error("not-a-member").await;
    a.expect_silence().await;
    // C's socket still works: it can join and is then announced to A and B.
    let seen = c.join(10).await;
    assert_eq!(seen.participants.len(), 2);
    a.expect("voice:user-joined").await;
    b.expect("voice:user-joined").await;
}

#[tokio::test]
async fn forged_from_user_id_is_refused() {
    let (_srv, mut a, mut b, _c) = room().await;
    let forged = offer(10, b.id(), b.id());
    a.send_json(forged).await;
    a.expect_error("wrong-sender").await;
    a.send_json(candidate(10, b.id(), b.id())).await;
    a.expect_error("wrong-sender").await;
    b.expect_silence().await;
    a_can_still_offer_to_b(&mut a, &mut b).await;
}

#[tokio::test]
async fn out_of_range_ids_are_refused_as_bad_id() {
    let (_srv, mut a, mut b, _c) = room().await;
    for channel in [0u64, 1_000_001] {
        a.send_json(json!({"type": "voice:join", "payload": {"channel_id": channel}}))
            .await;
        a.expect_error("bad-id").await;
    }
    a.send_json(offer(10, a.id(), 100_000_001)).await;
    a.expect_error("bad-id").await;
    a.send_json(offer(10, a.id(), 0)).await;
    a.expect_error("bad-id").await;
    a.mute(1_000_001, true).await;
    a.expect_error("bad-id").await;
    // Negative, fractional and huge numbers are out of range too, not merely malformed.
    a.send_text(r#"{"type":"voice:join","payload":{"channel_id":-5}}"#)
        .await;
    a.expect_error("bad-id").await;
    let huge = offer(10, a.id(), b.id()).to_string().replace(
        &format!(r#""target_user_id":{}"#, b.id()),
        r#""target_user_id":1e30"#,
    );
    a.send_text(huge).await;
    a.expect_error("bad-id").await;
    b.expect_silence().await;
    a_can_still_offer_to_b(&mut a, &mut b).await;
}

#[tokio::test]
async fn frame_over_4096_bytes_is_refused() {
    let (_srv, mut a, mut b, _c) = room().await;
    let mut big = offer(10, a.id(), b.id());
    big["payload"]["offer"]["sdp"] = json!("a".repeat(5000));
    a.send_json(big).await;
    let message = a.expect_error("frame-too-large").await;
    assert!(message.contains("4096"), "{message}");
    b.expect_silence().await;
    a_can_still_offer_to_b(&mut a, &mut b).await;
}

#[tokio::test]
async fn malformed_json_and_missing_fields_are_refused() {
    let (_srv, mut a, mut b, _c) = room().await;
    for bad in [
        "this is not json",
        r#"{"type":"voice:offer","payload":"#,
        r#"{"payload":{"channel_id":10}}"#,
        r#"{"type":"voice:join","payload":{"channel_id":"ten"}}"#,
        r#"{"type":"voice:offer","payload":{"channel_id":10}}"#,
    ] {
        a.send_text(bad).await;
        a.expect_error("malformed").await;
    }
    b.expect_silence().await;
    a_can_still_offer_to_b(&mut a, &mut b).await;
}

#[tokio::test]
async fn unknown_and_server_only_types_are_refused() {
    let (_srv, mut a, mut b, _c) = room().await;
    a.send_json(json!({"type": "voice:dance", "payload": {"channel_id": 10}}))
        .await;
    a.expect_error("unknown-type").await;
    a.send_json(
        json!({"type": "voice:user-left", "payload": {"channel_id": 10, "user_id": b.id()}}),
    )
    .await;
    a.expect_error("unexpected-type").await;
    b.expect_silence().await;
    a_can_still_offer_to_b(&mut a, &mut b).await;
}

#[tokio::test]
async fn binary_frames_are_refused() {
    let (_srv, mut a, mut b, _c) = room().await;
    let bytes = offer(10, a.id(), b.id()).to_string().into_bytes();
    a.send_frame(WsMessage::Binary(bytes.into())).await;
    a.expect_error("binary-frame").await;
    b.expect_silence().await;
    a_can_still_offer_to_b(&mut a, &mut b).await;
}

#[tokio::test]
async fn mute_and_leave_from_a_non_member_are_refused() {
    let (_srv, mut a, _b, mut c) = room().await;
    c.mute(10, true).await;
    c.expect_error("not-a-member").await;
    c.leave(10).await;
    c.expect_error("not-a-member").await;
    a.expect_silence().await;
    a.mute(10, true).await;
    c.expect_silence().await; // a non-member gets no room broadcasts
    match a.expect("voice:user-muted").await {
        Message::UserMuted(m) => assert!(m.muted),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn coalesced_frames_and_the_cpp_trailing_brace_are_all_handled() {
    let (_srv, mut a, mut b, _c) = room().await;
    // Two envelopes in one frame plus a stray `}` (the C++ relay quirk): both are processed.
    let text = format!(
        "{}{}}}",
        offer(10, a.id(), b.id()),
        candidate(10, a.id(), b.id())
    );
    a.send_text(text).await;
    b.expect("voice:offer").await;
    b.expect("voice:ice-candidate").await;
    a.expect_silence().await;
}
