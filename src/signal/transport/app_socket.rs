//! [`AppSocketTransport`]: a [`SignalTransport`] over the app's own socket object — the
//! Sohbet app's `websocketService` (compat-spec §2.1) or our [`super::SignalingClient`] —
//! so the voice engine shares the tab's single connection (P17) and never opens one.
//!
//! The object must offer `on(type, handler)`, `off(type, handler)` and
//! `send(type, payload) -> boolean`. Handlers receive the whole envelope `{type, payload}`,
//! where `payload` may be an object or a JSON string; each is decoded with `decode_payload`.
//! One handler is registered per `voice:*` type in [`VOICE_TYPES`], and dropping the adapter
//! calls `off` with exactly the same function objects. When the object also offers
//! `onConnectionChange(listener) -> unsubscribe` and `isConnected()`, they drive
//! `Connected`/`Disconnected` and [`SignalTransport::is_open`] (and the unsubscribe is called
//! on drop); without `isConnected`, `is_open` is optimistic and `send`'s boolean decides.

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::hub::{EventHub, Subscription};
use super::{envelope_parts, SignalTransport, TransportError, TransportEvent};
use crate::error::describe_js;
use crate::signal::codec::{decode_payload, CodecError, VOICE_TYPES};
use crate::signal::messages::Message;

/// One registered message handler: the type it was registered for and its closure.
type Registered = (&'static str, Closure<dyn FnMut(JsValue)>);

/// Adapter over an app-supplied `{on, off, send}` socket object.
pub struct AppSocketTransport {
    socket: JsValue,
    off: Function,
    send: Function,
    is_connected: Option<Function>,
    handlers: Vec<Registered>,
    connection_unsubscribe: Option<Function>,
    _connection_listener: Option<Closure<dyn FnMut(JsValue)>>,
    hub: EventHub,
}

fn method(socket: &JsValue, name: &'static str) -> Option<Function> {
    Reflect::get(socket, &JsValue::from_str(name))
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
}

/// The method `name` of `socket`, or `BadSocket(name)`. One out-of-line copy of the error
/// path for the three required methods (an eager `ok_or` builds and drops the error at each).
#[inline(never)]
fn required(socket: &JsValue, name: &'static str) -> Result<Function, TransportError> {
    method(socket, name).ok_or(TransportError::BadSocket(name))
}

impl AppSocketTransport {
    /// Registers the voice handlers on `socket`. Fails with `BadSocket` when `on`, `off` or
    /// `send` is missing, or `SendFailed` when `on` throws (then nothing stays registered).
    pub fn new(socket: &JsValue) -> Result<Self, TransportError> {
        let on = required(socket, "on")?;
        let off = required(socket, "off")?;
        let send = required(socket, "send")?;
        let mut this = Self {
            socket: socket.clone(),
            off,
            send,
            is_connected: method(socket, "isConnected"),
            handlers: Vec::with_capacity(VOICE_TYPES.len()),
            connection_unsubscribe: None,
            _connection_listener: None,
            hub: EventHub::new(),
        };
        for &kind in VOICE_TYPES {
            let hub = this.hub.clone();
            let handler = Closure::<dyn FnMut(JsValue)>::new(move |envelope: JsValue| {
                hub.emit(&decode_envelope(kind, &envelope));
            });
            on.call2(socket, &JsValue::from_str(kind), handler.as_ref())
                .map_err(|e| TransportError::SendFailed(describe_js(&e)))?;
            // Registered: from here on, Drop will `off` it (also if a later `on` fails).
            this.handlers.push((kind, handler));
        }
        if let Some(subscribe) = method(socket, "onConnectionChange") {
            let hub = this.hub.clone();
            let listener = Closure::<dyn FnMut(JsValue)>::new(move |open: JsValue| {
                hub.emit(&if open.is_truthy() {
                    TransportEvent::Connected
                } else {
                    TransportEvent::Disconnected
                });
            });
            if let Ok(unsub) = subscribe.call1(socket, listener.as_ref()) {
                this.connection_unsubscribe = unsub.dyn_into::<Function>().ok();
                this._connection_listener = Some(listener);
            }
        }
        Ok(this)
    }

    /// How many message handlers this adapter has registered on the app socket.
    pub fn handler_count(&self) -> usize {
        self.handlers.len()
    }

    /// Number of live subscriptions to this adapter.
    pub fn subscriber_count(&self) -> usize {
        self.hub.len()
    }
}

/// Turns one envelope from the app socket into an event for `kind`'s handler.
fn decode_envelope(kind: &str, envelope: &JsValue) -> TransportEvent {
    let payload = match Reflect::get(envelope, &JsValue::from_str("payload")) {
        Ok(p) if !p.is_undefined() => p,
        _ => return TransportEvent::DecodeError(CodecError::MissingField("payload")),
    };
    // The codec only ever sees text: a string payload becomes a JSON string literal, which
    // the codec then parses as the payload (old clients send both forms).
    let Some(text) = js_sys::JSON::stringify(&payload)
        .ok()
        .and_then(|s| s.as_string())
    else {
        return TransportEvent::DecodeError(CodecError::InvalidPayload {
            kind: kind.to_owned(),
            reason: "payload cannot be serialised".into(),
        });
    };
    TransportEvent::decoded(decode_payload(kind, &text))
}

impl SignalTransport for AppSocketTransport {
    fn send(&self, msg: &Message) -> Result<(), TransportError> {
        let (kind, payload) = envelope_parts(msg)?;
        let payload = js_sys::JSON::parse(&payload)
            .map_err(|e| TransportError::SendFailed(describe_js(&e)))?;
        let sent = self
            .send
            .call2(&self.socket, &JsValue::from_str(kind), &payload)
            .map_err(|e| TransportError::SendFailed(describe_js(&e)))?;
        if sent.as_bool() == Some(false) {
            return Err(TransportError::NotOpen);
        }
        Ok(())
    }

    fn is_open(&self) -> bool {
        match &self.is_connected {
            Some(f) => f.call0(&self.socket).is_ok_and(|v| v.is_truthy()),
            None => true,
        }
    }

    fn subscribe(&self, handler: Box<dyn Fn(&TransportEvent)>) -> Subscription {
        self.hub.subscribe(handler)
    }
}

impl Drop for AppSocketTransport {
    fn drop(&mut self) {
        for (kind, handler) in &self.handlers {
            // Teardown swallows errors: the app socket may already be gone.
            let _ = self
                .off
                .call2(&self.socket, &JsValue::from_str(kind), handler.as_ref());
        }
        if let Some(unsubscribe) = self.connection_unsubscribe.take() {
            let _ = unsubscribe.call0(&JsValue::UNDEFINED);
        }
    }
}
