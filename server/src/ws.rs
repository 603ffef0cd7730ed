//! The voice:* WebSocket endpoint (`GET /?token=<JWT>` on the WS port, the URL shape of the
//! C++ server; also `/ws` on the HTTP port). The token is checked BEFORE the upgrade: a
//! missing or invalid one gets HTTP 401. Each connection runs one task that forwards hub
//! output to the socket and decodes inbound frames with the `sohbet_rtc::signal` codec.
//! Oversized, malformed, unknown and binary frames get voice:error and the socket stays up.
//! The server pings every socket; one that stays silent for three ping intervals (a dead
//! peer, a half-open TCP connection) is dropped, so its rooms hear voice:user-left.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sohbet_rtc::signal::{decode_frame, CodecError, Decoded, MAX_FRAME_BYTES};

use crate::auth::UserInfo;
use crate::hub::{ConnId, Hub};
use crate::state::AppState;
use crate::voice::VoiceError;

/// Largest WebSocket message the transport accepts at all; frames between 4 KiB and this get
/// a voice:error, larger ones end the connection (tungstenite's limit).
pub const MAX_WS_MESSAGE_BYTES: usize = 256 * 1024;

/// Per-socket read buffer and write-coalescing target. Signalling frames are small (< 4 KiB),
/// so the transport's 128 KiB defaults would only cost memory per connection.
pub const SOCKET_BUFFER_BYTES: usize = 16 * 1024;

/// Upgrade handler: authenticate by `?token=`, then hand the socket to [`run`].
pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    match state.auth().verify(token) {
        Ok(user) => {
            let hub = state.hub().clone();
            let ping_every = Duration::from_millis(state.config().ws_ping_ms.max(10));
            ws.read_buffer_size(SOCKET_BUFFER_BYTES)
                .write_buffer_size(SOCKET_BUFFER_BYTES)
                .max_message_size(MAX_WS_MESSAGE_BYTES)
                .max_frame_size(MAX_WS_MESSAGE_BYTES)
                .on_upgrade(move |socket| run(socket, hub, user, ping_every))
        }
        Err(e) => {
            tracing::info!(code = e.code(), "refused WebSocket upgrade: {e}");
            let body = serde_json::json!({ "error": "Unauthorized", "code": e.code() });
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
    }
}

/// Runs one authenticated connection until either side ends it.
async fn run(mut socket: WebSocket, hub: Arc<Hub>, user: UserInfo, ping_every: Duration) {
    let user_id = user.id;
    let (conn, mut task) = hub.connect(user);
    tracing::debug!(conn, user = user_id, "voice socket open");
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            out = task.rx.recv() => match out {
                Some(text) => {
                    if socket.send(WsMessage::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
            // Drop the socket without a close frame, as a network failure would.
            () = task.kill.notified() => break,
            _ = ping.tick() => {
                if last_heard.elapsed() > ping_every * 3 {
                    tracing::info!(conn, user = user_id, "no answer to pings; dropping socket");
                    break;
                }
                if socket.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
            inbound = socket.recv() => {
                last_heard = Instant::now();
                match inbound {
                    Some(Ok(WsMessage::Text(text))) => handle_text(&hub, conn, text.as_str()),
                    Some(Ok(WsMessage::Binary(_))) => hub.refuse(conn, &VoiceError::BinaryFrame),
                    // Pings are answered by the transport itself; pongs only prove liveness.
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                    Some(Ok(WsMessage::Close(_))) => {
                        // One more read flushes the transport's reply to the close handshake.
                        let _ = tokio::time::timeout(Duration::from_secs(1), socket.recv()).await;
                        break;
                    }
                    None | Some(Err(_)) => break,
                }
            }
        }
    }
    hub.disconnect(conn);
    tracing::debug!(conn, user = user_id, "voice socket closed");
}

/// Decodes one text frame (possibly several coalesced envelopes) and dispatches each.
fn handle_text(hub: &Hub, conn: ConnId, text: &str) {
    if text.len() > MAX_FRAME_BYTES {
        hub.refuse(conn, &VoiceError::FrameTooLarge(text.len()));
        return;
    }
    for item in decode_frame(text) {
        match item {
            Ok(Decoded::Voice(msg)) => hub.handle(conn, msg),
            // chat:* and user:* share the socket in the app; the reference server has no chat.
            Ok(Decoded::Other { kind, .. }) => tracing::debug!(conn, "ignoring {kind}"),
            Err(CodecError::InvalidPayload { .. }) if has_unrepresentable_id(text) => {
                hub.refuse(conn, &VoiceError::UnrepresentableId)
            }
            Err(e) => hub.refuse(conn, &VoiceError::from(e)),
        }
    }
}

/// Id keys whose values must be positive integers.
const ID_KEYS: &[&str] = &["channel_id", "target_user_id", "from_user_id", "user_id"];

/// True when the frame is one JSON envelope whose payload has a numeric id that is not a
/// non-negative integer (e.g. -1, 2.5, 1e30): out of range rather than malformed.
fn has_unrepresentable_id(text: &str) -> bool {
    let Ok(serde_json::Value::Object(envelope)) = serde_json::from_str(text) else {
        return false;
    };
    let Some(serde_json::Value::Object(payload)) = envelope.get("payload") else {
        return false;
    };
    ID_KEYS.iter().any(|key| {
        payload
            .get(*key)
            .is_some_and(|v| v.is_number() && v.as_u64().is_none())
    })
}
