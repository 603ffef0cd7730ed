//! Maps a parsed payload ([`Json`]) to its typed [`Message`], by hand instead of serde derive
//! (a fraction of the wasm code). Field rules match the former serde attributes: unknown keys
//! are ignored; a required field that is missing, or any field of the wrong type (`null`
//! included, except for `Option`s), is [`CodecError::InvalidPayload`]; `#[serde(default)]`
//! fields default when missing; integers must be non-negative and fit their Rust type.

use super::codec::CodecError;
use super::json::Json;
use super::messages::*;

/// Field access on one payload object; every failure names the message type and field.
struct Fields<'a> {
    kind: &'a str,
    obj: &'a Json,
}

impl<'a> Fields<'a> {
    #[inline(never)]
    fn err(&self, what: &str, key: &str) -> CodecError {
        CodecError::InvalidPayload {
            kind: self.kind.to_owned(),
            reason: [what, " `", key, "`"].concat(),
        }
    }

    fn nested(&self, key: &str) -> Result<Fields<'a>, CodecError> {
        match self.obj.get(key) {
            Some(v @ Json::Object(_)) => Ok(Fields {
                kind: self.kind,
                obj: v,
            }),
            Some(_) => Err(self.err("expected an object for", key)),
            None => Err(self.err("missing field", key)),
        }
    }

    /// `Ok(None)` when the key is absent or `null`.
    #[inline(never)]
    fn opt_u64(&self, key: &str, max: u64) -> Result<Option<u64>, CodecError> {
        match self.obj.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Uint(v)) if *v <= max => Ok(Some(*v)),
            Some(_) => Err(self.err("expected an unsigned integer in range for", key)),
        }
    }

    /// A required integer (`null` is refused).
    #[inline(never)]
    fn u64_max(&self, key: &str, max: u64) -> Result<u64, CodecError> {
        match self.obj.get(key) {
            None => Err(self.err("missing field", key)),
            Some(Json::Null) => Err(self.err("expected an unsigned integer for", key)),
            _ => self.opt_u64(key, max).map(Option::unwrap_or_default),
        }
    }

    fn id(&self, key: &str) -> Result<u64, CodecError> {
        self.u64_max(key, u64::MAX)
    }

    fn u32(&self, key: &str) -> Result<u32, CodecError> {
        self.u64_max(key, u64::from(u32::MAX)).map(|v| v as u32)
    }

    /// An integer that defaults to 0 when missing.
    fn id_or_zero(&self, key: &str) -> Result<u64, CodecError> {
        match self.obj.get(key) {
            None => Ok(0),
            _ => self.id(key),
        }
    }

    #[inline(never)]
    fn opt_bool(&self, key: &str) -> Result<Option<bool>, CodecError> {
        match self.obj.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.err("expected a boolean for", key)),
        }
    }

    /// A boolean that defaults to false when missing (`null` is refused).
    fn bool_or_false(&self, key: &str) -> Result<bool, CodecError> {
        match self.obj.get(key) {
            Some(Json::Null) => Err(self.err("expected a boolean for", key)),
            _ => self.opt_bool(key).map(Option::unwrap_or_default),
        }
    }

    fn bool(&self, key: &str) -> Result<bool, CodecError> {
        match self.obj.get(key) {
            None => Err(self.err("missing field", key)),
            _ => self.bool_or_false(key),
        }
    }

    #[inline(never)]
    fn opt_str(&self, key: &str) -> Result<Option<String>, CodecError> {
        match self.obj.get(key) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Str(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.err("expected a string for", key)),
        }
    }

    /// A string that defaults to "" when missing (`null` is refused).
    fn str_or_empty(&self, key: &str) -> Result<String, CodecError> {
        match self.obj.get(key) {
            Some(Json::Null) => Err(self.err("expected a string for", key)),
            _ => self.opt_str(key).map(Option::unwrap_or_default),
        }
    }

    fn str(&self, key: &str) -> Result<String, CodecError> {
        match self.obj.get(key) {
            None => Err(self.err("missing field", key)),
            _ => self.str_or_empty(key),
        }
    }

    fn opt_mode(&self, key: &str) -> Result<Option<CallMode>, CodecError> {
        let Some(s) = self.opt_str(key)? else {
            return Ok(None);
        };
        match s.as_str() {
            "p2p" => Ok(Some(CallMode::P2p)),
            "sfu" => Ok(Some(CallMode::Sfu)),
            "migrating" => Ok(Some(CallMode::Migrating)),
            _ => Err(self.err("unknown mode in", key)),
        }
    }

    fn mode(&self, key: &str) -> Result<CallMode, CodecError> {
        self.opt_mode(key)?
            .ok_or_else(|| self.err("missing field", key))
    }

    fn channel(&self) -> Result<u64, CodecError> {
        self.id("channel_id")
    }

    /// `(channel_id, target_user_id, from_user_id)` of a relayed message.
    fn relay(&self) -> Result<(u64, u64, u64), CodecError> {
        Ok((
            self.channel()?,
            self.id("target_user_id")?,
            self.id("from_user_id")?,
        ))
    }

    fn description(&self, key: &str) -> Result<SessionDescription, CodecError> {
        let d = self.nested(key)?;
        Ok(SessionDescription {
            kind: d.str("type")?,
            sdp: d.str("sdp")?,
        })
    }

    fn participant(&self) -> Result<ParticipantEntry, CodecError> {
        Ok(ParticipantEntry {
            user_id: self.id("user_id")?,
            username: self.str_or_empty("username")?,
            university: self.str_or_empty("university")?,
            muted: self.opt_bool("muted")?,
            video_enabled: self.opt_bool("video_enabled")?,
        })
    }

    fn participants(&self) -> Result<Vec<ParticipantEntry>, CodecError> {
        let key = "participants";
        let Some(Json::Array(items)) = self.obj.get(key) else {
            return Err(self.err("expected an array for", key));
        };
        items
            .iter()
            .map(|obj| match obj {
                Json::Object(_) => Fields {
                    kind: self.kind,
                    obj,
                }
                .participant(),
                _ => Err(self.err("expected objects in", key)),
            })
            .collect()
    }
}

/// Builds the typed message `kind` (a name from `VOICE_TYPES`) from its payload object.
pub fn message_from_json(kind: &str, payload: &Json) -> Result<Message, CodecError> {
    let f = Fields { kind, obj: payload };
    if !matches!(payload, Json::Object(_)) {
        return Err(f.err("expected an object as", "payload"));
    }
    Ok(match kind {
        "voice:join" => Message::Join(Join {
            channel_id: f.channel()?,
            supports_sfu: f.opt_bool("supports_sfu")?,
            client_version: f.opt_str("client_version")?,
        }),
        "voice:leave" => Message::Leave(ChannelRef {
            channel_id: f.channel()?,
        }),
        "voice:offer" => {
            let (channel_id, target_user_id, from_user_id) = f.relay()?;
            Message::Offer(Offer {
                channel_id,
                target_user_id,
                from_user_id,
                offer: f.description("offer")?,
            })
        }
        "voice:answer" => {
            let (channel_id, target_user_id, from_user_id) = f.relay()?;
            Message::Answer(Answer {
                channel_id,
                target_user_id,
                from_user_id,
                answer: f.description("answer")?,
            })
        }
        "voice:ice-candidate" => {
            let (channel_id, target_user_id, from_user_id) = f.relay()?;
            let c = f.nested("candidate")?;
            Message::IceCandidate(IceCandidateMsg {
                channel_id,
                target_user_id,
                from_user_id,
                candidate: IceCandidate {
                    candidate: c.str("candidate")?,
                    sdp_mid: c.opt_str("sdpMid")?,
                    sdp_m_line_index: c
                        .opt_u64("sdpMLineIndex", u64::from(u16::MAX))?
                        .map(|v| v as u16),
                    username_fragment: c.opt_str("usernameFragment")?,
                },
            })
        }
        "voice:mute" => Message::Mute(Mute {
            channel_id: f.channel()?,
            muted: f.bool_or_false("muted")?,
        }),
        "voice:video-toggle" => Message::VideoToggle(VideoToggle {
            channel_id: f.channel()?,
            video_enabled: f.bool_or_false("video_enabled")?,
        }),
        "voice:user-joined" => Message::UserJoined(UserJoined {
            channel_id: f.channel()?,
            user: f.participant()?,
        }),
        "voice:participants" => Message::Participants(Participants {
            channel_id: f.id_or_zero("channel_id")?,
            participants: f.participants()?,
            mode: f.opt_mode("mode")?,
        }),
        "voice:user-left" => Message::UserLeft(UserLeft {
            channel_id: f.channel()?,
            user_id: f.id("user_id")?,
        }),
        "voice:user-muted" => Message::UserMuted(UserMuted {
            channel_id: f.channel()?,
            user_id: f.id("user_id")?,
            muted: f.bool_or_false("muted")?,
        }),
        "voice:user-video-toggled" => Message::UserVideoToggled(UserVideoToggled {
            channel_id: f.channel()?,
            user_id: f.id("user_id")?,
            video_enabled: f.bool_or_false("video_enabled")?,
        }),
        "voice:mode-change" => Message::ModeChange(ModeChange {
            channel_id: f.channel()?,
            new_mode: f.mode("new_mode")?,
            sfu_token: f.opt_str("sfu_token")?,
            sfu_url: f.opt_str("sfu_url")?,
            strategy: f.opt_str("strategy")?,
        }),
        "voice:mode-change-ack" => Message::ModeChangeAck(ModeChangeAck {
            channel_id: f.channel()?,
            user_id: f.id("user_id")?,
            success: f.bool("success")?,
            error: f.opt_str("error")?,
        }),
        "voice:rollback" => Message::Rollback(Rollback {
            channel_id: f.channel()?,
            reason: f.str_or_empty("reason")?,
        }),
        "voice:join-ready" => Message::JoinReady(JoinReady {
            mode: f.mode("mode")?,
            participant_count: f.u32("participant_count")?,
            sfu_token: f.opt_str("sfu_token")?,
            channel_id: f.channel()?,
            sfu_url: f.opt_str("sfu_url")?,
            timestamp: f.id_or_zero("timestamp")?,
        }),
        "voice:degraded-mode" => Message::DegradedMode(DegradedMode {
            message: f.str_or_empty("message")?,
            max_participants: f.u32("max_participants")?,
        }),
        "voice:error" => Message::Error(ErrorReport {
            code: f.str("code")?,
            message: f.str("message")?,
        }),
        _ => return Err(CodecError::UnknownType(kind.chars().take(64).collect())),
    })
}
