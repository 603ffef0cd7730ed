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
//! ```
//! Handlers receive the whole envelope `{type, payload}`; each handler's exception is caught
//! on its own. `sendChatMessage` / `sendTypingIndicator` keep the app's chat working when it
//! re-exports this client as its `websocketService`. `free()` (or `disconnect()`) releases every listener and closes the socket.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;

use super::hub::Subscription;
use super::ws_client::WsClient;
use super::{envelope_text, SignalTransport, TransportEvent};
use crate::error::js_error_from;
use crate::signal::codec::{decode_payload, Decoded};
use crate::signal::json::{push_i64, push_str};
use crate::signal::to_json;
use crate::vec_map::VecMap;

#[derive(Default)]
struct Listeners {
    by_type: VecMap<String, Vec<Function>>,
    connection: Vec<(u32, Function)>,
    next_id: u32,
}

/// The JS-facing signalling client (`websocketService`-compatible).
#[wasm_bindgen]
pub struct SignalingClient {
    client: WsClient,
    url: String,
    listeners: Rc<RefCell<Listeners>>,
    /// The unsubscribe functions handed out. Kept (a few bytes each) until the client is
    /// freed, so calling one twice stays harmless, as in the app's `websocketService`.
    unsubscribers: RefCell<Vec<Closure<dyn Fn()>>>,
    _subscription: Subscription,
}

#[wasm_bindgen]
impl SignalingClient {
    /// `url` is the socket server base, e.g. `ws://127.0.0.1:8081` (no token).
    #[wasm_bindgen(constructor)]
    pub fn new(url: String) -> SignalingClient {
        let client = WsClient::new();
        let listeners: Rc<RefCell<Listeners>> = Rc::default();
        let l = listeners.clone();
        let subscription = client.subscribe(Box::new(move |event| dispatch(&l, event)));
        SignalingClient {
            client,
            url,
            listeners,
            unsubscribers: RefCell::new(Vec::new()),
            _subscription: subscription,
        }
    }

    /// Opens `<url>/?token=<token>`; resolves on open (at once if open or in flight).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn connect(&self, token: String) -> Promise {
        let fut = self.client.connect(&self.url, &token);
        crate::browser::promise(async move {
            fut.await
                .map(|()| JsValue::UNDEFINED)
                .map_err(|e| js_error_from(&e))
        })
    }

    /// Sends `{type, payload}`; `payload` may be an object or a JSON string. Returns false
    /// (and sends nothing) when the socket is not open or the frame is refused.
    pub fn send(&self, kind: String, payload: JsValue) -> bool {
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

    /// `send('chat:send', {conversation_id, content})`, as the app's `websocketService`.
    #[wasm_bindgen(js_name = sendChatMessage)]
    pub fn send_chat_message(&self, conversation_id: f64, content: String) -> bool {
        let mut payload = conversation_payload(conversation_id);
        payload.push_str(",\"content\":");
        push_str(&mut payload, &content);
        payload.push('}');
        self.client
            .send_text(&envelope_text("chat:send", &payload))
            .is_ok()
    }

    /// `send('chat:typing', {conversation_id})`, as the app's `websocketService`.
    #[wasm_bindgen(js_name = sendTypingIndicator)]
    pub fn send_typing_indicator(&self, conversation_id: f64) -> bool {
        let mut payload = conversation_payload(conversation_id);
        payload.push('}');
        self.client
            .send_text(&envelope_text("chat:typing", &payload))
            .is_ok()
    }

    /// Registers `handler(envelope)` for one message type (several per type allowed).
    pub fn on(
        &self,
        kind: String,
        #[wasm_bindgen(unchecked_param_type = "(message: { type: string; payload: any }) => void")]
        handler: Function,
    ) {
        let mut l = self.listeners.borrow_mut();
        let list = l.by_type.get_or_insert_with(kind, Vec::new);
        if !list
            .iter()
            .any(|h| JsValue::from(h) == JsValue::from(&handler))
        {
            list.push(handler);
        }
    }

    /// Removes a handler registered with `on` (the same function object).
    pub fn off(
        &self,
        kind: String,
        #[wasm_bindgen(unchecked_param_type = "(message: { type: string; payload: any }) => void")]
        handler: Function,
    ) {
        let mut l = self.listeners.borrow_mut();
        if let Some(list) = l.by_type.get_mut(&kind) {
            list.retain(|h| JsValue::from(h) != JsValue::from(&handler));
            if list.is_empty() {
                l.by_type.remove(&kind);
            }
        }
    }

    /// Calls `listener(true)` on open and `listener(false)` on close; returns the unsubscribe
    /// function (valid while this client lives).
    #[wasm_bindgen(js_name = onConnectionChange)]
    #[wasm_bindgen(unchecked_return_type = "() => void")]
    pub fn on_connection_change(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(connected: boolean) => void")] listener: Function,
    ) -> Function {
        let id = {
            let mut l = self.listeners.borrow_mut();
            l.next_id = l.next_id.wrapping_add(1);
            let id = l.next_id;
            l.connection.push((id, listener));
            id
        };
        let weak = Rc::downgrade(&self.listeners);
        let unsubscribe = Closure::<dyn Fn()>::new(move || {
            if let Some(l) = weak.upgrade() {
                l.borrow_mut().connection.retain(|(i, _)| *i != id);
            }
        });
        let function: Function = unsubscribe.as_ref().clone().into();
        self.unsubscribers.borrow_mut().push(unsubscribe);
        function
    }

    #[wasm_bindgen(js_name = isConnected)]
    pub fn is_connected(&self) -> bool {
        self.client.is_open()
    }

    /// Closes the socket and stops reconnecting.
    pub fn disconnect(&self) {
        self.client.disconnect();
    }

    /// The last connection problem as text, or undefined.
    #[wasm_bindgen(js_name = lastError)]
    pub fn last_error(&self) -> Option<String> {
        self.client.last_error()
    }

    /// How many times the connection was re-established after a drop.
    #[wasm_bindgen(js_name = reconnectCount)]
    pub fn reconnect_count(&self) -> u32 {
        self.client.reconnect_count()
    }

    /// Number of registered message handlers over all types (leak checks).
    #[wasm_bindgen(js_name = handlerCount)]
    pub fn handler_count(&self) -> usize {
        self.listeners.borrow().by_type.values().map(Vec::len).sum()
    }
}

impl SignalingClient {
    /// The Rust client behind this wrapper (shares the connection).
    pub fn transport(&self) -> WsClient {
        self.client.clone()
    }
}

/// Routes one transport event to the JS listeners. The lists are cloned first, so a listener
/// may call on/off/send/disconnect while being called.
fn dispatch(listeners: &Rc<RefCell<Listeners>>, event: &TransportEvent) {
    let (kind, envelope) = match event {
        TransportEvent::Connected | TransportEvent::Disconnected => {
            let open = JsValue::from_bool(matches!(event, TransportEvent::Connected));
            let targets: Vec<Function> = listeners
                .borrow()
                .connection
                .iter()
                .map(|(_, f)| f.clone())
                .collect();
            for f in targets {
                report(f.call1(&JsValue::NULL, &open));
            }
            return;
        }
        TransportEvent::Reconnected => return,
        TransportEvent::DecodeError(e) => {
            web_sys::console::warn_1(&JsValue::from_str(&format!("sohbet-rtc: {e}")));
            return;
        }
        TransportEvent::Message(msg) => (msg.type_name().to_owned(), to_json(msg)),
        TransportEvent::Other { kind, payload } => (kind.clone(), envelope_text(kind, payload)),
    };
    let targets = listeners.borrow().by_type.get(&kind).cloned();
    let Some(targets) = targets else {
        return;
    };
    let Ok(envelope) = js_sys::JSON::parse(&envelope) else {
        return;
    };
    for f in targets {
        report(f.call1(&JsValue::NULL, &envelope));
    }
}

/// `{"conversation_id":<id>` (unclosed), as the app's chat payloads start.
fn conversation_payload(conversation_id: f64) -> String {
    let mut payload = String::from("{\"conversation_id\":");
    push_i64(&mut payload, conversation_id as i64);
    payload
}

fn report(result: Result<JsValue, JsValue>) {
    if let Err(e) = result {
        web_sys::console::error_2(&JsValue::from_str("sohbet-rtc: listener threw"), &e);
    }
}
