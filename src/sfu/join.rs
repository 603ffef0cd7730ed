//! The single-PC join request, written by hand: only the `JoinRequest` fields this client sets
//! (client info, connection settings, the mic's AddTrackRequest, our offer, the resume fields),
//! in field order and without default values, exactly as prost writes them — without linking
//! prost's encoder for the fields we never send (`sync_state` alone pulls in TrackInfo,
//! DataTrackInfo and more). `tests/sfu_proto.rs` pins the bytes against
//! `JoinRequest { .. }.encode_to_vec()`.

use livekit_protocol as lk;
use prost::encoding::{self, WireType};

use super::proto::{ReconnectReason, PROTOCOL_VERSION, SDK_VERSION};

/// `JoinRequest` field numbers (livekit_rtc.proto).
mod tag {
    pub const CLIENT_INFO: u32 = 1;
    pub const CONNECTION_SETTINGS: u32 = 2;
    pub const ADD_TRACK_REQUESTS: u32 = 5;
    pub const PUBLISHER_OFFER: u32 = 6;
    pub const RECONNECT: u32 = 7;
    pub const RECONNECT_REASON: u32 = 8;
    pub const PARTICIPANT_SID: u32 = 9;
    /// `WrappedJoinRequest.join_request` (field 1, `compression`, stays 0 = none).
    pub const WRAPPED_JOIN_REQUEST: u32 = 2;
}

/// The encoded `WrappedJoinRequest` (no compression) around our `JoinRequest`.
pub fn wrapped_join_request(
    offer: &lk::SessionDescription,
    add_track: Option<&lk::AddTrackRequest>,
    resume: Option<(&str, ReconnectReason)>,
) -> Vec<u8> {
    let join = join_request(offer, add_track, resume);
    let mut out = Vec::with_capacity(join.len() + 8);
    encoding::bytes::encode(tag::WRAPPED_JOIN_REQUEST, &join, &mut out);
    out
}

/// The encoded `JoinRequest`: JS SDK client info, auto-subscribe, the optional mic track, our
/// offer, and for a resume the reconnect flag, reason and our participant sid.
pub fn join_request(
    offer: &lk::SessionDescription,
    add_track: Option<&lk::AddTrackRequest>,
    resume: Option<(&str, ReconnectReason)>,
) -> Vec<u8> {
    let client_info = lk::ClientInfo {
        sdk: lk::client_info::Sdk::Js as i32,
        version: SDK_VERSION.to_string(),
        protocol: PROTOCOL_VERSION as i32,
        ..Default::default()
    };
    let settings = lk::ConnectionSettings {
        auto_subscribe: true,
        ..Default::default()
    };
    let mut out = Vec::with_capacity(offer.sdp.len() + 256);
    encoding::message::encode(tag::CLIENT_INFO, &client_info, &mut out);
    encoding::message::encode(tag::CONNECTION_SETTINGS, &settings, &mut out);
    if let Some(add_track) = add_track {
        encoding::message::encode(tag::ADD_TRACK_REQUESTS, add_track, &mut out);
    }
    encoding::message::encode(tag::PUBLISHER_OFFER, offer, &mut out);
    if let Some((sid, reason)) = resume {
        encoding::encode_key(tag::RECONNECT, WireType::Varint, &mut out);
        encoding::encode_varint(1, &mut out);
        encoding::encode_key(tag::RECONNECT_REASON, WireType::Varint, &mut out);
        encoding::encode_varint(reason as u64, &mut out);
        if !sid.is_empty() {
            encoding::string::encode(tag::PARTICIPANT_SID, &sid.to_string(), &mut out);
        }
    }
    out
}
