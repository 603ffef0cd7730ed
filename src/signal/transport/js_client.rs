//! [`SignalingClient`]: the built-in [`WsClient`] exposed to JS with the API shape of the
//! app's `websocketService` (compat-spec §2.1), so an app without its own socket can use
//! ours and re-export it — keeping one socket per tab (P17). A thin wrapper: connection,
//! decoding, reconnect and re-join all live in `WsClient`.
//!
//! ```js
//! const ws = new SignalingClient("wss://api.example");
//! await ws.connect(jwt);                       // rejects with err.code "signal/connect-failed"
//! ws.on("voice:user-joined", (env) => console.log(env.type, env.payload));
//! const unsubscribe = ws.onConnectionChange((open) => {});
//! ws.send("voice:join", { channel_id: 1 });    // false when the socket is not open
//! ws.stats();                                  // { handlers, reconnects, lastError? }
//! ```
//! Handlers receive the whole envelope `{type, payload}`; each handler's exception is caught
//! on its own. `sendChatMessage` / `sendTypingIndicator` keep the app's chat working when it
//! re-exports this client as its `websocketService`; js/index.js defines them on this class's
//! prototype over `send` (a line of JS each instead of two more wasm exports). `free()` (or
//! `disconnect()`) releases every listener and closes the socket.
//!
//! The listeners live in JS `Map`/`Set` objects: identity comparison, insertion order and
//! snapshots (`Array.from`) come from the browser, and an unsubscribe function is
//! `Map.prototype.delete` bound to the listener's id (no per-listener `Closure`).

use std::cell::{Cell, RefCell};

use js_sys::{Array, Function, Map, Promise, Set};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::hub::Subscription;
use super::ws_client::WsClient;
use super::{envelope_text, SignalTransport, TransportEvent};
use crate::browser::object::set;
use crate::error::JsErrorCode;
use crate::signal::codec::{decode_payload, Decoded};
use crate::signal::to_json;

/// The JS-facing signalling client (`websocketService`-compatible).
#[wasm_bindgen]
pub struct SignalingClient {
    client: WsClient,
    url: RefCell<String>,
    /// Message type → `Set` of handlers.
    handlers: Map,
    /// Listener id → connection listener (a listener registered twice is called twice, and
    /// each unsubscribe removes its own registration).
    connection: Map,
    next_id: Cell<u32>,
    handler_count: Cell<u32>,
    _subscription: Subscription,
}

#[wasm_bindgen]
impl SignalingClient {
    /// `url` is the socket server base, e.g. `ws://127.0.0.1:8081` (no token).
    #[wasm_bindgen(constructor)]
    pub fn new(url: String) -> SignalingClient {
        let client = WsClient::new();
        let (handlers, connection) = (Map::new(), Map::new());
        let (h, c) = (handlers.clone(), connection.clone());
        let subscription = client.subscribe(Box::new(move |event| dispatch(&h, &c, event)));
        SignalingClient {
            client,
            url: RefCell::new(url),
            handlers,
            connection,
            next_id: Cell::new(0),
            handler_count: Cell::new(0),
            _subscription: subscription,
        }
    }

    /// Opens `<url>/?token=<token>`; resolves on open (at once if open or in flight).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn connect(&self, token: String) -> Promise {
        let fut = self.client.connect(&self.url.borrow(), &token);
        crate::browser::promise(async move {
            fut.await
                .map(|()| JsValue::UNDEFINED)
                .map_err(|e| crate::error::js_error(&e))
        })
    }

    /// Sends `{type, payload}`; `payload` may be an object or a JSON string. Returns false
    /// (and sends nothing) when the socket is not open or the frame is refused.
    pub fn send(
        &self,
        kind: String,
        #[wasm_bindgen(unchecked_param_type = "unknown")] payload: JsValue,
    ) -> bool {
        let payload_json = match payload.as_string() {
            Some(s) => s,
            None => match js_sys::JSON::stringify(&payload) {
                Ok(s) => String::from(s),
                Err(_) => return false,
            },
        };
        // Typed voice messages go through the transport (frame limit, join memory for the
        // re-join); anything else, or a voice payload we cannot type, goes out verbatim.
        if let Ok(Decoded::Voice(msg)) = decode_payload(&kind, &payload_json) {
            return self.client.send(&msg).is_ok();
        }
        self.client
            .send_text(&envelope_text(&kind, &payload_json))
            .is_ok()
    }

    /// Registers `handler(envelope)` for one message type (several per type allowed; the
    /// same function once).
    pub fn on(
        &self,
        kind: String,
        #[wasm_bindgen(
            unchecked_param_type = "(message: { type: string; payload: unknown }) => void"
        )]
        handler: Function,
    ) {
        let kind = JsValue::from(kind);
        let mut set = self.handlers.get(&kind);
        if set.is_undefined() {
            set = Set::new(&JsValue::UNDEFINED).into();
            self.handlers.set(&kind, &set);
        }
        let set: &Set = set.unchecked_ref();
        if !set.has(&handler) {
            set.add(&handler);
            self.handler_count.set(self.handler_count.get() + 1);
        }
    }

    /// Removes a handler registered with `on` (the same function object).
    pub fn off(
        &self,
        kind: String,
        #[wasm_bindgen(
            unchecked_param_type = "(message: { type: string; payload: unknown }) => void"
        )]
        handler: Function,
    ) {
        let kind = JsValue::from(kind);
        let set = self.handlers.get(&kind);
        if set.is_undefined() {
            return;
        }
        let set: &Set = set.unchecked_ref();
        if set.delete(&handler) {
            self.handler_count.set(self.handler_count.get() - 1);
        }
        if set.size() == 0 {
            self.handlers.delete(&kind);
        }
    }

    /// Calls `listener(true)` on open and `listener(false)` on close; returns the unsubscribe
    /// function (calling it again is harmless).
    #[wasm_bindgen(js_name = onConnectionChange)]
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on_connection_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(connected: boolean) => void")] listener: Function,
    ) -> Function {
        let id = JsValue::from(self.next_id.get());
        self.next_id.set(self.next_id.get().wrapping_add(1));
        self.connection.set(&id, &listener);
        // `Map.prototype.delete`, bound to this map and the id.
        let delete = js_sys::Reflect::get(&self.connection, &JsValue::from_str("delete"))
            .unwrap_or_default();
        delete
            .unchecked_ref::<Function>()
            .bind1(&self.connection, &id)
            .unchecked_into()
    }

    #[wasm_bindgen(js_name = isConnected)]
    pub fn is_connected(&self) -> bool {
        self.client.is_open()
    }

    /// Closes the socket and stops reconnecting.
    pub fn disconnect(&self) {
        self.client.disconnect();
    }

    /// Changes the socket server base URL for the next `connect` (an open socket stays
    /// connected until `disconnect`).
    #[wasm_bindgen(js_name = setUrl)]
    pub fn set_url(&self, url: String) {
        *self.url.borrow_mut() = url;
    }

    /// Diagnostics in one fresh object: `handlers` (message handlers registered over all
    /// types, for leak checks), `reconnects` (how many times the connection was re-established
    /// after a drop) and `lastError` (the last connection problem as text, when there was one).
    #[wasm_bindgen(
        unchecked_return_type = "{ handlers: number; reconnects: number; lastError?: string }"
    )]
    pub fn stats(&self) -> js_sys::Object {
        let stats = js_sys::Object::new();
        set(&stats, "handlers", &self.handler_count.get().into());
        set(&stats, "reconnects", &self.client.reconnect_count().into());
        if let Some(error) = self.client.last_error() {
            set(&stats, "lastError", &error.into());
        }
        stats
    }
}

impl SignalingClient {
    /// The Rust client behind this wrapper (shares the connection).
    pub fn transport(&self) -> WsClient {
        self.client.clone()
    }
}

/// Routes one transport event to the JS listeners. Each list is copied (`Array.from`) before
/// the calls, so a listener may call on/off/send/disconnect while being called.
fn dispatch(handlers: &Map, connection: &Map, event: &TransportEvent) {
    let kind = match event {
        TransportEvent::Connected | TransportEvent::Disconnected => {
            let open = JsValue::from_bool(matches!(event, TransportEvent::Connected));
            call_all(&connection.values(), &open, "connection listener", "");
            return;
        }
        TransportEvent::Reconnected => return,
        TransportEvent::DecodeError(e) => {
            crate::browser::log::warn(&e.to_string(), &JsValue::from_str(e.code()));
            return;
        }
        TransportEvent::Message(msg) => msg.type_name(),
        TransportEvent::Other { kind, .. } => kind.as_str(),
    };
    // The envelope is written and parsed only for a type someone listens to in JS.
    let targets = handlers.get(&JsValue::from_str(kind));
    if targets.is_undefined() {
        return;
    }
    let text = match event {
        TransportEvent::Message(msg) => to_json(msg),
        TransportEvent::Other { kind, payload } => envelope_text(kind, payload),
        _ => return,
    };
    let Ok(envelope) = js_sys::JSON::parse(&text) else {
        return;
    };
    call_all(&targets, &envelope, "handler for ", kind);
}

/// Calls every function of the iterable `list` (copied first) with `arg`; a listener that
/// throws is reported (`sohbet-rtc: error in <what><kind>`, as js/index.js words it) and does
/// not stop the others.
fn call_all(list: &JsValue, arg: &JsValue, what: &str, kind: &str) {
    for f in Array::from(list).iter() {
        if let Err(e) = f.unchecked_ref::<Function>().call1(&JsValue::NULL, arg) {
            crate::browser::log::error(&format!("error in {what}{kind}"), &e);
        }
    }
}
