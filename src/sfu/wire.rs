//! The LiveKit signal frame envelope, walked by hand: a `SignalResponse` is decoded field by
//! field with the wire-format readers of `pb.rs`, and only the oneof variants this client acts on are decoded
//! into their `livekit_protocol` types; a `SignalRequest` is written as the oneof field's key,
//! length and the inner message. This keeps prost's merge/encode code for the dozens of
//! variants we never use out of the wasm.
//!
//! The field numbers are those of `livekit_rtc.proto`; `tests/sfu_proto.rs` pins them against
//! the full `SignalRequest`/`SignalResponse` codecs.

use livekit_protocol as lk;

use super::partial::{self, Description, Joined, Leave, Partial, Published, Reconnected, Update};
use super::pb::{self, DecodeError, WireType};
use super::proto::{ProtoError, MAX_FRAME_BYTES};

/// A server message this client acts on (`Ignored` for the protocol's other variants).
/// `Join`, `Update`, `TrackPublished`, `Reconnect` and `Leave` hold only the fields the client reads
/// (listed in `partial.rs`); their other fields are left at their defaults.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// Boxed: a JoinResponse is several times larger than the other variants.
    Join(Box<Joined>),
    Answer(Description),
    Offer(Description),
    Trickle(lk::TrickleRequest),
    Update(Update),
    TrackPublished(Published),
    Leave(Leave),
    Mute(lk::MuteTrackRequest),
    SpeakersChanged(lk::SpeakersChanged),
    ConnectionQuality(lk::ConnectionQualityUpdate),
    RefreshToken(String),
    Reconnect(Reconnected),
    PongResp(lk::Pong),
    MediaSectionsRequirement(lk::MediaSectionsRequirement),
    /// A `SignalResponse` variant we do not act on, by its field number (its body is skipped).
    Ignored(u32),
}

/// `SignalResponse` oneof field numbers (livekit_rtc.proto).
mod tag {
    pub const JOIN: u32 = 1;
    pub const ANSWER: u32 = 2;
    pub const OFFER: u32 = 3;
    pub const TRICKLE: u32 = 4;
    pub const UPDATE: u32 = 5;
    pub const TRACK_PUBLISHED: u32 = 6;
    pub const LEAVE: u32 = 8;
    pub const MUTE: u32 = 9;
    pub const SPEAKERS_CHANGED: u32 = 10;
    pub const CONNECTION_QUALITY: u32 = 12;
    pub const REFRESH_TOKEN: u32 = 16;
    pub const PONG: u32 = 18;
    pub const RECONNECT: u32 = 19;
    pub const PONG_RESP: u32 = 20;
    pub const MEDIA_SECTIONS_REQUIREMENT: u32 = 25;
    /// The highest field number of the oneof we know (7 is unused).
    pub const LAST_KNOWN: u32 = 31;
}

/// `SignalRequest` oneof field numbers (livekit_rtc.proto).
pub mod request_tag {
    pub const OFFER: u32 = 1;
    pub const ANSWER: u32 = 2;
    pub const TRICKLE: u32 = 3;
    pub const ADD_TRACK: u32 = 4;
    pub const MUTE: u32 = 5;
    pub const LEAVE: u32 = 8;
    pub const PING: u32 = 14;
    pub const PING_REQ: u32 = 16;
}

/// Decodes one binary frame from the server. As with prost, a repeated oneof field replaces
/// an earlier different variant, merges into an earlier same variant, and fields unknown to
/// the protocol are skipped; a frame with no known variant is [`ProtoError::Empty`].
pub fn decode_response(bytes: &[u8]) -> Result<Response, ProtoError> {
    if bytes.len() > MAX_FRAME_BYTES {
        return Err(ProtoError::TooLarge(bytes.len()));
    }
    let mut out = None;
    // Every error of the walk becomes a message in this one place.
    walk(bytes, &mut out).map_err(|e| ProtoError::Malformed(e.message()))?;
    out.ok_or(ProtoError::Empty)
}

/// Applies the `SignalResponse` fields of `buf` in order to the value decoded so far.
fn walk(mut buf: &[u8], out: &mut Option<Response>) -> pb::Result<()> {
    use Response as R;
    // The field number of the variant in `out` (0: none yet).
    let mut last = 0;
    while !buf.is_empty() {
        let (tag, wire) = pb::key(&mut buf)?;
        let known = (1..=tag::LAST_KNOWN).contains(&tag) && tag != 7;
        if !known {
            pb::skip(wire, tag, &mut buf)?;
            continue;
        }
        if tag == tag::PONG {
            pb::scalar(wire, &mut buf)?;
            *out = Some(R::Ignored(tag));
        } else {
            pb::check(WireType::LengthDelimited, wire)?;
            let body = length_delimited(&mut buf)?;
            if tag == tag::REFRESH_TOKEN {
                let token =
                    std::str::from_utf8(body).map_err(|_| DecodeError::INVALID_REFRESH_TOKEN)?;
                *out = Some(R::RefreshToken(token.to_string()));
            } else {
                // As in prost, a repeated oneof field merges into the same variant and
                // replaces another.
                if tag != last {
                    *out = Some(empty(tag));
                }
                if let Some(message) = out.as_mut().and_then(message_of) {
                    partial::merge_body(message, body)?;
                }
            }
        }
        last = tag;
    }
    Ok(())
}

/// An empty message of the variant with field number `tag` (`Ignored` for the variants we
/// do not act on).
fn empty(tag: u32) -> Response {
    use Response as R;
    match tag {
        tag::JOIN => R::Join(Box::default()),
        tag::ANSWER => R::Answer(Default::default()),
        tag::OFFER => R::Offer(Default::default()),
        tag::TRICKLE => R::Trickle(Default::default()),
        tag::UPDATE => R::Update(Default::default()),
        tag::TRACK_PUBLISHED => R::TrackPublished(Default::default()),
        tag::LEAVE => R::Leave(Default::default()),
        tag::MUTE => R::Mute(Default::default()),
        tag::SPEAKERS_CHANGED => R::SpeakersChanged(Default::default()),
        tag::CONNECTION_QUALITY => R::ConnectionQuality(Default::default()),
        tag::RECONNECT => R::Reconnect(Default::default()),
        tag::PONG_RESP => R::PongResp(Default::default()),
        tag::MEDIA_SECTIONS_REQUIREMENT => R::MediaSectionsRequirement(Default::default()),
        _ => R::Ignored(tag),
    }
}

/// The message a variant holds, to merge a body into (`None` for `RefreshToken`, `Ignored`).
/// One `&mut dyn Partial` for all variants: one merge call instead of one per message type.
fn message_of(response: &mut Response) -> Option<&mut dyn Partial> {
    use Response as R;
    Some(match response {
        R::Join(m) => &mut **m,
        R::Answer(m) | R::Offer(m) => m,
        R::Trickle(m) => m,
        R::Update(m) => m,
        R::TrackPublished(m) => m,
        R::Leave(m) => m,
        R::Mute(m) => m,
        R::SpeakersChanged(m) => m,
        R::ConnectionQuality(m) => m,
        R::Reconnect(m) => m,
        R::PongResp(m) => m,
        R::MediaSectionsRequirement(m) => m,
        R::RefreshToken(_) | R::Ignored(_) => return None,
    })
}

/// Takes a length-delimited body off the front of `buf`.
fn length_delimited<'a>(buf: &mut &'a [u8]) -> pb::Result<&'a [u8]> {
    let len = pb::varint(buf)?;
    if len > buf.len() as u64 {
        return Err(DecodeError::LENGTH_EXCEEDS_FRAME);
    }
    let (body, rest) = buf.split_at(len as usize);
    *buf = rest;
    Ok(body)
}

/// A `SignalRequest` frame whose oneof field `tag` holds an already encoded message `body`.
pub fn request_body(tag: u32, body: &[u8]) -> Vec<u8> {
    let mut out = start_frame(tag, WireType::LengthDelimited, body.len());
    pb::put_varint(&mut out, body.len() as u64);
    out.extend_from_slice(body);
    out
}

/// A `SignalRequest` frame whose oneof field `tag` holds the varint `value`.
pub fn request_varint(tag: u32, value: i64) -> Vec<u8> {
    let mut out = start_frame(tag, WireType::Varint, 10);
    pb::put_varint(&mut out, value as u64);
    out
}

#[inline(never)]
fn start_frame(tag: u32, wire: WireType, body: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(body + 8);
    pb::put_key(&mut out, tag, wire);
    out
}
