#![cfg(target_arch = "wasm32")]
//! Browser tests of the signalling transports, in real headless Chromium against the REAL
//! reference server (dev login over REST, voice:* over its WebSocket port): the built-in
//! `WsClient` (join, membership events, NotOpen instead of a silent drop, bad token, bad
//! frame, reconnect with automatic re-join) and the `AppSocketTransport` adapter over a
//! `websocketService`-shaped JS object (our `SignalingClient` behind a counting proxy).

use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::net::{dev_login, drop_connections, DevUser, EventLog};
use common::{now_ms, sleep_ms, unique_channel_id, unique_name, with_timeout, ws_url};
use sohbet_rtc::error::js_error_code;
use sohbet_rtc::signal::transport::ws_client::Phase;
use sohbet_rtc::signal::transport::{
    AppSocketTransport, SignalTransport, SignalingClient, TransportError, TransportEvent, WsClient,
};
use sohbet_rtc::signal::{ChannelRef, Join, Message, Mute};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const WAIT_MS: u32 = 8_000;

fn join(channel_id: u64) -> Message {
    Message::Join(Join {
        channel_id,
        supports_sfu: Some(true),
        client_version: None,
    })
}

fn is_msg(pred: impl Fn(&Message) -> bool) -> impl Fn(&TransportEvent) -> bool {
    move |e| matches!(e, TransportEvent::Message(m) if pred(m))
}

/// Logs a fresh user in and connects a built-in client for it.
async fn connected_user(prefix: &str) -> (DevUser, WsClient, EventLog) {
    let user = dev_login(&unique_name(prefix)).await.expect("dev login");
    let client = WsClient::new();
    let log = EventLog::attach(&client);
    with_timeout("connect", WAIT_MS, client.connect(ws_url(), &user.token))
        .await
        .expect("connect must not hang")
        .expect("connect with a valid token");
    assert!(client.is_open());
    (user, client, log)
}

#[wasm_bindgen_test]
async fn built_in_client_joins_a_channel_and_receives_the_participant_list() {
    let (_me, client, log) = connected_user("solo").await;
    let channel = unique_channel_id();
    client.send(&join(channel)).expect("join is sent");
    let (_, got) = log
        .wait_for("voice:participants", 0, WAIT_MS, |e| {
            matches!(e, TransportEvent::Message(Message::Participants(_)))
        })
        .await
        .expect("the joiner gets voice:participants");
    let TransportEvent::Message(Message::Participants(p)) = got.event else {
        unreachable!()
    };
    assert_eq!(p.channel_id, channel);
    assert!(p.participants.is_empty(), "self is never listed: {p:?}");
    assert_eq!(
        client.remembered_join().map(|j| j.channel_id),
        Some(channel)
    );
}

#[wasm_bindgen_test]
async fn second_joiner_sees_the_first_and_the_first_hears_join_and_leave() {
    let (alice, a, a_log) = connected_user("alice").await;
    let (bob, b, b_log) = connected_user("bob").await;
    let channel = unique_channel_id();
    a.send(&join(channel)).expect("alice joins");
    a_log
        .wait_for(
            "alice's participants",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Participants(_))),
        )
        .await
        .expect("alice joined");
    b.send(&join(channel)).expect("bob joins");

    let (_, got) = b_log
        .wait_for(
            "bob's participants",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Participants(_))),
        )
        .await
        .expect("bob gets the participant list");
    let TransportEvent::Message(Message::Participants(list)) = got.event else {
        unreachable!()
    };
    let ids: Vec<u64> = list.participants.iter().map(|p| p.user_id).collect();
    assert_eq!(ids, vec![alice.id], "bob sees exactly alice");
    assert_eq!(list.participants[0].username, alice.username);

    let (_, got) = a_log
        .wait_for(
            "user-joined(bob)",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::UserJoined(j) if j.user.user_id == bob.id)),
        )
        .await
        .expect("alice hears bob join");
    let TransportEvent::Message(Message::UserJoined(j)) = got.event else {
        unreachable!()
    };
    assert_eq!(
        (j.channel_id, j.user.username.as_str()),
        (channel, bob.username.as_str())
    );

    b.send(&Message::Leave(ChannelRef {
        channel_id: channel,
    }))
    .expect("bob leaves");
    assert_eq!(b.remembered_join(), None, "a leave forgets the join");
    a_log
        .wait_for("user-left(bob)", 0, WAIT_MS, is_msg(|m| {
            matches!(m, Message::UserLeft(l) if l.user_id == bob.id && l.channel_id == channel)
        }))
        .await
        .expect("alice hears bob leave");
}

#[wasm_bindgen_test]
async fn sending_while_not_connected_fails_with_not_open_instead_of_dropping() {
    let never = WsClient::new();
    let mute = Message::Mute(Mute {
        channel_id: 1,
        muted: true,
    });
    assert_eq!(never.send(&mute), Err(TransportError::NotOpen));
    let js: JsValue = TransportError::NotOpen.into();
    assert_eq!(js_error_code(&js).as_deref(), Some("signal/not-open"));

    let (_me, client, log) = connected_user("closer").await;
    client.disconnect();
    assert!(!client.is_open());
    assert_eq!(client.send(&mute), Err(TransportError::NotOpen));
    assert!(log
        .position(0, |e| *e == TransportEvent::Disconnected)
        .is_some());
    // disconnect() means "stay down": no reconnect attempt follows.
    sleep_ms(1_000).await;
    assert_eq!((client.phase(), client.reconnect_count()), (Phase::Idle, 0));

    let js_client = SignalingClient::new(ws_url().to_owned());
    assert!(!js_client.send("voice:mute".into(), JsValue::from_str("{\"channel_id\":1}")));
    assert!(!js_client.is_connected());
}

#[wasm_bindgen_test]
async fn a_bad_token_makes_connect_fail_instead_of_hanging() {
    let client = WsClient::new();
    let started = now_ms();
    let result = with_timeout(
        "connect with a bad token",
        WAIT_MS,
        client.connect(ws_url(), "not-a-jwt"),
    )
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
    web_sys::console::log_1(
        &format!(
            "bad token refused after {:.0} ms: {err}",
            now_ms() - started
        )
        .into(),
    );

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
    let (alice, a, a_log) = connected_user("fuzzer").await;
    let (_bob, b, b_log) = connected_user("witness").await;
    let channel = unique_channel_id();
    for (c, l) in [(&a, &a_log), (&b, &b_log)] {
        c.send(&join(channel)).expect("join");
        l.wait_for(
            "participants",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Participants(_))),
        )
        .await
        .expect("joined");
    }
    let mark = a_log.len();
    a.send_text("{\"type\":\"voice:mute\",\"payload\":{\"channel_id\":\"seven\"")
        .expect("raw frame goes out");
    a.send_text("{\"type\":\"voice:teleport\",\"payload\":{}}")
        .expect("raw frame goes out");
    let (i, got) = a_log
        .wait_for(
            "voice:error",
            mark,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Error(_))),
        )
        .await
        .expect("a bad frame is answered with voice:error");
    web_sys::console::log_1(&format!("server refused the frame: {:?}", got.event).into());
    a_log
        .wait_for(
            "second voice:error",
            i + 1,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Error(_))),
        )
        .await
        .expect("the unknown type is refused too");
    assert!(a.is_open(), "the connection stays up");

    a.send(&Message::Mute(Mute {
        channel_id: channel,
        muted: true,
    }))
    .expect("a later mute is sent");
    b_log
        .wait_for(
            "user-muted(alice)",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::UserMuted(u) if u.user_id == alice.id && u.muted)),
        )
        .await
        .expect("the later mute is still broadcast");
}

#[wasm_bindgen_test]
async fn a_dropped_connection_reconnects_and_rejoins_by_itself() {
    let (alice, a, a_log) = connected_user("flaky").await;
    let (bob, b, b_log) = connected_user("steady").await;
    let channel = unique_channel_id();
    for (c, l) in [(&a, &a_log), (&b, &b_log)] {
        c.send(&join(channel)).expect("join");
        l.wait_for(
            "participants",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Participants(_))),
        )
        .await
        .expect("joined");
    }
    let (a_mark, b_mark) = (a_log.len(), b_log.len());
    let t0 = now_ms();
    let dropped = drop_connections(alice.id).await.expect("drop-connections");
    assert_eq!(dropped, 1, "alice had one socket");

    let (left_at, _) = b_log
        .wait_for(
            "user-left(alice)",
            b_mark,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::UserLeft(l) if l.user_id == alice.id)),
        )
        .await
        .expect("bob sees alice leave when her socket dies");
    let (_, rejoined) = b_log
        .wait_for(
            "user-joined(alice) again",
            left_at + 1,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::UserJoined(j) if j.user.user_id == alice.id)),
        )
        .await
        .expect("bob sees alice join again, after the leave");

    let (d, _) = a_log
        .wait_for("Disconnected", a_mark, WAIT_MS, |e| {
            *e == TransportEvent::Disconnected
        })
        .await
        .expect("alice's client notices the drop");
    let (r, reconnected) = a_log
        .wait_for("Reconnected", d, WAIT_MS, |e| {
            *e == TransportEvent::Reconnected
        })
        .await
        .expect("alice's client reconnects by itself");
    let (_, resync) = a_log
        .wait_for(
            "participants after rejoin",
            r,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Participants(_))),
        )
        .await
        .expect("the automatic re-join brings a fresh participant list");
    let TransportEvent::Message(Message::Participants(p)) = &resync.event else {
        unreachable!()
    };
    assert_eq!(
        p.participants.iter().map(|e| e.user_id).collect::<Vec<_>>(),
        vec![bob.id]
    );
    assert_eq!(a.reconnect_count(), 1);
    assert!(a.is_open());

    let reconnect_ms = reconnected.at_ms - t0;
    let visible_ms = rejoined.at_ms - t0;
    web_sys::console::log_1(&format!(
        "BENCH signal_reconnect_ms={reconnect_ms:.0}\nBENCH signal_rejoin_seen_by_peer_ms={visible_ms:.0}"
    ).into());
}

#[wasm_bindgen_test]
async fn dropping_the_client_closes_its_socket_so_the_room_sees_the_user_leave() {
    let (carol, c, c_log) = connected_user("carol").await;
    let (_dave, d, d_log) = connected_user("dave").await;
    let channel = unique_channel_id();
    for (cl, l) in [(&c, &c_log), (&d, &d_log)] {
        cl.send(&join(channel)).expect("join");
        l.wait_for(
            "participants",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Participants(_))),
        )
        .await
        .expect("joined");
    }
    assert_eq!(c.subscriber_count(), 1);
    drop(c_log);
    assert_eq!(c.subscriber_count(), 0, "dropping the log unsubscribes");
    drop(c);
    d_log
        .wait_for(
            "user-left(carol)",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::UserLeft(l) if l.user_id == carol.id)),
        )
        .await
        .expect("dropping the last handle closes the socket");
}

#[wasm_bindgen(inline_js = r#"
export function countingSocket(inner) {
  const live = new Map();
  const counts = { on: 0, off: 0, offMatched: 0, connSub: 0, connUnsub: 0 };
  return {
    counts,
    liveHandlers() { let n = 0; for (const s of live.values()) n += s.size; return n; },
    on(t, h) { counts.on++; if (!live.has(t)) live.set(t, new Set()); live.get(t).add(h); inner.on(t, h); },
    off(t, h) { counts.off++; if (live.get(t)?.delete(h)) counts.offMatched++; inner.off(t, h); },
    send(t, p) { return inner.send(t, p); },
    isConnected() { return inner.isConnected(); },
    onConnectionChange(l) {
      counts.connSub++;
      const u = inner.onConnectionChange(l);
      return () => { counts.connUnsub++; u(); };
    },
  };
}
export function count(socket, key) { return socket.counts[key]; }
export function liveHandlers(socket) { return socket.liveHandlers(); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = countingSocket)]
    fn counting_socket(inner: &JsValue) -> JsValue;
    fn count(socket: &JsValue, key: &str) -> u32;
    #[wasm_bindgen(js_name = liveHandlers)]
    fn live_handlers(socket: &JsValue) -> u32;
}

#[wasm_bindgen_test]
async fn app_socket_adapter_carries_messages_and_unregisters_every_handler_on_drop() {
    let erin = dev_login(&unique_name("erin")).await.expect("login");
    let js_client = SignalingClient::new(ws_url().to_owned());
    JsFuture::from(js_client.connect(erin.token.clone()))
        .await
        .expect("JS connect");
    let inner: JsValue = js_client.into();
    let socket = counting_socket(&inner);

    let (frank, f, f_log) = connected_user("frank").await;
    let channel = unique_channel_id();
    f.send(&join(channel)).expect("frank joins");
    f_log
        .wait_for(
            "participants",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Participants(_))),
        )
        .await
        .expect("frank joined");

    let adapter = AppSocketTransport::new(&socket).expect("the socket has on/off/send");
    let registered = count(&socket, "on");
    assert!(
        registered >= 12,
        "one handler per voice type, got {registered}"
    );
    assert_eq!(registered as usize, adapter.handler_count());
    assert!(adapter.is_open(), "isConnected() is consulted");
    let a_log = EventLog::attach(&adapter);

    adapter
        .send(&join(channel))
        .expect("join through the app socket");
    let (_, got) = a_log
        .wait_for(
            "participants via adapter",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::Participants(_))),
        )
        .await
        .expect("the adapter delivers voice:participants");
    let TransportEvent::Message(Message::Participants(p)) = got.event else {
        unreachable!()
    };
    assert_eq!(
        p.participants.iter().map(|e| e.user_id).collect::<Vec<_>>(),
        vec![frank.id]
    );
    f_log
        .wait_for(
            "user-joined(erin)",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::UserJoined(j) if j.user.user_id == erin.id)),
        )
        .await
        .expect("frank hears erin, who joined through the adapter");
    f.send(&Message::Mute(Mute {
        channel_id: channel,
        muted: true,
    }))
    .expect("frank mutes");
    a_log
        .wait_for(
            "user-muted(frank)",
            0,
            WAIT_MS,
            is_msg(|m| matches!(m, Message::UserMuted(u) if u.user_id == frank.id && u.muted)),
        )
        .await
        .expect("the adapter delivers voice:user-muted");

    let handlers_inside = call(&inner, "handlerCount").as_f64();
    assert_eq!(
        handlers_inside,
        Some(f64::from(registered)),
        "the handlers reached the client"
    );
    drop(a_log);
    drop(adapter);
    assert_eq!(
        count(&socket, "off"),
        registered,
        "off is called once per registered handler"
    );
    assert_eq!(
        count(&socket, "offMatched"),
        registered,
        "with the very same function objects"
    );
    assert_eq!(live_handlers(&socket), 0);
    assert_eq!(
        (count(&socket, "connSub"), count(&socket, "connUnsub")),
        (1, 1)
    );
    assert_eq!(call(&inner, "handlerCount").as_f64(), Some(0.0));
    assert_eq!(call(&inner, "isConnected").as_bool(), Some(true));
    sleep_ms(300).await;
    let erin_left = is_msg(move |m| matches!(m, Message::UserLeft(l) if l.user_id == erin.id));
    assert!(
        f_log.position(0, &erin_left).is_none(),
        "dropping the adapter leaves the app's socket up"
    );

    // When the app socket is down, its send() returns false: the adapter says NotOpen.
    call(&inner, "disconnect");
    let adapter = AppSocketTransport::new(&socket).expect("adapter");
    assert!(!adapter.is_open());
    let mute = Message::Mute(Mute {
        channel_id: channel,
        muted: false,
    });
    assert_eq!(adapter.send(&mute), Err(TransportError::NotOpen));
    drop(adapter);
    f_log
        .wait_for("user-left(erin)", 0, WAIT_MS, erin_left)
        .await
        .expect("the app's own disconnect closes the socket");
    assert_eq!(live_handlers(&socket), 0);
    call(&inner, "free");
}

/// Calls a method without arguments on a JS object; returns its result (undefined on error).
fn call(obj: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(obj).ok())
        .unwrap_or(JsValue::UNDEFINED)
}
