//! Signalling transports: the contract the P2P, SFU and service layers code against, and
//! its two browser implementations.
//!
//! - [`SignalTransport`] + [`TransportEvent`] + [`TransportError`]: the contract (pure; builds
//!   natively so strategies can be tested with fakes). Share one transport as
//!   [`SharedTransport`] (`Rc<dyn SignalTransport>`).
//! - [`hub::EventHub`]: the re-entrancy-safe subscriber list every implementation uses.
//! - `app_socket::AppSocketTransport` (wasm32): adapter over the app's own `websocketService`
//!   (one socket per tab, compat-spec P17).
//! - `ws_client::WsClient` (wasm32): built-in WebSocket client with back-off reconnect and
//!   automatic re-join (P12); `js_client::SignalingClient` exposes it to JS with the
//!   `websocketService` API shape.

use std::rc::Rc;

use super::codec::{encode_payload, CodecError, Decoded};
use super::json::push_str;
use super::messages::Message;
use crate::error::JsErrorCode;

pub mod hub;

#[cfg(target_arch = "wasm32")]
pub mod app_socket;
#[cfg(target_arch = "wasm32")]
pub mod js_client;
#[cfg(target_arch = "wasm32")]
mod socket;
#[cfg(target_arch = "wasm32")]
pub mod ws_client;
#[cfg(target_arch = "wasm32")]
mod ws_lifecycle;

#[cfg(target_arch = "wasm32")]
pub use app_socket::AppSocketTransport;
#[cfg(target_arch = "wasm32")]
pub use js_client::SignalingClient;
#[cfg(target_arch = "wasm32")]
pub use ws_client::WsClient;

pub use hub::{EventHub, Subscription};

/// What a transport reports to its subscribers.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportEvent {
    /// A decoded `voice:*` message.
    Message(Message),
    /// A non-voice envelope (chat:*, user:*) seen on the shared socket, passed on untouched
    /// (`payload` is the JSON text of its payload).
    Other { kind: String, payload: String },
    /// A received frame (or one envelope of it) could not be decoded; the session continues.
    DecodeError(CodecError),
    /// The socket is open (first open, and again after every reconnect).
    Connected,
    /// The socket closed or was closed (a reconnect may follow).
    Disconnected,
    /// A reconnect succeeded and the remembered voice:join was re-sent (P12): resync state.
    Reconnected,
}

impl TransportEvent {
    /// The event for one decoded envelope (shared by both transports: one copy of the moves).
    #[inline(never)]
    pub fn decoded(decoded: Result<Decoded, CodecError>) -> Self {
        match decoded {
            Ok(Decoded::Voice(m)) => TransportEvent::Message(m),
            Ok(Decoded::Other { kind, payload }) => TransportEvent::Other { kind, payload },
            Err(e) => TransportEvent::DecodeError(e),
        }
    }
}

/// Why a transport operation failed. `code()` is stable and reaches JS as `error.code`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The socket is not open; the message was NOT sent (no silent drop, P18).
    #[error("the signalling socket is not open")]
    NotOpen,
    /// The message could not be encoded, or its frame exceeds the server's 4096-byte limit.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The browser or the app socket refused the send.
    #[error("sending failed: {0}")]
    SendFailed(String),
    /// Opening the connection failed (bad URL, refused, rejected token, gave up retrying).
    #[error("could not connect: {0}")]
    ConnectFailed(String),
    /// The transport was disconnected or dropped while the operation was pending.
    #[error("the signalling transport was closed")]
    Closed,
    /// The app-supplied socket object lacks a required method.
    #[error("the app socket object has no `{0}` function")]
    BadSocket(&'static str),
}

impl JsErrorCode for TransportError {
    fn code(&self) -> &'static str {
        match self {
            TransportError::NotOpen => "signal/not-open",
            TransportError::Codec(e) => e.code(),
            TransportError::SendFailed(_) => "signal/send-failed",
            TransportError::ConnectFailed(_) => "signal/connect-failed",
            TransportError::Closed => "signal/closed",
            TransportError::BadSocket(_) => "signal/bad-socket",
        }
    }
}

/// The signalling contract used by the P2P, SFU and service layers.
pub trait SignalTransport {
    /// Sends one message now, or fails: `NotOpen` when the socket is not open (never a
    /// silent drop), `Codec` when the frame would exceed 4096 bytes.
    fn send(&self, msg: &Message) -> Result<(), TransportError>;
    /// Whether a send would currently reach the socket.
    fn is_open(&self) -> bool;
    /// Registers a handler for every event; dropping the [`Subscription`] unsubscribes.
    /// Handlers may send, subscribe or unsubscribe from inside the call.
    fn subscribe(&self, handler: Box<dyn Fn(&TransportEvent)>) -> Subscription;
}

/// The one handle type layers share.
pub type SharedTransport = Rc<dyn SignalTransport>;

/// Splits a message into its wire type and the JSON text of its payload, after checking the
/// encoded frame fits the 4096-byte limit (so a transport that serialises it again stays
/// under it too).
pub fn envelope_parts(msg: &Message) -> Result<(&'static str, String), TransportError> {
    Ok((msg.type_name(), encode_payload(msg)?))
}

/// Whether a WebSocket close code means the server refused us for good (policy violation,
/// e.g. a rejected token, or the application range 4000–4999): no reconnect follows.
pub fn is_final_close(code: u16) -> bool {
    code == 1008 || (4000..5000).contains(&code)
}

/// Builds `{"type":<kind>,"payload":<payload>}` with `type` first (compat-spec 2.2a), for
/// envelopes that are not typed voice messages (chat:*, raw app payloads).
pub fn envelope_text(kind: &str, payload_json: &str) -> String {
    let mut out = String::with_capacity(kind.len() + payload_json.len() + 24);
    out.push_str("{\"type\":");
    push_str(&mut out, kind);
    out.push_str(",\"payload\":");
    out.push_str(payload_json);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::codec::encode;
    use crate::signal::messages::{ChannelRef, Mute};

    #[test]
    fn envelope_parts_returns_the_wire_type_and_the_payload_object() {
        let msg = Message::Mute(Mute {
            channel_id: 7,
            muted: true,
        });
        let (kind, payload) = envelope_parts(&msg).expect("small message encodes");
        assert_eq!(kind, "voice:mute");
        assert_eq!(payload, r#"{"channel_id":7,"muted":true}"#);
    }

    #[test]
    fn oversized_messages_are_refused_with_the_frame_too_large_code() {
        let msg = Message::Error(crate::signal::messages::ErrorReport {
            code: "x".into(),
            message: "y".repeat(5000),
        });
        let err = envelope_parts(&msg).expect_err("a 5 KB frame must be refused");
        assert_eq!(err.code(), "signal/frame-too-large");
    }

    #[test]
    fn envelope_parts_agree_with_the_encoded_frame_up_to_the_size_limit() {
        let error = |n: usize| {
            Message::Error(crate::signal::messages::ErrorReport {
                code: "c".into(),
                message: "m".repeat(n),
            })
        };
        let overhead = crate::signal::to_json(&error(0)).len();
        for n in [
            0,
            100,
            4096 - overhead - 1,
            4096 - overhead,
            4097 - overhead,
        ] {
            let msg = error(n);
            match (encode(&msg), envelope_parts(&msg)) {
                (Ok(frame), Ok((kind, payload))) => {
                    assert_eq!(frame, envelope_text(kind, &payload), "{n}");
                }
                (Err(a), Err(TransportError::Codec(b))) => assert_eq!(a, b, "{n}"),
                (a, b) => panic!("{n}: {a:?} vs {b:?}"),
            }
        }
        assert!(encode(&error(4096 - overhead)).is_ok());
        assert!(encode(&error(4097 - overhead)).is_err());
    }

    #[test]
    fn refusals_are_final_but_network_drops_and_restarts_are_retried() {
        assert!(is_final_close(1008));
        assert!(is_final_close(4001) && is_final_close(4999));
        for retried in [1000, 1001, 1006, 1011, 1012, 1013, 3000, 5000] {
            assert!(!is_final_close(retried), "{retried} must be retried");
        }
    }

    #[test]
    fn envelope_text_puts_type_first_and_escapes_it() {
        let text = envelope_text("chat:\"x\"", "{\"a\":1}");
        assert!(text.starts_with("{\"type\":\"chat:\\\"x\\\"\""));
        assert_eq!(text, r#"{"type":"chat:\"x\"","payload":{"a":1}}"#);
        let leave = Message::Leave(ChannelRef { channel_id: 3 });
        assert_eq!(TransportError::NotOpen.code(), "signal/not-open");
        assert_eq!(envelope_parts(&leave).map(|p| p.0), Ok("voice:leave"));
    }
}
