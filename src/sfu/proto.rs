//! The LiveKit signal codec: binary `SignalResponse` frames in, `SignalRequest` frames out
//! (the prost messages of `messages.rs`), with a typed error for every way a frame can be bad,
//! plus the `/rtc` and `/rtc/v1` URL builders.
//!
//! Nothing here touches the browser; it builds and is tested natively.

use livekit_protocol as lk;
use prost::Message as _;

pub use super::messages::Response;
use super::messages::{
    AddTrackRequest, ClientInfo, ConnectionSettings, JoinRequest, LeaveRequest, MuteTrackRequest,
    Ping, Request, SessionDescription, SignalRequest, SignalResponse, TrickleRequest,
    WrappedJoinRequest,
};

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
    /// The bytes (this many) are not a valid protobuf `SignalResponse`. The decoder's own
    /// reason is not kept: formatting it would ship prost's error texts for a detail no caller
    /// acts on.
    #[error("malformed protobuf frame of {0} bytes")]
    Malformed(usize),
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
        Response::PongResp(_) | Response::Pong(_) => "pong",
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

/// Decodes one binary frame from the server. Unknown fields and oneof variants are skipped; a
/// frame with no variant this protocol version knows is [`ProtoError::Empty`].
pub fn decode_response(bytes: &[u8]) -> Result<Response, ProtoError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(ProtoError::TooLarge(bytes.len()));
    }
    SignalResponse::decode(bytes)
        .map_err(|_| ProtoError::Malformed(bytes.len()))?
        .message
        .ok_or(ProtoError::Empty)
}

/// One `SignalRequest` frame.
fn request(message: Request) -> Vec<u8> {
    SignalRequest {
        message: Some(message),
    }
    .encode_to_vec()
}

/// Builds the classic dual-PC `/rtc` WebSocket URL. `resume` = (own participant sid, reason).
pub fn rtc_url(base: &str, token: &str, resume: Option<(&str, ReconnectReason)>) -> String {
    let mut url = format!(
        "{}&auto_subscribe=1&sdk=js&version={SDK_VERSION}&protocol={PROTOCOL_VERSION}",
        signal_url(base, "/rtc", token)
    );
    if let Some((sid, reason)) = resume {
        url += &format!(
            "&reconnect=1&sid={}&reconnect_reason={}",
            percent_encode(sid),
            reason as u32
        );
    }
    url
}

/// `base` as a WebSocket URL (`http(s)://` → `ws(s)://`, trailing `/` removed), then `path`
/// and the percent-encoded `token` as `access_token`.
fn signal_url(base: &str, path: &str, token: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else {
        base.to_string()
    };
    format!("{base}{path}?access_token={}", percent_encode(token))
}

/// Percent-encodes everything outside the URL-unreserved set (upper-case hex, RFC 3986).
pub fn percent_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 15)]));
        }
    }
    out
}

/// The client's ping for one interval tick: `ping_req` with our RTT (livekit-server answers
/// `pong_resp`; the legacy bare `ping` is for servers older than protocol 9).
pub fn ping_request(now_ms: i64, rtt_ms: i64) -> Vec<u8> {
    request(Request::PingReq(Ping {
        timestamp: now_ms,
        rtt: rtt_ms,
    }))
}

/// A client-initiated leave (reason CLIENT_INITIATED, action DISCONNECT).
pub fn leave_request() -> Vec<u8> {
    request(Request::Leave(LeaveRequest {
        can_reconnect: false,
        reason: lk::DisconnectReason::ClientInitiated as i32,
        action: lk::leave_request::Action::Disconnect as i32,
    }))
}

/// A track we publish: its browser track id (`cid`), whether it is the camera (else the
/// microphone), and whether it starts muted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publication<'a> {
    pub cid: &'a str,
    pub camera: bool,
    pub muted: bool,
}

/// The AddTrackRequest announcing `track` (LiveKit learns its size from the media itself).
fn add_track_request(track: Publication) -> AddTrackRequest {
    let (name, kind, source) = if track.camera {
        ("camera", lk::TrackType::Video, lk::TrackSource::Camera)
    } else {
        (
            "microphone",
            lk::TrackType::Audio,
            lk::TrackSource::Microphone,
        )
    };
    AddTrackRequest {
        cid: track.cid.to_string(),
        name: name.to_string(),
        r#type: kind as i32,
        muted: track.muted,
        source: source as i32,
    }
}

/// The AddTrackRequest frame for `track`.
pub fn add_track(track: Publication) -> Vec<u8> {
    request(Request::AddTrack(add_track_request(track)))
}

fn description(kind: &str, sdp: &str, id: u32) -> SessionDescription {
    SessionDescription {
        r#type: kind.to_string(),
        sdp: sdp.to_string(),
        id,
    }
}

/// A session description frame (`offer` or `answer`) with the given id.
pub fn session_description(kind: &str, sdp: &str, id: u32) -> Vec<u8> {
    let description = description(kind, sdp, id);
    request(if kind == "offer" {
        Request::Offer(description)
    } else {
        Request::Answer(description)
    })
}

/// A trickle frame; `subscriber` picks the target transport.
pub fn trickle(candidate_json: String, subscriber: bool) -> Vec<u8> {
    let target = if subscriber {
        lk::SignalTarget::Subscriber
    } else {
        lk::SignalTarget::Publisher
    };
    request(Request::Trickle(TrickleRequest {
        candidate_init: candidate_json,
        target: target as i32,
        r#final: false,
    }))
}

/// A mute/unmute frame for the server track sid.
pub fn mute(track_sid: &str, muted: bool) -> Vec<u8> {
    request(Request::Mute(MuteTrackRequest {
        sid: track_sid.to_string(),
        muted,
    }))
}

/// The single-PC `JoinRequest`: JS SDK client info, auto-subscribe, the tracks we publish
/// (the microphone and the camera, each if any), our offer, and for a resume the reconnect
/// flag, reason and our participant sid.
pub fn join_request(
    offer_sdp: &str,
    offer_id: u32,
    tracks: &[Option<Publication>],
    resume: Option<(&str, ReconnectReason)>,
) -> JoinRequest {
    let (reconnect, reconnect_reason, participant_sid) = match resume {
        Some((sid, reason)) => (true, reason as i32, sid.to_string()),
        None => (false, 0, String::new()),
    };
    JoinRequest {
        client_info: Some(ClientInfo {
            sdk: lk::client_info::Sdk::Js as i32,
            version: SDK_VERSION.to_string(),
            protocol: PROTOCOL_VERSION as i32,
        }),
        connection_settings: Some(ConnectionSettings {
            auto_subscribe: true,
        }),
        add_track_requests: tracks
            .iter()
            .flatten()
            .copied()
            .map(add_track_request)
            .collect(),
        publisher_offer: Some(description("offer", offer_sdp, offer_id)),
        reconnect,
        reconnect_reason,
        participant_sid,
    }
}

/// Builds the single-PC `/rtc/v1` URL: the [`join_request`] travels in `join_request` as padded
/// URL-safe base64 of a `WrappedJoinRequest`, so the server answers our offer together with
/// the JoinResponse — no server offer round, no offer debounce.
pub fn rtc_v1_url(
    base: &str,
    token: &str,
    offer_sdp: &str,
    offer_id: u32,
    tracks: &[Option<Publication>],
    resume: Option<(&str, ReconnectReason)>,
) -> String {
    let wrapped = WrappedJoinRequest {
        join_request: join_request(offer_sdp, offer_id, tracks, resume).encode_to_vec(),
    };
    format!(
        "{}&join_request={}",
        signal_url(base, "/rtc/v1", token),
        base64_url(&wrapped.encode_to_vec())
    )
}

/// URL-safe base64 with `=` padding (Go's `base64.URLEncoding`, which the server uses).
pub fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
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
