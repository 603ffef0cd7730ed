#![cfg(target_arch = "wasm32")]
//! Browser tests of the app-facing signalling pieces, in real headless Chromium: the
//! `AppSocketTransport` adapter over a `websocketService`-shaped JS object (our
//! `SignalingClient` on the REAL reference server, behind a proxy that counts on/off calls;
//! and a plain JS object standing in for the app's socket, to feed it the payload shapes the
//! deployed C++ server and old clients produce), and `SignalingClient`'s JS API itself.

use sohbet_rtc::error::JsErrorCode;
use wasm_bindgen_test::*;
wasm_bindgen_test_configure!(run_in_browser);

mod common;

use common::net::{
    call, conn_states, count, counting_socket, dev_login, got, ids, join_msg, js_recorder, member,
    mute_msg, prop, thrown, EventLog, WAIT_MS,
};
use common::{sleep_ms, unique_channel_id, unique_name, wait_until, ws_url};
use sohbet_rtc::signal::transport::{
    AppSocketTransport, SignalTransport, SignalingClient, TransportError, TransportEvent,
};
use sohbet_rtc::signal::Message;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen_test]
async fn app_socket_adapter_carries_messages_and_unregisters_every_handler_on_drop() {
    let erin = dev_login(&unique_name("erin")).await.expect("login");
    let js_client = SignalingClient::new(ws_url().to_owned());
    JsFuture::from(js_client.connect(erin.token.clone()))
        .await
        .expect("JS connect");
    let inner: JsValue = js_client.into();
    let socket = counting_socket(&inner);
    let frank = member("frank").await;
    let channel = unique_channel_id();
    frank.join(channel).await.expect("frank joins");

    // The app's own listener on the same socket (khave listens to voice:* itself, P17).
    let app = js_recorder();
    let on = prop(&inner, "on")
        .dyn_into::<js_sys::Function>()
        .expect("on");
    on.call2(&inner, &"voice:user-muted".into(), &prop(&app, "ok"))
        .expect("app registers");

    let not_a_socket = AppSocketTransport::new(&js_sys::Object::new().into());
    assert_eq!(not_a_socket.err(), Some(TransportError::BadSocket("on")));
    let adapter = AppSocketTransport::new(&socket).expect("the socket has on/off/send");
    let registered = count(&socket, "on");
    assert!(
        registered >= 12,
        "one handler per voice type, got {registered}"
    );
    assert_eq!(registered as usize, adapter.handler_count());
    assert_eq!(
        prop(&call(&inner, "stats"), "handlers").as_f64(),
        Some(f64::from(registered + 1))
    );
    assert!(adapter.is_open(), "isConnected() is consulted");
    let log = EventLog::attach(&adapter);

    adapter
        .send(&join_msg(channel))
        .expect("join through the app socket");
    let is_list = |m: &Message| matches!(m, Message::Participants(_));
    let (_, list) = log
        .wait_msg("participants via the adapter", 0, is_list)
        .await
        .expect("the adapter delivers voice:participants");
    let Message::Participants(list) = list else {
        panic!("{list:?}")
    };
    assert_eq!(ids(&list), vec![frank.id()]);
    frank
        .log
        .wait_msg(
            "user-joined(erin)",
            0,
            |m| matches!(m, Message::UserJoined(j) if j.user.user_id == erin.id),
        )
        .await
        .expect("frank hears erin, who joined through the adapter");
    frank
        .client
        .send(&mute_msg(channel, true))
        .expect("frank mutes");
    let frank_id = frank.id();
    log.wait_msg(
        "user-muted(frank)",
        0,
        |m| matches!(m, Message::UserMuted(u) if u.user_id == frank_id && u.muted),
    )
    .await
    .expect("the adapter delivers voice:user-muted");
    assert_eq!(
        got(&app).length(),
        1,
        "the app's own listener sees the same message"
    );

    drop(log);
    drop(adapter);
    assert_eq!(
        count(&socket, "off"),
        registered,
        "one off per registered handler"
    );
    assert_eq!(
        count(&socket, "offMatched"),
        registered,
        "with the same functions"
    );
    assert_eq!(
        (count(&socket, "connSub"), count(&socket, "connUnsub")),
        (1, 1)
    );
    assert_eq!(
        prop(&call(&inner, "stats"), "handlers").as_f64(),
        Some(1.0),
        "the app's stays"
    );
    frank
        .client
        .send(&mute_msg(channel, false))
        .expect("unmute");
    wait_until("the app hears the unmute", WAIT_MS, || {
        got(&app).length() == 2
    })
    .await
    .expect("the app's listener keeps working after the adapter is gone");
    assert_eq!(call(&inner, "isConnected").as_bool(), Some(true));
    sleep_ms(300).await;
    let erin_left = move |m: &Message| matches!(m, Message::UserLeft(l) if l.user_id == erin.id);
    let left = frank.log.position(
        0,
        |e| matches!(e, TransportEvent::Message(m) if erin_left(m)),
    );
    assert!(
        left.is_none(),
        "dropping the adapter leaves the app's socket up"
    );

    // When the app socket goes down its send() returns false: the adapter reports NotOpen.
    let adapter = AppSocketTransport::new(&socket).expect("adapter");
    let log = EventLog::attach(&adapter);
    assert!(adapter.is_open());
    call(&inner, "disconnect");
    let closed = |e: &TransportEvent| *e == TransportEvent::Disconnected;
    log.wait_for("Disconnected via onConnectionChange", 0, WAIT_MS, closed)
        .await
        .expect("the app socket's onConnectionChange(false) reaches subscribers");
    assert!(!adapter.is_open());
    assert_eq!(
        adapter.send(&mute_msg(channel, false)),
        Err(TransportError::NotOpen)
    );
    drop(adapter);
    frank
        .log
        .wait_msg("user-left(erin)", 0, erin_left)
        .await
        .expect("the app's own disconnect closes the socket");
    call(&inner, "free");
}

#[wasm_bindgen_test]
async fn signaling_client_gives_js_handlers_whole_envelopes_like_websocket_service() {
    let gina = dev_login(&unique_name("gina")).await.expect("login");
    let client = SignalingClient::new(ws_url().to_owned());
    let rec = js_recorder();
    let (ok, bad) = (prop(&rec, "ok").into(), prop(&rec, "bad").into());
    let unsubscribe = client.on_connection_change(prop(&rec, "onConn").into());
    JsFuture::from(client.connect(gina.token.clone()))
        .await
        .expect("connect");
    assert!(client.is_connected());
    client.on("voice:participants".into(), bad);
    client.on("voice:participants".into(), ok);
    let channel = unique_channel_id();
    let payload = js_sys::JSON::parse(&format!("{{\"channel_id\":{channel}}}")).expect("JSON");
    assert!(
        client.send("voice:join".into(), payload),
        "send returns true when open"
    );
    wait_until("a participants envelope", WAIT_MS, || {
        got(&rec).length() > 0
    })
    .await
    .expect("the handler is called");
    let envelope = got(&rec).get(0);
    assert_eq!(
        prop(&envelope, "type").as_string().as_deref(),
        Some("voice:participants")
    );
    let channel_seen = prop(&prop(&envelope, "payload"), "channel_id").as_f64();
    assert_eq!(channel_seen, Some(channel as f64), "payload is an object");
    assert_eq!(
        thrown(&rec),
        1,
        "a throwing handler does not stop the next one"
    );
    assert_eq!(prop(&client.stats(), "handlers").as_f64(), Some(2.0));

    client.disconnect();
    assert_eq!(
        conn_states(&rec),
        "true,false",
        "onConnectionChange saw open, then close"
    );
    unsubscribe.call0(&JsValue::NULL).expect("unsubscribe");
    let chat = JsValue::from_str("{\"conversation_id\":1,\"content\":\"hi\"}");
    assert!(!client.send("chat:send".into(), chat), "not open any more");
}

#[wasm_bindgen(inline_js = r#"
export function plainSocket() {
  const handlers = new Map();
  const sent = [];
  return {
    sent,
    on(t, h) { if (!handlers.has(t)) handlers.set(t, new Set()); handlers.get(t).add(h); },
    off(t, h) { handlers.get(t)?.delete(h); },
    send(t, p) { sent.push({ type: t, payload: p }); return true; },
    deliver(t, payload) { for (const h of handlers.get(t) ?? []) h({ type: t, payload }); },
  };
}
export function deliver(s, t, payload) { s.deliver(t, payload); }
export function lastSent(s) { return s.sent[s.sent.length - 1]; }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = plainSocket)]
    fn plain_socket() -> JsValue;
    fn deliver(socket: &JsValue, kind: &str, payload: &JsValue);
    #[wasm_bindgen(js_name = lastSent)]
    fn last_sent(socket: &JsValue) -> JsValue;
}

#[wasm_bindgen_test]
async fn adapter_decodes_object_string_and_relayed_payloads_and_sends_objects() {
    let socket = plain_socket();
    let adapter = AppSocketTransport::new(&socket).expect("adapter");
    assert!(
        adapter.is_open(),
        "without isConnected the adapter is optimistic"
    );
    let log = EventLog::attach(&adapter);
    let object = js_sys::JSON::parse(r#"{"channel_id":5,"user_id":9,"muted":true}"#).expect("JSON");
    deliver(&socket, "voice:user-muted", &object);
    // Old clients' handlers also accept a JSON string; the C++ relay adds one trailing brace.
    let text = r#"{"channel_id":5,"target_user_id":1,"from_user_id":9,"offer":{"type":"offer","sdp":"v=0"}}}"#;
    deliver(&socket, "voice:offer", &JsValue::from_str(text));
    deliver(
        &socket,
        "voice:user-left",
        &JsValue::from_str("{\"channel_id\":\"five\"}"),
    );
    let kinds: Vec<String> = log.kinds();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    let messages = log.messages();
    assert!(matches!(&messages[0], Message::UserMuted(u) if u.user_id == 9 && u.muted));
    assert!(
        matches!(&messages[1], Message::Offer(o) if o.from_user_id == 9 && o.offer.sdp == "v=0")
    );
    let bad = log.all()[2].event.clone();
    assert!(
        matches!(&bad, TransportEvent::DecodeError(e) if e.code() == "signal/invalid-payload"),
        "{bad:?}"
    );

    adapter.send(&mute_msg(5, true)).expect("send");
    let sent = last_sent(&socket);
    assert_eq!(
        prop(&sent, "type").as_string().as_deref(),
        Some("voice:mute")
    );
    let payload = prop(&sent, "payload");
    assert!(
        payload.is_object(),
        "the app gets a payload object, not a string"
    );
    assert_eq!(prop(&payload, "muted").as_bool(), Some(true));
    assert_eq!(prop(&payload, "channel_id").as_f64(), Some(5.0));
}
