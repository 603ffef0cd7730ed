//! Typed `voice:*` messages: every message of compat-spec §3 (the deployed C++ server's
//! protocol) and the hybrid messages of §6, with the exact JSON keys the server and the old
//! TypeScript clients use. Plain data, no I/O: the JSON mapping is hand-written in
//! `from_json`/`to_json`. The envelope is `{"type": <name>, "payload": {...}}` with `type`
//! first and `payload` last (compat-spec 2.2a).

/// A voice channel id (compat-spec H-T2 bounds it to 1..=1_000_000 on the server).
pub type ChannelId = u64;
/// A user id (compat-spec H-T2 bounds it to 1..=100_000_000 on the server).
pub type UserId = u64;

/// Largest channel id the reference server accepts (compat-spec §6.2 H-T2).
pub const MAX_CHANNEL_ID: ChannelId = 1_000_000;
/// Largest user id the reference server accepts (compat-spec §6.2 H-T2).
pub const MAX_USER_ID: UserId = 100_000_000;

/// `{channel_id}` — used by voice:join's base form and voice:leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRef {
    pub channel_id: ChannelId,
}

/// voice:join. The extra keys advertise hybrid capability (H9); the C++ server ignores them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub channel_id: ChannelId,
    pub supports_sfu: Option<bool>,
    pub client_version: Option<String>,
}

/// `{type, sdp}` as produced by `RTCSessionDescription.toJSON()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub kind: String,
    pub sdp: String,
}

/// `RTCIceCandidate.toJSON()` shape (camelCase keys, as browsers emit them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidate {
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub sdp_m_line_index: Option<u16>,
    pub username_fragment: Option<String>,
}

/// voice:offer (relayed to `target_user_id`; the receiver trusts `from_user_id`, 2.2e).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub channel_id: ChannelId,
    pub target_user_id: UserId,
    pub from_user_id: UserId,
    pub offer: SessionDescription,
}

/// voice:answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub channel_id: ChannelId,
    pub target_user_id: UserId,
    pub from_user_id: UserId,
    pub answer: SessionDescription,
}

/// voice:ice-candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidateMsg {
    pub channel_id: ChannelId,
    pub target_user_id: UserId,
    pub from_user_id: UserId,
    pub candidate: IceCandidate,
}

/// voice:mute (client → server). A missing `muted` counts as false, as on the C++ server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mute {
    pub channel_id: ChannelId,
    pub muted: bool,
}

/// voice:video-toggle (client → server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoToggle {
    pub channel_id: ChannelId,
    pub video_enabled: bool,
}

/// One entry of voice:participants, and the body of voice:user-joined. `muted` and
/// `video_enabled` are reference-server extras (the C++ server keeps no such state);
/// old clients ignore them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantEntry {
    pub user_id: UserId,
    pub username: String,
    pub university: String,
    pub muted: Option<bool>,
    pub video_enabled: Option<bool>,
}

/// voice:user-joined (to existing members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserJoined {
    pub channel_id: ChannelId,
    pub user: ParticipantEntry,
}

/// voice:participants (to the joiner; self excluded). `mode` is the reference server's
/// advertisement of the mode the channel should be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participants {
    pub channel_id: ChannelId,
    pub participants: Vec<ParticipantEntry>,
    pub mode: Option<CallMode>,
}

/// voice:user-left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserLeft {
    pub channel_id: ChannelId,
    pub user_id: UserId,
}

/// voice:user-muted (server → whole room, sender included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserMuted {
    pub channel_id: ChannelId,
    pub user_id: UserId,
    pub muted: bool,
}

/// voice:user-video-toggled (server → whole room).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserVideoToggled {
    pub channel_id: ChannelId,
    pub user_id: UserId,
    pub video_enabled: bool,
}

/// The transport a call runs on (compat-spec §6: 'p2p' | 'sfu' | 'migrating').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallMode {
    P2p,
    Sfu,
    Migrating,
}

impl CallMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CallMode::P2p => "p2p",
            CallMode::Sfu => "sfu",
            CallMode::Migrating => "migrating",
        }
    }
}

/// voice:mode-change (server → each participant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeChange {
    pub channel_id: ChannelId,
    pub new_mode: CallMode,
    pub sfu_token: Option<String>,
    pub sfu_url: Option<String>,
    /// 'hard' | 'gradual' | 'opportunistic' (reference-server extra).
    pub strategy: Option<String>,
}

/// voice:mode-change-ack (client → server) with the outcome (H1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModeChangeAck {
    pub channel_id: ChannelId,
    pub user_id: UserId,
    pub success: bool,
    pub error: Option<String>,
}

/// voice:rollback (server → clients): go back to P2P from any state (H2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    pub channel_id: ChannelId,
    pub reason: String,
}

/// voice:join-ready (server → a queued joiner, H4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinReady {
    pub mode: CallMode,
    pub participant_count: u32,
    pub sfu_token: Option<String>,
    pub channel_id: ChannelId,
    pub sfu_url: Option<String>,
    pub timestamp: u64,
}

/// voice:degraded-mode (server → clients: the SFU is down, P2P forced, H5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DegradedMode {
    pub message: String,
    pub max_participants: u32,
}

/// voice:error (reference server → sender): a frame was refused; the connection stays up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReport {
    pub code: String,
    pub message: String,
}

/// Every `voice:*` message. On the wire: `{"type":<type_name>,"payload":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Join(Join),
    Leave(ChannelRef),
    Offer(Offer),
    Answer(Answer),
    IceCandidate(IceCandidateMsg),
    Mute(Mute),
    VideoToggle(VideoToggle),
    UserJoined(UserJoined),
    Participants(Participants),
    UserLeft(UserLeft),
    UserMuted(UserMuted),
    UserVideoToggled(UserVideoToggled),
    ModeChange(ModeChange),
    ModeChangeAck(ModeChangeAck),
    Rollback(Rollback),
    JoinReady(JoinReady),
    DegradedMode(DegradedMode),
    Error(ErrorReport),
}

impl Message {
    /// The wire name, e.g. `"voice:offer"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Message::Join(_) => "voice:join",
            Message::Leave(_) => "voice:leave",
            Message::Offer(_) => "voice:offer",
            Message::Answer(_) => "voice:answer",
            Message::IceCandidate(_) => "voice:ice-candidate",
            Message::Mute(_) => "voice:mute",
            Message::VideoToggle(_) => "voice:video-toggle",
            Message::UserJoined(_) => "voice:user-joined",
            Message::Participants(_) => "voice:participants",
            Message::UserLeft(_) => "voice:user-left",
            Message::UserMuted(_) => "voice:user-muted",
            Message::UserVideoToggled(_) => "voice:user-video-toggled",
            Message::ModeChange(_) => "voice:mode-change",
            Message::ModeChangeAck(_) => "voice:mode-change-ack",
            Message::Rollback(_) => "voice:rollback",
            Message::JoinReady(_) => "voice:join-ready",
            Message::DegradedMode(_) => "voice:degraded-mode",
            Message::Error(_) => "voice:error",
        }
    }

    /// The channel the message is about, where it names one.
    pub fn channel_id(&self) -> Option<ChannelId> {
        Some(match self {
            Message::Join(m) => m.channel_id,
            Message::Leave(m) => m.channel_id,
            Message::Offer(m) => m.channel_id,
            Message::Answer(m) => m.channel_id,
            Message::IceCandidate(m) => m.channel_id,
            Message::Mute(m) => m.channel_id,
            Message::VideoToggle(m) => m.channel_id,
            Message::UserJoined(m) => m.channel_id,
            Message::Participants(m) => m.channel_id,
            Message::UserLeft(m) => m.channel_id,
            Message::UserMuted(m) => m.channel_id,
            Message::UserVideoToggled(m) => m.channel_id,
            Message::ModeChange(m) => m.channel_id,
            Message::ModeChangeAck(m) => m.channel_id,
            Message::Rollback(m) => m.channel_id,
            Message::JoinReady(m) => m.channel_id,
            Message::DegradedMode(_) | Message::Error(_) => return None,
        })
    }

    /// For relayed messages (offer/answer/candidate): `(from_user_id, target_user_id)`.
    pub fn relay_ids(&self) -> Option<(UserId, UserId)> {
        match self {
            Message::Offer(m) => Some((m.from_user_id, m.target_user_id)),
            Message::Answer(m) => Some((m.from_user_id, m.target_user_id)),
            Message::IceCandidate(m) => Some((m.from_user_id, m.target_user_id)),
            _ => None,
        }
    }
}
