//! Handling of each client → server `voice:*` message (compat-spec §3.1, with the reference
//! server's stricter rules): join/leave with participants and mute/video state, relays of
//! offer/answer/ice-candidate only between live members with an honest `from_user_id`,
//! mute/video broadcasts, and mode-change acks. Every refusal is a [`VoiceError`] sent back
//! to the sender as `voice:error {code, message}`; the connection stays open.

use std::time::Instant;

use sohbet_rtc::signal::{
    encode, CallMode, ChannelId, CodecError, Join, Message, ModeChangeAck, ParticipantEntry,
    Participants, UserId, UserJoined, UserMuted, UserVideoToggled, MAX_CHANNEL_ID, MAX_FRAME_BYTES,
    MAX_USER_ID,
};
use thiserror::Error;

use crate::auth::UserInfo;
use crate::hub::{Conn, ConnId, Hub, HubState, Queued};
use crate::hub::{Member, Room};
use crate::migration::FailReason;
use crate::modes::Effect;

/// Why a client frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VoiceError {
    #[error("channel_id {0} is outside 1..={MAX_CHANNEL_ID}")]
    BadChannelId(ChannelId),
    #[error("user id {0} is outside 1..={MAX_USER_ID}")]
    BadUserId(UserId),
    #[error("ids must be positive integers within their range")]
    UnrepresentableId,
    #[error("you are not a live member of channel {0}")]
    NotAMember(ChannelId),
    #[error("user {target} is not a live member of channel {channel}")]
    TargetNotInChannel { channel: ChannelId, target: UserId },
    #[error("from_user_id {claimed} is not the authenticated user {actual}")]
    WrongSender { claimed: UserId, actual: UserId },
    #[error("frame of {0} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")]
    FrameTooLarge(usize),
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("unknown message type: {0}")]
    UnknownType(String),
    #[error("{0} is sent by the server, not by clients")]
    UnexpectedType(&'static str),
    #[error("binary frames are not supported; send JSON text")]
    BinaryFrame,
    #[error("channel {0} does not exist")]
    UnknownChannel(ChannelId),
    #[error("channel {0} is private; only its creator may join")]
    Forbidden(ChannelId),
    #[error("user {0} is not reading its messages; the frame was dropped, send it later")]
    TargetBusy(UserId),
    #[error("too many frames; this one was dropped (limit {0} frames per second)")]
    RateLimited(u32),
}

impl VoiceError {
    /// The stable code carried in `voice:error`.
    pub fn code(&self) -> &'static str {
        match self {
            VoiceError::BadChannelId(_)
            | VoiceError::BadUserId(_)
            | VoiceError::UnrepresentableId => "bad-id",
            VoiceError::NotAMember(_) => "not-a-member",
            VoiceError::TargetNotInChannel { .. } => "target-not-in-channel",
            VoiceError::WrongSender { .. } => "wrong-sender",
            VoiceError::FrameTooLarge(_) => "frame-too-large",
            VoiceError::Malformed(_) => "malformed",
            VoiceError::UnknownType(_) => "unknown-type",
            VoiceError::UnexpectedType(_) => "unexpected-type",
            VoiceError::BinaryFrame => "binary-frame",
            VoiceError::UnknownChannel(_) => "unknown-channel",
            VoiceError::Forbidden(_) => "forbidden",
            VoiceError::TargetBusy(_) => "target-busy",
            VoiceError::RateLimited(_) => "rate-limited",
        }
    }
}

impl From<CodecError> for VoiceError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::UnknownType(kind) => VoiceError::UnknownType(kind),
            CodecError::FrameTooLarge { size, .. } => VoiceError::FrameTooLarge(size),
            other => VoiceError::Malformed(other.to_string()),
        }
    }
}

fn check_channel(id: ChannelId) -> Result<(), VoiceError> {
    if (1..=MAX_CHANNEL_ID).contains(&id) {
        Ok(())
    } else {
        Err(VoiceError::BadChannelId(id))
    }
}

fn check_user(id: UserId) -> Result<(), VoiceError> {
    if (1..=MAX_USER_ID).contains(&id) {
        Ok(())
    } else {
        Err(VoiceError::BadUserId(id))
    }
}

fn is_member(st: &HubState, channel_id: ChannelId, user: UserId) -> bool {
    st.rooms
        .get(&channel_id)
        .is_some_and(|r| r.members.contains_key(&user))
}

impl Hub {
    /// Handles one decoded message from connection `conn`; refusals go back as voice:error.
    /// Only the shard of the message's channel is locked.
    pub fn handle(&self, conn: ConnId, msg: Message) {
        let received = Instant::now();
        let Some(c) = self.conns.get(conn) else {
            return;
        };
        let result = match &msg {
            Message::Join(j) => self.join_checked(&c, j, received),
            Message::Leave(_)
            | Message::Offer(_)
            | Message::Answer(_)
            | Message::IceCandidate(_)
            | Message::Mute(_)
            | Message::VideoToggle(_)
            | Message::ModeChangeAck(_) => match msg.channel_id() {
                Some(channel_id) => check_channel(channel_id).and_then(|()| {
                    let mut st = self.shard(channel_id);
                    self.dispatch(&mut st, &c, &msg)
                }),
                None => Err(VoiceError::UnexpectedType(msg.type_name())),
            },
            other => Err(VoiceError::UnexpectedType(other.type_name())),
        };
        if let Err(e) = result {
            tracing::debug!(user = c.user.id, code = e.code(), "refused: {e}");
            self.refuse(conn, &e);
        }
    }

    fn dispatch(&self, st: &mut HubState, c: &Conn, msg: &Message) -> Result<(), VoiceError> {
        let user = &c.user;
        match msg {
            Message::Leave(l) => self.leave(st, user, l.channel_id),
            Message::Offer(_) | Message::Answer(_) | Message::IceCandidate(_) => {
                self.relay(st, user, msg)
            }
            Message::Mute(m) => self.set_flag(st, user, m.channel_id, Flag::Muted(m.muted)),
            Message::VideoToggle(v) => {
                self.set_flag(st, user, v.channel_id, Flag::Video(v.video_enabled))
            }
            Message::ModeChangeAck(ack) => self.record_ack(st, user, ack),
            other => Err(VoiceError::UnexpectedType(other.type_name())),
        }
    }

    /// Whether `user` may join `channel_id`: the channel must exist (dev mode: any id in
    /// range), and a private channel only admits its creator.
    fn may_join(&self, user: &UserInfo, channel_id: ChannelId) -> Result<(), VoiceError> {
        let store = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        match store.get(channel_id) {
            None if self.settings.allow_unknown_channels => Ok(()),
            None => Err(VoiceError::UnknownChannel(channel_id)),
            Some(ch) if !ch.admits(user.id) => Err(VoiceError::Forbidden(channel_id)),
            Some(_) => Ok(()),
        }
    }

    /// voice:join after the checks; a socket in another room leaves it first (one room
    /// per socket).
    fn join_checked(&self, c: &Conn, join: &Join, received: Instant) -> Result<(), VoiceError> {
        let channel_id = join.channel_id;
        check_channel(channel_id)?;
        self.may_join(&c.user, channel_id)?;
        if let Some(previous) = c.joined().filter(|p| *p != channel_id) {
            let mut st = self.shard(previous);
            self.remove_if_joined_through(&mut st, previous, c.user.id, c.id);
            c.set_joined(None);
        }
        let mut st = self.shard(channel_id);
        self.join(&mut st, c.id, &c.user, join)?;
        c.set_joined(Some(channel_id));
        self.metrics.join_handled(received.elapsed());
        Ok(())
    }

    /// voice:join: membership, voice:participants (mode = the channel's mode or the target
    /// of its migration), the replayed mute/video state, voice:user-joined to the others,
    /// then the effects: a capable joiner of an SFU channel (settled or migrating) gets its
    /// own voice:mode-change sfu right after its participants (H4 without a queue).
    fn join(
        &self,
        st: &mut HubState,
        conn: ConnId,
        user: &UserInfo,
        join: &Join,
    ) -> Result<(), VoiceError> {
        let channel_id = join.channel_id;
        check_channel(channel_id)?;
        let now = self.clock.now_ms();
        // The C++ server knows nothing of the hybrid: every member is a P2P-only one.
        let supports_sfu = join.supports_sfu.unwrap_or(false) && !self.settings.cpp_quirks;
        let policy = st
            .records
            .get(&channel_id)
            .and_then(|r| r.overrides.policy)
            .unwrap_or(self.settings.policy);
        let room = st
            .rooms
            .entry(channel_id)
            .or_insert_with(|| Room::new(policy));
        let was_degraded = room.degraded;
        // (Re-)joining resets the member's mute/video state and moves membership to `conn`.
        room.members.insert(
            user.id,
            Member {
                conn,
                info: user.clone(),
                muted: false,
                video_enabled: false,
                supports_sfu,
            },
        );
        let mut effects = Vec::new();
        if supports_sfu {
            let actions = match room.migration.as_mut() {
                Some(m) => m.member_joined(user.id, now),
                None => Vec::new(),
            };
            effects.extend(self.apply(st, channel_id, actions, now));
        }
        effects.extend(self.reevaluate(st, channel_id, now));
        let Some(room) = st.rooms.get(&channel_id) else {
            return Ok(());
        };
        let settled_sfu = room.migration.is_none() && room.mode == CallMode::Sfu;
        if settled_sfu && supports_sfu {
            let strategy = self.channel_strategy(st, channel_id);
            effects.push(Effect::ModeChange {
                users: vec![user.id],
                mode: CallMode::Sfu,
                strategy,
            });
        }
        if was_degraded
            && room.degraded
            && !effects.iter().any(|e| matches!(e, Effect::Degraded(_)))
        {
            effects.push(Effect::Degraded(vec![user.id]));
        }
        let others: Vec<&Member> = room
            .members
            .values()
            .filter(|m| m.info.id != user.id)
            .collect();
        // The C++ server keeps no mute/video state and knows no modes.
        let quirks = self.settings.cpp_quirks;
        let participants = Message::Participants(Participants {
            channel_id,
            participants: others
                .iter()
                .map(|m| entry(&m.info, (!quirks).then_some(*m)))
                .collect(),
            mode: (!quirks).then(|| room.advertised_mode()),
        });
        self.send_to_conn(conn, &participants);
        if !quirks {
            self.replay_state(conn, channel_id, &others);
        }
        let joined = Message::UserJoined(UserJoined {
            channel_id,
            user: ParticipantEntry {
                // What the joiner's own voice:join said: members offer first to an old client.
                supports_sfu: (!quirks).then_some(supports_sfu),
                ..entry(user, None)
            },
        });
        self.broadcast(st, channel_id, &joined, Some(user.id));
        self.emit(st, channel_id, effects);
        Ok(())
    }

    /// Old TypeScript clients ignore the state fields of voice:participants: tell the joiner
    /// `conn` the members' mute and video state as events too.
    fn replay_state(&self, conn: ConnId, channel_id: ChannelId, others: &[&Member]) {
        for m in others {
            if m.muted {
                let muted = UserMuted {
                    channel_id,
                    user_id: m.info.id,
                    muted: true,
                };
                self.send_to_conn(conn, &Message::UserMuted(muted));
            }
            if m.video_enabled {
                let video = UserVideoToggled {
                    channel_id,
                    user_id: m.info.id,
                    video_enabled: true,
                };
                self.send_to_conn(conn, &Message::UserVideoToggled(video));
            }
        }
    }

    fn leave(
        &self,
        st: &mut HubState,
        user: &UserInfo,
        channel_id: ChannelId,
    ) -> Result<(), VoiceError> {
        check_channel(channel_id)?;
        if !is_member(st, channel_id, user.id) {
            return Err(VoiceError::NotAMember(channel_id));
        }
        self.remove_member(st, channel_id, user.id);
        Ok(())
    }

    /// voice:mode-change-ack: fed to the migration in progress; a negative ack while the
    /// channel is settled in SFU mode means the SFU failed for that member → rollback.
    fn record_ack(
        &self,
        st: &mut HubState,
        user: &UserInfo,
        ack: &ModeChangeAck,
    ) -> Result<(), VoiceError> {
        let channel_id = ack.channel_id;
        check_channel(channel_id)?;
        if ack.user_id != user.id {
            return Err(VoiceError::WrongSender {
                claimed: ack.user_id,
                actual: user.id,
            });
        }
        if !is_member(st, channel_id, user.id) {
            return Err(VoiceError::NotAMember(channel_id));
        }
        self.metrics.mode_change_ack(ack.success);
        tracing::info!(
            channel = channel_id,
            user = user.id,
            success = ack.success,
            error = ack.error.as_deref().unwrap_or(""),
            "voice:mode-change-ack"
        );
        let now = self.clock.now_ms();
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return Ok(());
        };
        let effects = match room.migration.as_mut() {
            Some(m) => {
                let actions = m.ack(user.id, ack.success, ack.error.as_deref(), now);
                self.apply(st, channel_id, actions, now)
            }
            None if !ack.success && room.mode == CallMode::Sfu => {
                let error = ack.error.clone().unwrap_or_else(|| "unspecified".into());
                self.leave_sfu(st, channel_id, FailReason::SfuFailed { error }, now)
            }
            // The answer to a pre-warm (its SFU session is up, or it failed): a switch held
            // for it may go ahead.
            None if room
                .prewarmed
                .as_ref()
                .is_some_and(|sent| sent.contains(&user.id)) =>
            {
                room.warm_answered.insert(user.id);
                self.reevaluate(st, channel_id, now)
            }
            None => Vec::new(),
        };
        self.emit(st, channel_id, effects);
        Ok(())
    }
}

/// A voice:participants / voice:user-joined entry; with the member's state (`state`), also its
/// mute/video flags and whether it is a new client (`supports_sfu`: others then offer to it
/// at once instead of on the old client's schedule).
fn entry(u: &UserInfo, state: Option<&Member>) -> ParticipantEntry {
    ParticipantEntry {
        user_id: u.id,
        username: u.username.clone(),
        university: u.university.clone(),
        muted: state.map(|m| m.muted),
        video_enabled: state.map(|m| m.video_enabled),
        supports_sfu: state.map(|m| m.supports_sfu),
    }
}

enum Flag {
    Muted(bool),
    Video(bool),
}

impl Hub {
    /// Forwards offer/answer/ice-candidate to the target's sockets, re-serialised (well-formed,
    /// type first, payload last) so the receiver never sees the C++ server's trailing brace
    /// (unless the server emulates it, `cpp_quirks`).
    fn relay(&self, st: &HubState, user: &UserInfo, msg: &Message) -> Result<(), VoiceError> {
        let (Some(channel_id), Some((from, target))) = (msg.channel_id(), msg.relay_ids()) else {
            return Err(VoiceError::UnexpectedType(msg.type_name()));
        };
        check_channel(channel_id)?;
        check_user(from)?;
        check_user(target)?;
        if from != user.id {
            return Err(VoiceError::WrongSender {
                claimed: from,
                actual: user.id,
            });
        }
        if !is_member(st, channel_id, user.id) {
            return Err(VoiceError::NotAMember(channel_id));
        }
        if !is_member(st, channel_id, target) {
            return Err(VoiceError::TargetNotInChannel {
                channel: channel_id,
                target,
            });
        }
        let mut text = encode(msg)?;
        if self.settings.cpp_quirks {
            // The C++ server's greedy payload match keeps the envelope's closing brace.
            text.push('}');
        }
        match self.relay_to_user(target, &text) {
            Queued::Busy => Err(VoiceError::TargetBusy(target)),
            Queued::Yes | Queued::Gone => Ok(()),
        }
    }

    /// voice:mute / voice:video-toggle: remember the state and tell the whole room, sender included.
    fn set_flag(
        &self,
        st: &mut HubState,
        user: &UserInfo,
        channel_id: ChannelId,
        flag: Flag,
    ) -> Result<(), VoiceError> {
        check_channel(channel_id)?;
        let member = st
            .rooms
            .get_mut(&channel_id)
            .and_then(|r| r.members.get_mut(&user.id))
            .ok_or(VoiceError::NotAMember(channel_id))?;
        let event = match flag {
            Flag::Muted(muted) => {
                member.muted = muted;
                Message::UserMuted(UserMuted {
                    channel_id,
                    user_id: user.id,
                    muted,
                })
            }
            Flag::Video(video_enabled) => {
                member.video_enabled = video_enabled;
                Message::UserVideoToggled(UserVideoToggled {
                    channel_id,
                    user_id: user.id,
                    video_enabled,
                })
            }
        };
        self.broadcast(st, channel_id, &event, None);
        Ok(())
    }
}
