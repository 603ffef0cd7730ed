//! Typed `voice:*` messages: every message of compat-spec §3 (the deployed C++ server's
//! protocol) and the hybrid messages of §6, with the exact JSON keys the server and the old
//! TypeScript clients use. Each payload struct is declared once with its JSON mapping
//! ([`json_struct!`](super::mapping)), and the table at the end ([`voice_messages!`]) makes the
//! `Message` enum, the wire names and both JSON directions. The envelope is
//! `{"type": <name>, "payload": {...}}` with `type` first and `payload` last (compat-spec 2.2a).
//! Adding a message: declare its struct, add one line to the table.

/// A voice channel id (compat-spec H-T2 bounds it to 1..=1_000_000 on the server).
pub type ChannelId = u64;
/// A user id (compat-spec H-T2 bounds it to 1..=100_000_000 on the server).
pub type UserId = u64;

/// Largest channel id the reference server accepts (compat-spec §6.2 H-T2).
pub const MAX_CHANNEL_ID: ChannelId = 1_000_000;
/// Largest user id the reference server accepts (compat-spec §6.2 H-T2).
pub const MAX_USER_ID: UserId = 100_000_000;

/// The transport a call runs on (compat-spec §6: 'p2p' | 'sfu' | 'migrating').
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum CallMode {
    #[default]
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

json_struct! {
    /// `{channel_id}` — used by voice:join's base form and voice:leave.
    pub struct ChannelRef {
        channel_id: ChannelId,
    }

    /// voice:join. The extra keys advertise hybrid capability (H9); the C++ server ignores them.
    pub struct Join {
        channel_id: ChannelId,
        supports_sfu: Option<bool>,
        client_version: Option<String>,
    }

    /// `{type, sdp}` as produced by `RTCSessionDescription.toJSON()`.
    pub struct SessionDescription {
        kind as "type": String,
        sdp: String,
    }

    /// `RTCIceCandidate.toJSON()` shape (camelCase keys, as browsers emit them; `sdpMid` and
    /// `sdpMLineIndex` are written as `null` when absent).
    pub struct IceCandidate {
        candidate: String,
        sdp_mid as "sdpMid": Option<String> = Nullable,
        sdp_m_line_index as "sdpMLineIndex": Option<u16> = Nullable,
        username_fragment as "usernameFragment": Option<String>,
    }

    /// voice:offer (relayed to `target_user_id`; the receiver trusts `from_user_id`, 2.2e).
    pub struct Offer {
        channel_id: ChannelId,
        target_user_id: UserId,
        from_user_id: UserId,
        offer: SessionDescription,
    }

    /// voice:answer.
    pub struct Answer {
        channel_id: ChannelId,
        target_user_id: UserId,
        from_user_id: UserId,
        answer: SessionDescription,
    }

    /// voice:ice-candidate.
    pub struct IceCandidateMsg {
        channel_id: ChannelId,
        target_user_id: UserId,
        from_user_id: UserId,
        candidate: IceCandidate,
    }

    /// voice:mute (client → server). A missing `muted` counts as false, as on the C++ server.
    pub struct Mute {
        channel_id: ChannelId,
        muted: bool = Default,
    }

    /// voice:video-toggle (client → server).
    pub struct VideoToggle {
        channel_id: ChannelId,
        video_enabled: bool = Default,
    }

    /// One entry of voice:participants, and the body of voice:user-joined. `muted`,
    /// `video_enabled` and `supports_sfu` (the member's own voice:join said so: a new client)
    /// are reference-server extras (the C++ server keeps no such state); old clients ignore
    /// them.
    pub struct ParticipantEntry {
        user_id: UserId,
        username: String = Default,
        university: String = Default,
        muted: Option<bool>,
        video_enabled: Option<bool>,
        supports_sfu: Option<bool>,
    }

    /// voice:user-joined (to existing members): the participant's keys beside `channel_id`.
    pub struct UserJoined {
        channel_id: ChannelId,
        user: ParticipantEntry = Flatten,
    }

    /// voice:participants (to the joiner; self excluded). `mode` is the reference server's
    /// advertisement of the mode the channel should be in.
    pub struct Participants {
        channel_id: ChannelId = Default,
        participants: Vec<ParticipantEntry>,
        mode: Option<CallMode>,
    }

    /// voice:user-left.
    pub struct UserLeft {
        channel_id: ChannelId,
        user_id: UserId,
    }

    /// voice:user-muted (server → whole room, sender included).
    pub struct UserMuted {
        channel_id: ChannelId,
        user_id: UserId,
        muted: bool = Default,
    }

    /// voice:user-video-toggled (server → whole room).
    pub struct UserVideoToggled {
        channel_id: ChannelId,
        user_id: UserId,
        video_enabled: bool = Default,
    }

    /// voice:mode-change (server → each participant).
    pub struct ModeChange {
        channel_id: ChannelId,
        new_mode: CallMode,
        sfu_token: Option<String>,
        sfu_url: Option<String>,
        /// 'hard' | 'gradual' | 'opportunistic' (reference-server extra).
        strategy: Option<String>,
    }

    /// voice:mode-change-ack (client → server) with the outcome (H1).
    pub struct ModeChangeAck {
        channel_id: ChannelId,
        user_id: UserId,
        success: bool,
        error: Option<String>,
    }

    /// voice:rollback (server → clients): go back to P2P from any state (H2).
    pub struct Rollback {
        channel_id: ChannelId,
        reason: String = Default,
    }

    /// voice:join-ready (server → a queued joiner, H4).
    pub struct JoinReady {
        mode: CallMode,
        participant_count: u32,
        sfu_token: Option<String>,
        channel_id: ChannelId,
        sfu_url: Option<String>,
        timestamp: u64 = Default,
    }

    /// voice:degraded-mode (server → clients: the SFU is down, P2P forced, H5).
    pub struct DegradedMode {
        message: String = Default,
        max_participants: u32,
    }

    /// voice:error (reference server → sender): a frame was refused; the connection stays up.
    pub struct ErrorReport {
        code: String,
        message: String,
    }
}

voice_messages! {
    "voice:join" => Join(Join),
    "voice:leave" => Leave(ChannelRef),
    "voice:offer" => Offer(Offer),
    "voice:answer" => Answer(Answer),
    "voice:ice-candidate" => IceCandidate(IceCandidateMsg),
    "voice:mute" => Mute(Mute),
    "voice:video-toggle" => VideoToggle(VideoToggle),
    "voice:user-joined" => UserJoined(UserJoined),
    "voice:participants" => Participants(Participants),
    "voice:user-left" => UserLeft(UserLeft),
    "voice:user-muted" => UserMuted(UserMuted),
    "voice:user-video-toggled" => UserVideoToggled(UserVideoToggled),
    "voice:mode-change" => ModeChange(ModeChange),
    "voice:mode-change-ack" => ModeChangeAck(ModeChangeAck),
    "voice:rollback" => Rollback(Rollback),
    "voice:join-ready" => JoinReady(JoinReady),
    "voice:degraded-mode" => DegradedMode(DegradedMode),
    "voice:error" => Error(ErrorReport),
}

impl Message {
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
