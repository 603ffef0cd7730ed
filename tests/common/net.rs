//! Network helpers for the browser suites, against the REAL reference server:
//! [`dev_login`] mints a user JWT via `POST /api/dev/login`, [`drop_connections`] kills a
//! user's sockets server-side (`POST /api/dev/drop-connections`, fault injection),
//! [`EventLog`] records every event of a signalling transport so a test can wait for a
//! specific message and inspect the order things happened in, and [`Member`] is a logged-in
//! user with a connected built-in client that can join a channel in one call;
//! [`counting_socket`] wraps a JS socket object and counts its on/off calls, and
//! [`js_recorder`] plays the app's own JS handlers.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};
use sohbet_rtc::signal::transport::{SignalTransport, Subscription, TransportEvent, WsClient};
use sohbet_rtc::signal::{Join, Message, Mute, Participants};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

use super::{http_url, now_ms, unique_name, wait_until, with_timeout, ws_url};

/// How long the suites wait for any one server reaction before failing.
pub const WAIT_MS: u32 = 8_000;

/// A user logged in through the dev endpoint.
#[derive(Debug, Clone)]
pub struct DevUser {
    pub id: u64,
    pub username: String,
    pub university: String,
    pub token: String,
}

fn js_err(context: &str, e: JsValue) -> String {
    format!("{context}: {e:?}")
}

/// `POST <http_url><path>` with a JSON body; returns the JSON reply or `HTTP <status>: body`.
pub async fn post_json(path: &str, body: &Value) -> Result<Value, String> {
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&body.to_string()));
    let headers = Headers::new().map_err(|e| js_err("Headers", e))?;
    headers
        .set("Content-Type", "application/json")
        .map_err(|e| js_err("header", e))?;
    init.set_headers(&headers);
    let url = format!("{}{path}", http_url());
    let request = Request::new_with_str_and_init(&url, &init).map_err(|e| js_err("Request", e))?;
    let fetch = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("fetch"))
        .map_err(|e| js_err("fetch", e))?
        .dyn_into::<js_sys::Function>()
        .map_err(|e| js_err("fetch is not a function", e))?;
    let promise = fetch
        .call1(&JsValue::NULL, &request)
        .map_err(|e| js_err("fetch threw", e))?
        .dyn_into::<js_sys::Promise>()
        .map_err(|e| js_err("fetch result", e))?;
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(|e| js_err(&format!("POST {url} (is the reference server running?)"), e))?
        .dyn_into()
        .map_err(|e| js_err("Response", e))?;
    let text = JsFuture::from(response.text().map_err(|e| js_err("text()", e))?)
        .await
        .map_err(|e| js_err("body", e))?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        return Err(format!("POST {path}: HTTP {}: {text}", response.status()));
    }
    serde_json::from_str(&text).map_err(|e| format!("POST {path}: bad JSON {e}: {text}"))
}

/// Logs in `username` (university "Test University") and returns its id and JWT.
pub async fn dev_login(username: &str) -> Result<DevUser, String> {
    let reply = post_json(
        "/api/dev/login",
        &json!({"username": username, "university": "Test University"}),
    )
    .await?;
    let user = &reply["user"];
    Ok(DevUser {
        id: user["id"]
            .as_u64()
            .ok_or(format!("no user.id in {reply}"))?,
        username: user["username"].as_str().unwrap_or_default().to_owned(),
        university: user["university"].as_str().unwrap_or_default().to_owned(),
        token: reply["token"]
            .as_str()
            .ok_or(format!("no token in {reply}"))?
            .to_owned(),
    })
}

/// Drops every socket of `user_id` server-side, without a close handshake (a network
/// failure as the client sees it). Returns how many sockets were dropped.
pub async fn drop_connections(user_id: u64) -> Result<u64, String> {
    let reply = post_json("/api/dev/drop-connections", &json!({"user_id": user_id})).await?;
    Ok(reply["dropped"].as_u64().unwrap_or(0))
}

/// One recorded event and when it arrived (`now_ms()`).
#[derive(Debug, Clone)]
pub struct Logged {
    pub at_ms: f64,
    pub event: TransportEvent,
}

/// Records every event of one transport while it lives.
pub struct EventLog {
    events: Rc<RefCell<Vec<Logged>>>,
    _subscription: Subscription,
}

impl EventLog {
    pub fn attach(transport: &dyn SignalTransport) -> Self {
        let events: Rc<RefCell<Vec<Logged>>> = Rc::default();
        let sink = events.clone();
        let subscription = transport.subscribe(Box::new(move |e| {
            sink.borrow_mut().push(Logged {
                at_ms: now_ms(),
                event: e.clone(),
            })
        }));
        Self {
            events,
            _subscription: subscription,
        }
    }

    pub fn all(&self) -> Vec<Logged> {
        self.events.borrow().clone()
    }

    /// The decoded voice messages received so far, in order.
    pub fn messages(&self) -> Vec<Message> {
        self.events
            .borrow()
            .iter()
            .filter_map(|l| match &l.event {
                TransportEvent::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// Index (into [`EventLog::all`]) of the first event at or after `from` matching `pred`.
    pub fn position(&self, from: usize, pred: impl Fn(&TransportEvent) -> bool) -> Option<usize> {
        self.events
            .borrow()
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, l)| pred(&l.event))
            .map(|(i, _)| i)
    }

    pub fn len(&self) -> usize {
        self.events.borrow().len()
    }

    /// Waits for an event at or after index `from` matching `pred`; returns it and its index.
    pub async fn wait_for(
        &self,
        what: &str,
        from: usize,
        timeout_ms: u32,
        pred: impl Fn(&TransportEvent) -> bool,
    ) -> Result<(usize, Logged), String> {
        wait_until(what, timeout_ms, || self.position(from, &pred).is_some())
            .await
            .map_err(|e| format!("{e}; events seen: {:?}", self.kinds()))?;
        let i = self.position(from, &pred).ok_or("event vanished")?;
        Ok((i, self.all()[i].clone()))
    }

    /// Waits (up to [`WAIT_MS`]) for a voice message at or after `from` matching `pred`.
    pub async fn wait_msg(
        &self,
        what: &str,
        from: usize,
        pred: impl Fn(&Message) -> bool,
    ) -> Result<(usize, Message), String> {
        let (i, logged) = self
            .wait_for(
                what,
                from,
                WAIT_MS,
                move |e| matches!(e, TransportEvent::Message(m) if pred(m)),
            )
            .await?;
        match logged.event {
            TransportEvent::Message(m) => Ok((i, m)),
            other => Err(format!("expected a message, got {other:?}")),
        }
    }

    /// A short summary of what arrived (for failure messages).
    pub fn kinds(&self) -> Vec<String> {
        self.events
            .borrow()
            .iter()
            .map(|l| match &l.event {
                TransportEvent::Message(m) => m.type_name().to_owned(),
                TransportEvent::Other { kind, .. } => kind.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }
}

/// `voice:join {channel_id, supports_sfu: true}`.
pub fn join_msg(channel_id: u64) -> Message {
    Message::Join(Join {
        channel_id,
        supports_sfu: Some(true),
        client_version: None,
    })
}

/// `voice:mute {channel_id, muted}`.
pub fn mute_msg(channel_id: u64, muted: bool) -> Message {
    Message::Mute(Mute { channel_id, muted })
}

/// [`Member::connect`], failing the test when login or connect fails.
pub async fn member(prefix: &str) -> Member {
    Member::connect(prefix).await.expect("login and connect")
}

/// A logged-in user with a connected built-in client and a log of its events.
pub struct Member {
    pub user: DevUser,
    pub client: WsClient,
    pub log: EventLog,
}

impl Member {
    /// Logs a fresh user (`<prefix>-<unique>`) in and connects a [`WsClient`] for it.
    pub async fn connect(prefix: &str) -> Result<Member, String> {
        let user = dev_login(&unique_name(prefix)).await?;
        let client = WsClient::new();
        let log = EventLog::attach(&client);
        with_timeout("connect", WAIT_MS, client.connect(ws_url(), &user.token))
            .await?
            .map_err(|e| format!("connect failed: {e}"))?;
        Ok(Member { user, client, log })
    }

    pub fn id(&self) -> u64 {
        self.user.id
    }

    /// Sends voice:join and waits for the voice:participants that answers it.
    pub async fn join(&self, channel_id: u64) -> Result<Participants, String> {
        let from = self.log.len();
        self.client
            .send(&join_msg(channel_id))
            .map_err(|e| format!("join not sent: {e}"))?;
        let is_answer =
            move |m: &Message| matches!(m, Message::Participants(p) if p.channel_id == channel_id);
        match self
            .log
            .wait_msg("voice:participants", from, is_answer)
            .await?
        {
            (_, Message::Participants(p)) => Ok(p),
            (_, other) => Err(format!("expected participants, got {other:?}")),
        }
    }
}

/// The user ids of a participant list, in order.
pub fn ids(p: &Participants) -> Vec<u64> {
    p.participants.iter().map(|e| e.user_id).collect()
}

/// A `websocketService`-shaped JS proxy over `inner` (on/off/send/isConnected/
/// onConnectionChange) that counts calls: `count(socket, "on" | "off" | "offMatched" |
/// "connSub" | "connUnsub")`; `offMatched` counts offs with a function that `on` registered.
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
"#)]
extern "C" {
    #[wasm_bindgen(js_name = countingSocket)]
    pub fn counting_socket(inner: &JsValue) -> JsValue;
    pub fn count(socket: &JsValue, key: &str) -> u32;
}

/// Calls a method without arguments on a JS object; returns its result (undefined on error).
pub fn call(obj: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call0(obj).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// A JS recorder of app-side handlers: `ok(env)` records envelopes (`got`), `bad()` throws
/// (`thrown` counts), `onConn(open)` records connection changes (`connStates`: "true,false").
#[wasm_bindgen(inline_js = r#"
export function jsRecorder() {
  const r = { got: [], thrown: 0, conn: [] };
  r.ok = (env) => { r.got.push(env); };
  r.bad = () => { r.thrown++; throw new Error("a buggy app handler"); };
  r.onConn = (open) => { r.conn.push(open); };
  return r;
}
export function got(r) { return r.got; }
export function thrown(r) { return r.thrown; }
export function connStates(r) { return r.conn.join(","); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = jsRecorder)]
    pub fn js_recorder() -> JsValue;
    pub fn got(r: &JsValue) -> js_sys::Array;
    pub fn thrown(r: &JsValue) -> u32;
    #[wasm_bindgen(js_name = connStates)]
    pub fn conn_states(r: &JsValue) -> String;
}

/// `obj[key]`, or undefined.
pub fn prop(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}
