//! Pure LiveKit protobuf codec: binary `SignalResponse` frames in, `SignalRequest` frames out,
//! with a typed error for every way a frame can be bad, plus the `/rtc` URL builder. Request
//! bodies are written with the small field writer of `join.rs` (no prost encoder is linked);
//! `tests/sfu_proto.rs` pins every request byte-for-byte against the full codec.
//!
//! Nothing here touches the browser; it builds and is tested natively.

use livekit_protocol as lk;

use super::join::Fields;
pub use super::wire::{decode_response, Response};
use super::wire::{request_body, request_tag as tag};
use crate::text::push_u64;

/// The signalling protocol version we speak (server `CurrentProtocol` in v1.11+).
pub const PROTOCOL_VERSION: u32 = 17;
/// The SDK version we announce with `sdk=js` so that the server's JS gates (ReconnectResponse,
/// browser detection) apply.
pub const SDK_VERSION: &str = "2.23.0";
/// Largest frame we accept from the server (the server chunks updates at ~128 KiB).
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// Why a signal frame could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    /// The bytes are not a valid protobuf `SignalResponse`.
    #[error("malformed protobuf frame: {0}")]
    Malformed(String),
    /// The frame decoded but carried no message we know (a newer server's oneof, or empty).
    #[error("frame carries no known message")]
    Empty,
    /// The frame is bigger than we are willing to decode.
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// A text frame arrived where only binary frames are expected.
    #[error("unexpected text frame")]
    TextFrame,
    /// A well-formed message arrived in a state where it makes no sense.
    #[error("unexpected {got} while {state}")]
    Unexpected {
        got: &'static str,
        state: &'static str,
    },
}

impl crate::error::JsErrorCode for ProtoError {
    fn code(&self) -> &'static str {
        match self {
            ProtoError::Malformed(_) => "sfu/malformed-frame",
            ProtoError::Empty => "sfu/empty-frame",
            ProtoError::TooLarge(_) => "sfu/frame-too-large",
            ProtoError::TextFrame => "sfu/text-frame",
            ProtoError::Unexpected { .. } => "sfu/unexpected-message",
        }
    }
}

/// A short stable name of a response kind, for logs and error messages.
pub fn response_name(message: &Response) -> &'static str {
    match message {
        Response::Join(_) => "join",
        Response::Answer(_) => "answer",
        Response::Offer(_) => "offer",
        Response::Trickle(_) => "trickle",
        Response::Update(_) => "update",
        Response::TrackPublished(_) => "track_published",
        Response::Leave(_) => "leave",
        Response::Mute(_) => "mute",
        Response::SpeakersChanged(_) => "speakers_changed",
        Response::ConnectionQuality(_) => "connection_quality",
        Response::RefreshToken(_) => "refresh_token",
        Response::Reconnect(_) => "reconnect",
        Response::PongResp(_) | Response::Ignored(18) => "pong",
        _ => "other",
    }
}

/// Why we are resuming, as the server's `ReconnectReason` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconnectReason {
    SignalDisconnected = 1,
    PublisherFailed = 2,
    SubscriberFailed = 3,
}

/// Builds the classic dual-PC `/rtc` WebSocket URL. `resume` = (own participant sid, reason).
/// Written with `push_str` and a small number writer rather than `format!` (each `format!` site
/// costs wasm code; the padded hex of `{:02X}` pulls in the padding machinery).
pub fn rtc_url(base: &str, token: &str, resume: Option<(&str, ReconnectReason)>) -> String {
    let mut url = signal_url(base, "/rtc?access_token=", token);
    url.push_str("&auto_subscribe=1&sdk=js&version=");
    url.push_str(SDK_VERSION);
    url.push_str("&protocol=");
    push_u64(&mut url, PROTOCOL_VERSION.into());
    if let Some((sid, reason)) = resume {
        url.push_str("&reconnect=1&sid=");
        url.push_str(&percent_encode(sid));
        url.push_str("&reconnect_reason=");
        push_u64(&mut url, reason as u64);
    }
    url
}

/// `base` as a WebSocket URL (`http(s)://` → `ws(s)://`, trailing `/` removed), then `path`
/// and the percent-encoded `token`.
fn signal_url(base: &str, path: &str, token: &str) -> String {
    let base = crate::text::trim_end_byte(base, b'/');
    let (scheme, rest) = if let Some(rest) = base.strip_prefix("http://") {
        ("ws://", rest)
    } else if let Some(rest) = base.strip_prefix("https://") {
        ("wss://", rest)
    } else {
        ("", base)
    };
    let mut url = String::with_capacity(base.len() + token.len() + 96);
    url.push_str(scheme);
    url.push_str(rest);
    url.push_str(path);
    url.push_str(&percent_encode(token));
    url
}

/// Percent-encodes everything outside the URL-unreserved set.
pub fn percent_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 15)] as char);
        }
    }
    out
}

/// Builds the client's ping pair (`ping` then `ping_req` {timestamp 1, rtt 2}) for one
/// interval tick.
pub fn ping_requests(now_ms: i64, rtt_ms: i64) -> [Vec<u8>; 2] {
    let mut ping = Fields::default();
    ping.varint(1, now_ms as u64).varint(2, rtt_ms as u64);
    [
        super::wire::request_varint(tag::PING, now_ms),
        request_body(tag::PING_REQ, &ping.0),
    ]
}

/// A client-initiated leave (reason CLIENT_INITIATED, action DISCONNECT). Written by hand:
/// only `reason` (field 2) is non-default, and prost's LeaveRequest encoder would link the
/// region-settings encoders too. `tests/sfu_proto.rs` pins the bytes.
pub fn leave_request() -> Vec<u8> {
    let reason = lk::DisconnectReason::ClientInitiated as u8;
    request_body(tag::LEAVE, &[0x10, reason])
}

/// The AddTrackRequest for a microphone track whose browser id is `cid`.
pub fn add_mic_track(cid: &str, muted: bool) -> Vec<u8> {
    request_body(tag::ADD_TRACK, &super::join::add_track(cid, muted))
}

/// A session description frame (`offer` or `answer`) with the given id.
pub fn session_description(kind: &str, sdp: &str, id: u32) -> Vec<u8> {
    let tag = if kind == "offer" {
        tag::OFFER
    } else {
        tag::ANSWER
    };
    request_body(tag, &super::join::session_description(kind, sdp, id))
}

/// A trickle frame (`TrickleRequest` candidate_init 1, target 2); `subscriber` picks the
/// target transport (`SignalTarget`: publisher 0, subscriber 1).
pub fn trickle(candidate_json: String, subscriber: bool) -> Vec<u8> {
    let mut f = Fields::default();
    f.string(1, &candidate_json)
        .varint(2, u64::from(subscriber));
    request_body(tag::TRICKLE, &f.0)
}

/// A mute/unmute frame (`MuteTrackRequest` sid 1, muted 2) for the server track sid.
pub fn mute(track_sid: &str, muted: bool) -> Vec<u8> {
    let mut f = Fields::default();
    f.string(1, track_sid).varint(2, u64::from(muted));
    request_body(tag::MUTE, &f.0)
}

/// Builds the single-PC `/rtc/v1` URL: the JoinRequest (client info, auto-subscribe, our
/// offer with `offer_id`, the optional mic (browser track id, muted) as an AddTrackRequest,
/// optional resume fields) travels in `join_request` as padded URL-safe base64 of a
/// `WrappedJoinRequest`, so the server answers our offer together with the JoinResponse — no
/// server offer round, no offer debounce.
pub fn rtc_v1_url(
    base: &str,
    token: &str,
    offer_sdp: &str,
    offer_id: u32,
    mic: super::join::Mic,
    resume: Option<(&str, ReconnectReason)>,
) -> String {
    let wrapped = super::join::wrapped_join_request(offer_sdp, offer_id, mic, resume);
    let mut url = signal_url(base, "/rtc/v1?access_token=", token);
    url.push_str("&join_request=");
    url.push_str(&base64_url(&wrapped));
    url
}

/// URL-safe base64 with `=` padding (Go's `base64.URLEncoding`, which the server uses).
pub fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
