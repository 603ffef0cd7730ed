//! Pure LiveKit protobuf codec: binary `SignalResponse` frames in, `SignalRequest` frames out,
//! with a typed error for every way a frame can be bad, plus the `/rtc` URL builder.
//!
//! Nothing here touches the browser; it builds and is tested natively.

use livekit_protocol as lk;
use thiserror::Error;

pub use super::wire::{decode_response, Response};
use super::wire::{request, request_body, request_tag as tag};

/// The signalling protocol version we speak (server `CurrentProtocol` in v1.11+).
pub const PROTOCOL_VERSION: u32 = 17;
/// The SDK version we announce with `sdk=js` so that the server's JS gates (ReconnectResponse,
/// browser detection) apply.
pub const SDK_VERSION: &str = "2.23.0";
/// Largest frame we accept from the server (the server chunks updates at ~128 KiB).
pub const MAX_FRAME_BYTES: usize = 1 << 20;

/// Why a signal frame could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
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

impl ProtoError {
    /// A stable machine-readable code for the JS side.
    pub fn code(&self) -> &'static str {
        match self {
            ProtoError::Malformed(_) => "sfu/malformed-frame",
            ProtoError::Empty => "sfu/empty-frame",
            ProtoError::TooLarge(_) => "sfu/frame-too-large",
            ProtoError::TextFrame => "sfu/text-frame",
            ProtoError::Unexpected { .. } => "sfu/unexpected-message",
        }
    }
}

impl crate::error::JsErrorCode for ProtoError {
    fn code(&self) -> &'static str {
        ProtoError::code(self)
    }
}

crate::impl_js_error!(ProtoError);

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
pub fn rtc_url(base: &str, token: &str, resume: Option<(&str, ReconnectReason)>) -> String {
    let base = base.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        base.to_string()
    };
    let mut url = format!(
        "{base}/rtc?access_token={}&auto_subscribe=1&sdk=js&version={SDK_VERSION}&protocol={PROTOCOL_VERSION}",
        percent_encode(token)
    );
    if let Some((sid, reason)) = resume {
        url.push_str(&format!(
            "&reconnect=1&sid={}&reconnect_reason={}",
            percent_encode(sid),
            reason as i32
        ));
    }
    url
}

/// Percent-encodes everything outside the URL-unreserved set.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Builds the client's ping pair (`ping` then `ping_req`) for one interval tick.
pub fn ping_requests(now_ms: i64, rtt_ms: i64) -> [Vec<u8>; 2] {
    [
        super::wire::request_varint(tag::PING, now_ms),
        request(
            tag::PING_REQ,
            &lk::Ping {
                timestamp: now_ms,
                rtt: rtt_ms,
            },
        ),
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
    request_body(
        tag::ADD_TRACK,
        &super::join::add_track(&mic_track_request(cid, muted)),
    )
}

/// A session description frame (`offer` or `answer`) with the given id.
pub fn session_description(kind: &str, sdp: String, id: u32) -> Vec<u8> {
    let tag = if kind == "offer" {
        tag::OFFER
    } else {
        tag::ANSWER
    };
    request_body(tag, &super::join::session_description(kind, &sdp, id))
}

/// A trickle frame; `subscriber` picks the target transport.
pub fn trickle(candidate_json: String, subscriber: bool) -> Vec<u8> {
    let target = if subscriber {
        lk::SignalTarget::Subscriber
    } else {
        lk::SignalTarget::Publisher
    };
    request(
        tag::TRICKLE,
        &lk::TrickleRequest {
            candidate_init: candidate_json,
            target: target as i32,
            r#final: false,
        },
    )
}

/// A mute/unmute frame for the server track sid.
pub fn mute(track_sid: &str, muted: bool) -> Vec<u8> {
    request(
        tag::MUTE,
        &lk::MuteTrackRequest {
            sid: track_sid.to_string(),
            muted,
        },
    )
}

/// Builds the single-PC `/rtc/v1` URL: the JoinRequest (client info, auto-subscribe, our
/// first offer with id 1, optional mic AddTrackRequest, optional resume fields) travels in
/// `join_request` as padded URL-safe base64 of a `WrappedJoinRequest`, so the server answers
/// our offer together with the JoinResponse — no server offer round, no offer debounce.
pub fn rtc_v1_url(
    base: &str,
    token: &str,
    offer_sdp: String,
    offer_id: u32,
    add_track: Option<lk::AddTrackRequest>,
    resume: Option<(&str, ReconnectReason)>,
) -> String {
    let offer = lk::SessionDescription {
        r#type: "offer".to_string(),
        sdp: offer_sdp,
        id: offer_id,
        mid_to_track_id: Default::default(),
    };
    let wrapped = super::join::wrapped_join_request(&offer, add_track.as_ref(), resume);
    let base = rtc_url(base, token, None);
    let (root, query) = base.split_once("/rtc?").unwrap_or((base.as_str(), ""));
    let token_param = query.split('&').next().unwrap_or_default();
    format!(
        "{root}/rtc/v1?{token_param}&join_request={}",
        base64_url(&wrapped)
    )
}

/// The mic AddTrackRequest as a message (for the join request).
pub fn mic_track_request(cid: &str, muted: bool) -> lk::AddTrackRequest {
    lk::AddTrackRequest {
        cid: cid.to_string(),
        name: "microphone".to_string(),
        r#type: lk::TrackType::Audio as i32,
        muted,
        source: lk::TrackSource::Microphone as i32,
        ..Default::default()
    }
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
