//! Network helpers for the browser suites, against the REAL reference server:
//! [`dev_login`] mints a user JWT via `POST /api/dev/login`, [`drop_connections`] kills a
//! user's sockets server-side (`POST /api/dev/drop-connections`, fault injection), and
//! [`EventLog`] records every event of a signalling transport so a test can wait for a
//! specific message and inspect the order things happened in.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};
use sohbet_rtc::signal::transport::{SignalTransport, Subscription, TransportEvent};
use sohbet_rtc::signal::Message;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

use super::{http_url, now_ms, wait_until};

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
