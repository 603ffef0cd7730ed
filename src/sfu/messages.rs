//! The LiveKit signal messages this client reads and writes, as `prost` messages holding only
//! the fields it uses, under the names and field numbers of LiveKit's `livekit_rtc.proto` and
//! `livekit_models.proto`. Every other field is unknown to these structs and skipped, as
//! protobuf intends. To read a new field, add it here with LiveKit's field number;
//! `tests/sfu_proto.rs` checks these messages against the full `livekit-protocol` types in
//! both directions.

use prost::alloc::boxed::Box;

/// A frame from the server: one `SignalResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignalResponse {
    #[prost(
        oneof = "Response",
        tags = "1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, \
                24, 25, 26, 27, 28, 29, 30, 31"
    )]
    pub message: Option<Response>,
}

/// What the client reads of a participant's tracks: the `SfuClient` roster shows each one's
/// microphone and camera; a call (without that feature) only needs who is in the room and maps
/// media by stream id, so the bodies are skipped.
#[cfg(feature = "sfu-client")]
pub type Tracks = TrackInfo;
#[cfg(not(feature = "sfu-client"))]
pub type Tracks = ();

/// The body of `SpeakersChanged`: others' speaking feeds only the `SfuClient` roster (a call
/// measures speaking from its own audio graph), so without that feature it is skipped.
#[cfg(feature = "sfu-client")]
pub type Speakers = SpeakersChanged;
#[cfg(not(feature = "sfu-client"))]
pub type Speakers = ();

/// The `SignalResponse` oneof. The variants from `RoomUpdate` on are messages this client
/// does not act on: they are recognised (so that a frame carrying one replaces an earlier
/// variant, as with the full protocol) and their bodies are skipped.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Response {
    #[prost(message, tag = "1")]
    Join(Box<JoinResponse>),
    #[prost(message, tag = "2")]
    Answer(SessionDescription),
    #[prost(message, tag = "3")]
    Offer(SessionDescription),
    #[prost(message, tag = "4")]
    Trickle(TrickleRequest),
    #[prost(message, tag = "5")]
    Update(ParticipantUpdate),
    #[prost(message, tag = "6")]
    TrackPublished(TrackPublishedResponse),
    #[prost(message, tag = "8")]
    Leave(LeaveRequest),
    #[prost(message, tag = "9")]
    Mute(MuteTrackRequest),
    #[prost(message, tag = "10")]
    SpeakersChanged(Speakers),
    #[prost(message, tag = "12")]
    ConnectionQuality(ConnectionQualityUpdate),
    #[prost(string, tag = "16")]
    RefreshToken(String),
    #[prost(message, tag = "19")]
    Reconnect(()),
    #[prost(message, tag = "20")]
    PongResp(Pong),
    #[prost(message, tag = "25")]
    MediaSectionsRequirement(MediaSectionsRequirement),
    /// The legacy pong (a bare timestamp); the client keeps time with `PongResp`.
    #[prost(int64, tag = "18")]
    Pong(i64),
    #[prost(message, tag = "11")]
    RoomUpdate(()),
    #[prost(message, tag = "13")]
    StreamStateUpdate(()),
    #[prost(message, tag = "14")]
    SubscribedQualityUpdate(()),
    #[prost(message, tag = "15")]
    SubscriptionPermissionUpdate(()),
    #[prost(message, tag = "17")]
    TrackUnpublished(()),
    #[prost(message, tag = "21")]
    SubscriptionResponse(()),
    #[prost(message, tag = "22")]
    RequestResponse(()),
    #[prost(message, tag = "23")]
    TrackSubscribed(()),
    #[prost(message, tag = "24")]
    RoomMoved(()),
    #[prost(message, tag = "26")]
    SubscribedAudioCodecUpdate(()),
    #[prost(message, tag = "27")]
    PublishDataTrackResponse(()),
    #[prost(message, tag = "28")]
    UnpublishDataTrackResponse(()),
    #[prost(message, tag = "29")]
    DataTrackSubscriberHandles(()),
    #[prost(message, tag = "30")]
    StoreDataBlobResponse(()),
    #[prost(message, tag = "31")]
    GetDataBlobResponse(()),
}

/// A frame to the server: one `SignalRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignalRequest {
    #[prost(oneof = "Request", tags = "1, 2, 3, 4, 5, 8, 16")]
    pub message: Option<Request>,
}

/// The `SignalRequest` oneof: the requests this client sends.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Request {
    #[prost(message, tag = "1")]
    Offer(SessionDescription),
    #[prost(message, tag = "2")]
    Answer(SessionDescription),
    #[prost(message, tag = "3")]
    Trickle(TrickleRequest),
    #[prost(message, tag = "4")]
    AddTrack(AddTrackRequest),
    #[prost(message, tag = "5")]
    Mute(MuteTrackRequest),
    #[prost(message, tag = "8")]
    Leave(LeaveRequest),
    #[prost(message, tag = "16")]
    PingReq(Ping),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct JoinResponse {
    #[prost(message, optional, tag = "2")]
    pub participant: Option<ParticipantInfo>,
    #[prost(message, repeated, tag = "3")]
    pub other_participants: Vec<ParticipantInfo>,
    #[prost(message, repeated, tag = "5")]
    pub ice_servers: Vec<IceServer>,
    #[prost(bool, tag = "6")]
    pub subscriber_primary: bool,
    #[prost(int32, tag = "10")]
    pub ping_timeout: i32,
    #[prost(int32, tag = "11")]
    pub ping_interval: i32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct IceServer {
    #[prost(string, repeated, tag = "1")]
    pub urls: Vec<String>,
    #[prost(string, tag = "2")]
    pub username: String,
    #[prost(string, tag = "3")]
    pub credential: String,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ParticipantInfo {
    #[prost(string, tag = "1")]
    pub sid: String,
    #[prost(string, tag = "2")]
    pub identity: String,
    /// `participant_info::State`.
    #[prost(int32, tag = "3")]
    pub state: i32,
    #[prost(message, repeated, tag = "4")]
    pub tracks: Vec<Tracks>,
    #[prost(string, tag = "9")]
    pub name: String,
    #[prost(uint32, tag = "10")]
    pub version: u32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TrackInfo {
    #[prost(string, tag = "1")]
    pub sid: String,
    /// `TrackType`.
    #[prost(int32, tag = "2")]
    pub r#type: i32,
    #[prost(bool, tag = "4")]
    pub muted: bool,
    /// `TrackSource`.
    #[prost(int32, tag = "9")]
    pub source: i32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ParticipantUpdate {
    #[prost(message, repeated, tag = "1")]
    pub participants: Vec<ParticipantInfo>,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TrackPublishedResponse {
    #[prost(string, tag = "1")]
    pub cid: String,
    #[prost(message, optional, tag = "2")]
    pub track: Option<TrackInfo>,
}

/// An offer or answer. Its `mid_to_track_id` map (field 4) is neither read nor sent: remote
/// tracks map to participants by their stream id (`PA_…|TR_…`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SessionDescription {
    /// "offer" or "answer".
    #[prost(string, tag = "1")]
    pub r#type: String,
    #[prost(string, tag = "2")]
    pub sdp: String,
    #[prost(uint32, tag = "3")]
    pub id: u32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TrickleRequest {
    #[prost(string, tag = "1")]
    pub candidate_init: String,
    /// `SignalTarget`: publisher 0, subscriber 1.
    #[prost(int32, tag = "2")]
    pub target: i32,
    #[prost(bool, tag = "3")]
    pub r#final: bool,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MuteTrackRequest {
    #[prost(string, tag = "1")]
    pub sid: String,
    #[prost(bool, tag = "2")]
    pub muted: bool,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct LeaveRequest {
    #[prost(bool, tag = "1")]
    pub can_reconnect: bool,
    /// `DisconnectReason`.
    #[prost(int32, tag = "2")]
    pub reason: i32,
    /// `leave_request::Action`.
    #[prost(int32, tag = "3")]
    pub action: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SpeakersChanged {
    #[prost(message, repeated, tag = "1")]
    pub speakers: Vec<SpeakerInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct SpeakerInfo {
    #[prost(string, tag = "1")]
    pub sid: String,
    #[prost(float, tag = "2")]
    pub level: f32,
    #[prost(bool, tag = "3")]
    pub active: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectionQualityUpdate {
    #[prost(message, repeated, tag = "1")]
    pub updates: Vec<ConnectionQualityInfo>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectionQualityInfo {
    #[prost(string, tag = "1")]
    pub participant_sid: String,
    /// `ConnectionQuality`: poor 0, good 1, excellent 2, lost 3.
    #[prost(int32, tag = "2")]
    pub quality: i32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Pong {
    #[prost(int64, tag = "1")]
    pub last_ping_timestamp: i64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MediaSectionsRequirement {
    #[prost(uint32, tag = "1")]
    pub num_audios: u32,
    #[prost(uint32, tag = "2")]
    pub num_videos: u32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct AddTrackRequest {
    /// The browser's track id.
    #[prost(string, tag = "1")]
    pub cid: String,
    #[prost(string, tag = "2")]
    pub name: String,
    /// `TrackType`.
    #[prost(int32, tag = "3")]
    pub r#type: i32,
    #[prost(bool, tag = "6")]
    pub muted: bool,
    /// `TrackSource`.
    #[prost(int32, tag = "8")]
    pub source: i32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Ping {
    #[prost(int64, tag = "1")]
    pub timestamp: i64,
    #[prost(int64, tag = "2")]
    pub rtt: i64,
}

/// What the single-PC `/rtc/v1` URL carries in `join_request` (compression 0: none).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct WrappedJoinRequest {
    /// The encoded [`JoinRequest`].
    #[prost(bytes = "vec", tag = "2")]
    pub join_request: Vec<u8>,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct JoinRequest {
    #[prost(message, optional, tag = "1")]
    pub client_info: Option<ClientInfo>,
    #[prost(message, optional, tag = "2")]
    pub connection_settings: Option<ConnectionSettings>,
    #[prost(message, repeated, tag = "5")]
    pub add_track_requests: Vec<AddTrackRequest>,
    #[prost(message, optional, tag = "6")]
    pub publisher_offer: Option<SessionDescription>,
    #[prost(bool, tag = "7")]
    pub reconnect: bool,
    /// `ReconnectReason`.
    #[prost(int32, tag = "8")]
    pub reconnect_reason: i32,
    #[prost(string, tag = "9")]
    pub participant_sid: String,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ClientInfo {
    /// `client_info::Sdk`.
    #[prost(int32, tag = "1")]
    pub sdk: i32,
    #[prost(string, tag = "2")]
    pub version: String,
    #[prost(int32, tag = "3")]
    pub protocol: i32,
}

#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ConnectionSettings {
    #[prost(bool, tag = "1")]
    pub auto_subscribe: bool,
}
