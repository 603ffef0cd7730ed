//! Field-walking decoders for the large server messages: of `JoinResponse`,
//! `ParticipantInfo`, `TrackInfo`, `ParticipantUpdate`, `TrackPublishedResponse`,
//! `SessionDescription`, `ReconnectResponse` and `LeaveRequest` only the fields the client
//! reads are decoded — into small structs of their own (`Joined`, `Peer`, `Track`, `Update`,
//! `Published`, `Description`; same field names) or, for the last two, the
//! `livekit_protocol` types; every other field (room, server info, client configuration,
//! codecs, permissions, attributes, video layers, data tracks, regions…) is skipped unread.
//! prost's decoders, defaults, clones and drops of those big messages are then not linked.
//!
//! Read fields: JoinResponse participant, other_participants, ice_servers, subscriber_primary,
//! ping_timeout, ping_interval; ParticipantInfo sid, identity, state, tracks, name, version;
//! TrackInfo sid, type, muted, source; ReconnectResponse none; LeaveRequest
//! can_reconnect, reason, action; SessionDescription (offers and answers) sdp and id, into the
//! client's own `Description`.
//! The small messages (TrickleRequest, MuteTrackRequest, SpeakersChanged, ConnectionQuality-
//! Update, Pong, MediaSectionsRequirement, IceServer) are read whole with the same walker, so
//! no prost `Message::merge` is linked for any server message.
//! A field added to the client's reads must be added here
//! (`tests/sfu_proto.rs` compares these fields with the full prost decode). Field numbers are
//! those of livekit_models.proto / livekit_rtc.proto.

use livekit_protocol as lk;

use super::pb::{self, DecodeError, WireType};

/// A message decoded field by field; unknown and unread fields are skipped.
pub trait Partial {
    /// Decodes (or skips) one field whose key was just read.
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError>;
}

/// Merges a whole message body into `msg` (prost's merge semantics for the read fields).
pub fn merge_body(msg: &mut dyn Partial, mut buf: &[u8]) -> Result<(), DecodeError> {
    while !buf.is_empty() {
        let (tag, wire) = pb::key(&mut buf)?;
        msg.field(tag, wire, &mut buf)?;
    }
    Ok(())
}

/// A length-delimited nested body, taken off the front of `buf` (prost checks the length).
fn nested<'a>(wire: WireType, buf: &mut &'a [u8]) -> Result<&'a [u8], DecodeError> {
    pb::bytes(wire, buf)
}

/// One more element of a repeated partially decoded message. Only the push is generic: the
/// element is decoded in place by the shared `merge_nested` (on an error the whole frame is
/// dropped, so the half-decoded element does no harm).
fn push_nested<M: Partial + Default>(
    list: &mut Vec<M>,
    wire: WireType,
    buf: &mut &[u8],
) -> Result<(), DecodeError> {
    list.push(M::default());
    let last = list.len() - 1;
    merge_nested(&mut list[last], wire, buf)
}

/// Merges the nested message body at the front of `buf` into `msg`.
#[inline(never)]
fn merge_nested(msg: &mut dyn Partial, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
    merge_body(msg, nested(wire, buf)?)
}

fn skip(tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
    pb::skip(wire, tag, buf)
}

fn string(wire: WireType, value: &mut String, buf: &mut &[u8]) -> Result<(), DecodeError> {
    pb::string(wire, value, buf)
}

// The scalar kinds, narrowed from the varint as prost does (`as` the field's type).

fn int32(wire: WireType, value: &mut i32, buf: &mut &[u8]) -> Result<(), DecodeError> {
    *value = pb::scalar(wire, buf)? as i32;
    Ok(())
}

fn uint32(wire: WireType, value: &mut u32, buf: &mut &[u8]) -> Result<(), DecodeError> {
    *value = pb::scalar(wire, buf)? as u32;
    Ok(())
}

fn int64(wire: WireType, value: &mut i64, buf: &mut &[u8]) -> Result<(), DecodeError> {
    *value = pb::scalar(wire, buf)? as i64;
    Ok(())
}

fn boolean(wire: WireType, value: &mut bool, buf: &mut &[u8]) -> Result<(), DecodeError> {
    *value = pb::scalar(wire, buf)? != 0;
    Ok(())
}

fn float(wire: WireType, value: &mut f32, buf: &mut &[u8]) -> Result<(), DecodeError> {
    *value = pb::float(wire, buf)?;
    Ok(())
}

fn ice_server(
    list: &mut Vec<lk::IceServer>,
    wire: WireType,
    buf: &mut &[u8],
) -> Result<(), DecodeError> {
    push_nested(list, wire, buf)
}

/// A server offer or answer (`SessionDescription`) as the client reads it: the sdp and the
/// offer id. Its `mid_to_track_id` map is skipped: the client maps remote tracks to
/// participants by their stream id (`PA_…|TR_…`), never by track sid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Description {
    pub sdp: String,
    pub id: u32,
}

impl Partial for Description {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            2 => string(wire, &mut self.sdp, buf),
            3 => uint32(wire, &mut self.id, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

/// The read fields of a `JoinResponse` (same names as in `livekit_protocol`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Joined {
    pub participant: Option<Peer>,
    pub other_participants: Vec<Peer>,
    pub ice_servers: Vec<lk::IceServer>,
    pub subscriber_primary: bool,
    pub ping_timeout: i32,
    pub ping_interval: i32,
}

/// The read fields of a `ParticipantInfo`: all the roster keeps of a participant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Peer {
    pub sid: String,
    pub identity: String,
    pub state: i32,
    pub tracks: Vec<Track>,
    pub name: String,
    pub version: u32,
}

/// The read fields of a `TrackInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Track {
    pub sid: String,
    pub r#type: i32,
    pub muted: bool,
    pub source: i32,
}

/// The read field of a `ParticipantUpdate`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    pub participants: Vec<Peer>,
}

/// The read fields of a `TrackPublishedResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Published {
    pub cid: String,
    pub track: Option<Track>,
}

impl Partial for Joined {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            2 => merge_nested(
                self.participant.get_or_insert_with(Default::default),
                wire,
                buf,
            ),
            3 => push_nested(&mut self.other_participants, wire, buf),
            5 => ice_server(&mut self.ice_servers, wire, buf),
            6 => boolean(wire, &mut self.subscriber_primary, buf),
            10 => int32(wire, &mut self.ping_timeout, buf),
            11 => int32(wire, &mut self.ping_interval, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for Peer {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => string(wire, &mut self.sid, buf),
            2 => string(wire, &mut self.identity, buf),
            3 => int32(wire, &mut self.state, buf),
            4 => push_nested(&mut self.tracks, wire, buf),
            9 => string(wire, &mut self.name, buf),
            10 => uint32(wire, &mut self.version, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for Track {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => string(wire, &mut self.sid, buf),
            2 => int32(wire, &mut self.r#type, buf),
            4 => boolean(wire, &mut self.muted, buf),
            9 => int32(wire, &mut self.source, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

/// A `ReconnectResponse`: the client reads none of its fields (its ICE servers apply only to
/// new peer connections, and a resume keeps ours), so every field is skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconnected;

impl Partial for Reconnected {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        skip(tag, wire, buf)
    }
}

/// The read fields of a `LeaveRequest` (its region list is skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leave {
    pub can_reconnect: bool,
    pub reason: i32,
    pub action: i32,
}

impl Partial for Update {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => push_nested(&mut self.participants, wire, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for Published {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => string(wire, &mut self.cid, buf),
            2 => merge_nested(self.track.get_or_insert_with(Default::default), wire, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for Leave {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => boolean(wire, &mut self.can_reconnect, buf),
            2 => int32(wire, &mut self.reason, buf),
            3 => int32(wire, &mut self.action, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

// The small messages the client reads whole, decoded with the same walker: every field of
// theirs is read, so the result equals prost's (tests compare with the full codec), without
// a prost `Message::merge` instance per message type.

impl Partial for lk::TrickleRequest {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => string(wire, &mut self.candidate_init, buf),
            2 => int32(wire, &mut self.target, buf),
            3 => boolean(wire, &mut self.r#final, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for lk::MuteTrackRequest {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => string(wire, &mut self.sid, buf),
            2 => boolean(wire, &mut self.muted, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for lk::SpeakersChanged {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => push_nested(&mut self.speakers, wire, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for lk::SpeakerInfo {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => string(wire, &mut self.sid, buf),
            2 => float(wire, &mut self.level, buf),
            3 => boolean(wire, &mut self.active, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for lk::ConnectionQualityUpdate {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => push_nested(&mut self.updates, wire, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for lk::ConnectionQualityInfo {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => string(wire, &mut self.participant_sid, buf),
            2 => int32(wire, &mut self.quality, buf),
            3 => float(wire, &mut self.score, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for lk::Pong {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => int64(wire, &mut self.last_ping_timestamp, buf),
            2 => int64(wire, &mut self.timestamp, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for lk::MediaSectionsRequirement {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => uint32(wire, &mut self.num_audios, buf),
            2 => uint32(wire, &mut self.num_videos, buf),
            _ => skip(tag, wire, buf),
        }
    }
}

impl Partial for lk::IceServer {
    fn field(&mut self, tag: u32, wire: WireType, buf: &mut &[u8]) -> Result<(), DecodeError> {
        match tag {
            1 => {
                let mut url = String::new();
                string(wire, &mut url, buf)?;
                self.urls.push(url);
                Ok(())
            }
            2 => string(wire, &mut self.username, buf),
            3 => string(wire, &mut self.credential, buf),
            _ => skip(tag, wire, buf),
        }
    }
}
