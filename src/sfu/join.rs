//! Request bodies written by hand: the single-PC `JoinRequest` (client info, connection
//! settings, the mic's AddTrackRequest, our offer, the resume fields) and the SessionDescription
//! and AddTrackRequest bodies, with only the fields this client sets, in field order and without
//! default values — exactly as prost writes them, without linking prost's encoders for fields we
//! never send (`sync_state` alone pulls in TrackInfo, DataTrackInfo and more; the offer's
//! `mid_to_track_id` map pulls in hash-map encoding). The inputs are plain strings and flags, not
//! `livekit_protocol` messages, so neither their `Default` nor their drop code (nor the offer's
//! `HashMap` with its random hasher state) is linked. `tests/sfu_proto.rs` pins the bytes against
//! the full prost encoders. Field numbers are those of livekit_rtc.proto / livekit_models.proto.

use super::pb::{put_key, put_varint, WireType};
use livekit_protocol as lk;

use super::proto::{ReconnectReason, PROTOCOL_VERSION, SDK_VERSION};

/// Appends protobuf fields, leaving out default scalars as proto3 does.
#[derive(Default)]
pub struct Fields(pub Vec<u8>);

impl Fields {
    /// A varint field (bool, enum, int32 ≥ 0, uint32, int64), omitted when 0.
    pub fn varint(&mut self, tag: u32, value: u64) -> &mut Self {
        if value != 0 {
            put_key(&mut self.0, tag, WireType::Varint);
            put_varint(&mut self.0, value);
        }
        self
    }

    /// A string field, omitted when empty.
    pub fn string(&mut self, tag: u32, value: &str) -> &mut Self {
        if !value.is_empty() {
            self.bytes(tag, value.as_bytes());
        }
        self
    }

    /// A length-delimited field written even when empty (a set message or bytes).
    pub fn bytes(&mut self, tag: u32, value: &[u8]) -> &mut Self {
        put_key(&mut self.0, tag, WireType::LengthDelimited);
        put_varint(&mut self.0, value.len() as u64);
        self.0.extend_from_slice(value);
        self
    }
}

/// The `SessionDescription` body (type 1, sdp 2, id 3; our `mid_to_track_id` is always empty).
pub fn session_description(kind: &str, sdp: &str, id: u32) -> Vec<u8> {
    let mut f = Fields(Vec::with_capacity(sdp.len() + 16));
    f.string(1, kind).string(2, sdp).varint(3, u64::from(id));
    f.0
}

/// The microphone's `AddTrackRequest` body (browser track id `cid`): cid 1, name 2
/// ("microphone"), type 3 (audio), muted 6, source 8 (microphone).
pub fn add_track(cid: &str, muted: bool) -> Vec<u8> {
    let mut f = Fields::default();
    f.string(1, cid)
        .string(2, "microphone")
        .varint(3, lk::TrackType::Audio as u64)
        .varint(6, u64::from(muted))
        .varint(8, lk::TrackSource::Microphone as u64);
    f.0
}

/// The microphone of a join request: (browser track id, muted).
pub type Mic<'a> = Option<(&'a str, bool)>;

/// The encoded `WrappedJoinRequest` (field 2, `join_request`; compression stays 0 = none).
pub fn wrapped_join_request(
    offer_sdp: &str,
    offer_id: u32,
    mic: Mic,
    resume: Option<(&str, ReconnectReason)>,
) -> Vec<u8> {
    let mut f = Fields::default();
    f.bytes(2, &join_request(offer_sdp, offer_id, mic, resume));
    f.0
}

/// The encoded `JoinRequest`: JS SDK client info (1), auto-subscribe (2), the optional mic track
/// (5), our offer (6), and for a resume the reconnect flag (7), reason (8) and sid (9).
pub fn join_request(
    offer_sdp: &str,
    offer_id: u32,
    mic: Mic,
    resume: Option<(&str, ReconnectReason)>,
) -> Vec<u8> {
    let mut client_info = Fields::default();
    client_info
        .varint(1, lk::client_info::Sdk::Js as u64)
        .string(2, SDK_VERSION)
        .varint(3, u64::from(PROTOCOL_VERSION));
    let mut settings = Fields::default();
    settings.varint(1, 1);
    let mut f = Fields(Vec::with_capacity(offer_sdp.len() + 256));
    f.bytes(1, &client_info.0).bytes(2, &settings.0);
    if let Some((cid, muted)) = mic {
        f.bytes(5, &add_track(cid, muted));
    }
    f.bytes(6, &session_description("offer", offer_sdp, offer_id));
    if let Some((sid, reason)) = resume {
        f.varint(7, 1).varint(8, reason as u64).string(9, sid);
    }
    f.0
}
