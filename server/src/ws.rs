//! The voice:* WebSocket endpoint (`GET /?token=<JWT>` on the WS port, the URL shape of the
//! C++ server; also `/ws` on the HTTP port). The token is checked BEFORE the upgrade: a
//! missing, invalid or expired one gets HTTP 401. Each connection runs one task that writes
//! hub output to the socket and decodes inbound frames with the `sohbet_rtc::signal` codec.
//!
//! Defences (issue 13; limits in [`crate::limits`]): inbound frames are rate limited
//! ([`FrameLimiter`]: voice:error `rate-limited`, then close 1008); a frame the client does
//! not take within the send timeout marks a slow consumer, dropped like a dead peer; the
//! socket is closed with 4001 when its token expires; transport protocol violations get
//! their close code (1002 protocol, 1007 invalid UTF-8, 1009 too big) and an info log line.
//! Oversized (4 KiB – 256 KiB), malformed, unknown and binary frames get voice:error and the
//! socket stays up. The server pings every socket; one silent for three ping intervals is
//! dropped, so its room hears voice:user-left.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sohbet_rtc::signal::{decode_frame, CodecError, Decoded, MAX_FRAME_BYTES};

use crate::auth::UserInfo;
use crate::clock::unix_secs;
use crate::hub::{ConnId, End, Hub};
use crate::limits::{Limits, CLOSE_RATE_LIMITED, CLOSE_TOKEN_EXPIRED};
use crate::ratelimit::{FrameLimiter, Verdict};
use crate::state::AppState;
use crate::voice::VoiceError;

/// Largest WebSocket message the transport accepts at all; frames between 4 KiB and this get
/// a voice:error, larger ones close the connection with 1009.
pub const MAX_WS_MESSAGE_BYTES: usize = 256 * 1024;

/// Per-socket read buffer and write-coalescing target. Signalling frames are small (< 4 KiB),
/// so the transport's 128 KiB defaults would only cost memory per connection.
pub const SOCKET_BUFFER_BYTES: usize = 16 * 1024;

/// How long the server waits to hand over a close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What one connection task needs besides the hub.
#[derive(Debug, Clone, Copy)]
struct SocketPolicy {
    ping_every: Duration,
    limits: Limits,
    /// Unix seconds after which the token is no longer valid.
    valid_until: u64,
}

/// Upgrade handler: authenticate by `?token=`, then hand the socket to [`run`].
pub async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let token = query.get("token").map(String::as_str).unwrap_or_default();
    match state.auth().verify_until(token) {
        Ok((user, valid_until)) => {
            let hub = state.hub().clone();
            let policy = SocketPolicy {
                ping_every: Duration::from_millis(state.config().ws_ping_ms.max(10)),
                limits: state.config().limits,
                valid_until,
            };
            ws.read_buffer_size(SOCKET_BUFFER_BYTES)
                .write_buffer_size(SOCKET_BUFFER_BYTES)
                .max_message_size(MAX_WS_MESSAGE_BYTES)
                .max_frame_size(MAX_WS_MESSAGE_BYTES)
                .on_upgrade(move |socket| run(socket, hub, user, policy))
        }
        Err(e) => {
            tracing::info!(code = e.code(), "refused WebSocket upgrade: {e}");
            let body = serde_json::json!({ "error": "Unauthorized", "code": e.code() });
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
    }
}

/// How the server ends a connection: a close frame, or just dropping it.
type Ending = Option<(u16, &'static str)>;

/// Runs one authenticated connection until either side ends it.
async fn run(mut socket: WebSocket, hub: Arc<Hub>, user: UserInfo, policy: SocketPolicy) {
    let user_id = user.id;
    let task = hub.connect(user);
    let (conn, mut rx, handle) = (task.conn.id, task.rx, task.conn);
    tracing::debug!(conn, user = user_id, "voice socket open");
    let ping_every = policy.ping_every;
    let send_timeout = Duration::from_millis(policy.limits.send_timeout_ms.max(1));
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let left = policy.valid_until.saturating_sub(unix_secs());
    let expiry = tokio::time::sleep(Duration::from_secs(left));
    tokio::pin!(expiry);
    let mut limiter = FrameLimiter::new(&policy.limits);
    let mut last_heard = Instant::now();
    let metrics = hub.metrics.clone();
    let ending: Ending = loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(text) => {
                    match tokio::time::timeout(send_timeout, socket.send(WsMessage::Text(text.into()))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break None,
                        Err(_) => {
                            tracing::info!(conn, user = user_id, "slow consumer: a frame waited past the send timeout; dropping socket");
                            metrics.abuse.socket_closed("slow-consumer");
                            break None;
                        }
                    }
                }
                None => break None,
            },
            () = handle.ended() => match handle.end_reason() {
                Some(End::Close { code, reason, metric }) => {
                    metrics.abuse.socket_closed(metric);
                    break Some((code, reason));
                }
                Some(End::Drop { metric }) => {
                    if let Some(metric) = metric {
                        metrics.abuse.socket_closed(metric);
                    }
                    break None;
                }
                None => break None,
            },
            () = &mut expiry => {
                tracing::info!(conn, user = user_id, "token expired; closing socket with 4001");
                metrics.abuse.socket_closed("token-expired");
                break Some((CLOSE_TOKEN_EXPIRED, "token expired"));
            }
            _ = ping.tick() => {
                if last_heard.elapsed() > ping_every * 3 {
                    tracing::info!(conn, user = user_id, "no answer to pings; dropping socket");
                    break None;
                }
                match tokio::time::timeout(send_timeout, socket.send(WsMessage::Ping(Vec::new().into()))).await {
                    Ok(Ok(())) => {}
                    _ => break None,
                }
            }
            inbound = socket.recv() => {
                last_heard = Instant::now();
                let frame = match inbound {
                    Some(Ok(WsMessage::Close(_))) => {
                        // One more read flushes the transport's reply to the close handshake.
                        let _ = tokio::time::timeout(CLOSE_GRACE, socket.recv()).await;
                        break None;
                    }
                    Some(Ok(frame)) => frame,
                    Some(Err(e)) => break protocol_violation(e, conn, user_id, &hub),
                    None => break None,
                };
                match limiter.check() {
                    Verdict::Allow => {}
                    Verdict::Discard { notify } => {
                        if notify {
                            hub.refuse(conn, &VoiceError::RateLimited(limiter.frames_per_sec()));
                        }
                        continue;
                    }
                    Verdict::Close => {
                        tracing::info!(conn, user = user_id, "frame rate exceeded; closing socket with 1008");
                        metrics.abuse.socket_closed("rate-limited");
                        break Some((CLOSE_RATE_LIMITED, "rate limit exceeded"));
                    }
                }
                match frame {
                    WsMessage::Text(text) => handle_text(&hub, conn, text.as_str()),
                    WsMessage::Binary(_) => hub.refuse(conn, &VoiceError::BinaryFrame),
                    // Pings are answered by the transport itself; pongs only prove liveness.
                    WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Close(_) => {}
                }
            }
        }
    };
    if let Some((code, reason)) = ending {
        let close = WsMessage::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(CLOSE_GRACE, socket.send(close)).await;
    }
    hub.disconnect(conn);
    tracing::debug!(conn, user = user_id, "voice socket closed");
}

/// Maps a transport error to its close code (1002 protocol, 1007 invalid UTF-8, 1009 too
/// big), logged at info and counted; I/O errors and resets end the socket silently.
fn protocol_violation(e: axum::Error, conn: ConnId, user: u64, hub: &Hub) -> Ending {
    let inner = e.into_inner();
    let err = inner.downcast_ref::<tungstenite::Error>()?;
    let (code, reason, metric) = match err {
        tungstenite::Error::Utf8(_) => (1007, "invalid UTF-8 in a text frame", "protocol-1007"),
        tungstenite::Error::Capacity(_) => (1009, "message too big", "protocol-1009"),
        tungstenite::Error::Protocol(_) => (1002, "WebSocket protocol violation", "protocol-1002"),
        _ => return None,
    };
    tracing::info!(conn, user, code, "closing socket: {err}");
    hub.metrics.abuse.socket_closed(metric);
    Some((code, reason))
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
