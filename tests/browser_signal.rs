#![cfg(target_arch = "wasm32")]
//! Browser tests of the signalling transports, in real headless Chromium against the REAL
//! reference server (dev login over REST, voice:* over its WebSocket port): the built-in
//! `WsClient`: join, membership events, NotOpen instead of a silent drop, bad token, bad
//! frame, drop closes the socket. Reconnects are in browser_signal_reconnect.rs; the
//! app-facing pieces (`AppSocketTransport`, the JS `SignalingClient`) in browser_signal_app.rs.

use sohbet_rtc::error::JsErrorCode;
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::net::{ids, member, mute_msg, Member, WAIT_MS};
use common::{now_ms, sleep_ms, unique_channel_id, with_timeout, ws_url};
use sohbet_rtc::error::js_error_code;
use sohbet_rtc::signal::transport::ws_client::Phase;
use sohbet_rtc::signal::transport::{
    SignalTransport, SignalingClient, TransportError, TransportEvent, WsClient,
};
use sohbet_rtc::signal::{ChannelRef, Message};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen_test]
async fn built_in_client_joins_a_channel_and_receives_the_participant_list() {
    let me = member("solo").await;
    assert!(me.client.is_open());
    let channel = unique_channel_id();
    let list = me
        .join(channel)
        .await
        .expect("the joiner gets voice:participants");
    assert_eq!(list.channel_id, channel);
    assert!(
        list.participants.is_empty(),
        "self is never listed: {list:?}"
    );
    let remembered = me.client.remembered_join().map(|j| j.channel_id);
    assert_eq!(remembered, Some(channel), "the join is kept for a re-join");
}

#[wasm_bindgen_test]
async fn second_joiner_sees_the_first_and_the_first_hears_join_and_leave() {
    let (alice, bob) = (member("alice").await, member("bob").await);
    let channel = unique_channel_id();
    alice.join(channel).await.expect("alice joins");
    let list = bob.join(channel).await.expect("bob joins");
    assert_eq!(ids(&list), vec![alice.id()], "bob sees exactly alice");
    assert_eq!(list.participants[0].username, alice.user.username);

    let bob_id = bob.id();
    let (_, joined) = alice
        .log
        .wait_msg(
            "user-joined(bob)",
            0,
            |m| matches!(m, Message::UserJoined(j) if j.user.user_id == bob_id),
        )
        .await
        .expect("alice hears bob join");
    let Message::UserJoined(joined) = joined else {
        panic!("{joined:?}")
    };
    assert_eq!(joined.channel_id, channel);
    assert_eq!(joined.user.username, bob.user.username);

    let leave = Message::Leave(ChannelRef {
        channel_id: channel,
    });
    bob.client.send(&leave).expect("bob leaves");
    assert_eq!(
        bob.client.remembered_join(),
        None,
        "a leave forgets the join"
    );
    alice
        .log
        .wait_msg(
            "user-left(bob)",
            0,
            |m| matches!(m, Message::UserLeft(l) if l.user_id == bob_id && l.channel_id == channel),
        )
        .await
        .expect("alice hears bob leave");
}

#[wasm_bindgen_test]
async fn sending_while_not_connected_fails_with_not_open_instead_of_dropping() {
    let never = WsClient::new();
    assert_eq!(never.send(&mute_msg(1, true)), Err(TransportError::NotOpen));
    let js: JsValue = TransportError::NotOpen.into();
    assert_eq!(js_error_code(&js).as_deref(), Some("signal/not-open"));

    let me = member("closer").await;
    me.client.disconnect();
    assert!(!me.client.is_open());
    assert_eq!(
        me.client.send(&mute_msg(1, true)),
        Err(TransportError::NotOpen)
    );
    assert!(me
        .log
        .position(0, |e| *e == TransportEvent::Disconnected)
        .is_some());
    // disconnect() means "stay down": no reconnect attempt follows.
    sleep_ms(1_000).await;
    assert_eq!(me.client.phase(), Phase::Idle);
    assert_eq!(me.client.reconnect_count(), 0);

    let js_client = SignalingClient::new(ws_url().to_owned());
    let payload = JsValue::from_str("{\"channel_id\":1,\"muted\":true}");
    assert!(
        !js_client.send("voice:mute".into(), payload),
        "the JS API returns false"
    );
    assert!(!js_client.is_connected());
}

#[wasm_bindgen_test]
async fn a_bad_token_makes_connect_fail_instead_of_hanging() {
    // The same server accepts a valid token: the refusal below is about the token.
    let valid = member("valid").await;
    assert!(valid.client.is_open());
    let client = WsClient::new();
    let started = now_ms();
    let connect = client.connect(ws_url(), "not-a-jwt");
    let result = with_timeout("connect with a bad token", WAIT_MS, connect)
        .await
        .expect("connect must settle, not hang");
    let err = result.expect_err("a bad token must be refused");
    assert_eq!(err.code(), "signal/connect-failed", "{err}");
    assert!(client.last_error().is_some());
    assert_eq!(
        client.phase(),
        Phase::Idle,
        "a refused first attempt is not retried"
    );
    let took = now_ms() - started;
    web_sys::console::log_1(&format!("bad token refused after {took:.0} ms: {err}").into());

    let js_client = SignalingClient::new(ws_url().to_owned());
    let rejected = JsFuture::from(js_client.connect("not-a-jwt".into())).await;
    let js_err = rejected.expect_err("the JS promise rejects");
    assert_eq!(
        js_error_code(&js_err).as_deref(),
        Some("signal/connect-failed")
    );
}

#[wasm_bindgen_test]
async fn a_bad_frame_gets_voice_error_back_and_the_session_continues() {
    let (alice, bob) = (member("fuzzer").await, member("witness").await);
    let channel = unique_channel_id();
    alice.join(channel).await.expect("alice joins");
    bob.join(channel).await.expect("bob joins");

    let mark = alice.log.len();
    let truncated = "{\"type\":\"voice:mute\",\"payload\":{\"channel_id\":\"seven\"";
    alice
        .client
        .send_text(truncated)
        .expect("raw frame goes out");
    let is_error = |m: &Message| matches!(m, Message::Error(_));
    let (i, refusal) = alice
        .log
        .wait_msg("voice:error", mark, is_error)
        .await
        .expect("a bad frame is answered with voice:error");
    web_sys::console::log_1(&format!("server refused the frame: {refusal:?}").into());
    let unknown = "{\"type\":\"voice:teleport\",\"payload\":{}}";
    alice.client.send_text(unknown).expect("raw frame goes out");
    alice
        .log
        .wait_msg("second voice:error", i + 1, is_error)
        .await
        .expect("an unknown type is refused too");
    assert!(alice.client.is_open(), "the connection stays up");
    // Our own oversized frames never leave: the server's single read is 4096 bytes.
    let huge = Message::Error(sohbet_rtc::signal::ErrorReport {
        code: "x".into(),
        message: "y".repeat(5_000),
    });
    let refused = alice
        .client
        .send(&huge)
        .expect_err("a 5 KB frame is refused");
    assert_eq!(refused.code(), "signal/frame-too-large");

    alice
        .client
        .send(&mute_msg(channel, true))
        .expect("a later mute is sent");
    let alice_id = alice.id();
    bob.log
        .wait_msg(
            "user-muted(alice)",
            0,
            |m| matches!(m, Message::UserMuted(u) if u.user_id == alice_id && u.muted),
        )
        .await
        .expect("the later mute is still broadcast");
}

#[wasm_bindgen_test]
async fn dropping_the_client_closes_its_socket_so_the_room_sees_the_user_leave() {
    let (carol, dave) = (member("carol").await, member("dave").await);
    let channel = unique_channel_id();
    carol.join(channel).await.expect("carol joins");
    dave.join(channel).await.expect("dave joins");
    let Member { user, client, log } = carol;
    assert_eq!(client.subscriber_count(), 1);
    drop(log);
    assert_eq!(
        client.subscriber_count(),
        0,
        "dropping the log unsubscribes"
    );
    drop(client);
    dave.log
        .wait_msg(
            "user-left(carol)",
            0,
            |m| matches!(m, Message::UserLeft(l) if l.user_id == user.id),
        )
        .await
        .expect("dropping the last handle closes the socket");
}

#[wasm_bindgen_test]
async fn a_connect_pending_at_disconnect_or_drop_fails_with_closed() {
    // The socket is created at once but opens (or fails) later: each connect below is pending
    // when the client hangs up or goes away.
    let client = WsClient::new();
    let pending = client.connect(ws_url(), "any-token");
    client.disconnect();
    let result = with_timeout("connect after disconnect()", WAIT_MS, pending).await;
    assert_eq!(result, Ok(Err(TransportError::Closed)));

    let client = WsClient::new();
    let pending = client.connect(ws_url(), "any-token");
    drop(client);
    let result = with_timeout("connect after the drop", WAIT_MS, pending).await;
    assert_eq!(result, Ok(Err(TransportError::Closed)));

    let js_client = SignalingClient::new(ws_url().to_owned());
    let promise = js_client.connect("any-token".into());
    js_client.disconnect();
    let rejected = JsFuture::from(promise)
        .await
        .expect_err("the JS promise rejects");
    assert_eq!(js_error_code(&rejected).as_deref(), Some("signal/closed"));
}
