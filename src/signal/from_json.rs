//! Maps a parsed payload ([`Json`]) to its typed [`Message`], by hand instead of serde derive
//! (a fraction of the wasm code). Field rules match the former serde attributes: unknown keys
//! are ignored; a required field that is missing, or any field of the wrong type (`null`
//! included, except for `Option`s), is [`CodecError::InvalidPayload`]; `#[serde(default)]`
//! fields default when missing; integers must be non-negative and fit their Rust type.

use std::cell::Cell;

use super::codec::{CodecError, VOICE_TYPES};
use super::json::Json;
use super::messages::*;

/// How a field may be absent: `Req` fields must be present and non-null; `Def` fields
/// default when missing but refuse `null` (serde's `#[serde(default)]`); `Opt` fields are
/// `None` when missing or `null`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Req,
    Def,
    Opt,
}
use Need::{Def, Opt, Req};

/// Field access on one payload object. Getters never fail: the first problem is recorded in
/// `error` and a default is returned, so the message builder below is straight-line code
/// (a fraction of the wasm of `?` with partial-drop paths at every field).
struct Fields<'a> {
    kind: &'a str,
    obj: &'a Json,
    error: &'a Cell<Option<CodecError>>,
}

impl<'a> Fields<'a> {
    #[inline(never)]
    fn fail(&self, what: &str, key: &str) {
        let first = self
            .error
            .take()
            .unwrap_or_else(|| CodecError::InvalidPayload {
                kind: self.kind.to_owned(),
                reason: crate::text::concat(&[what, " `", key, "`"]),
            });
        self.error.set(Some(first));
    }

    /// The value of `key`, or None when absent (or `null` and allowed); records a missing
    /// or null field that `need` refuses.
    #[inline(never)]
    fn field(&self, key: &str, need: Need) -> Option<&'a Json> {
        match self.obj.get(key) {
            None if need == Req => self.fail("missing field", key),
            Some(Json::Null) if need != Opt => self.fail("null for", key),
            None | Some(Json::Null) => {}
            Some(v) => return Some(v),
        }
        None
    }

    #[inline(never)]
    fn num(&self, key: &str, max: u64, need: Need) -> Option<u64> {
        match self.field(key, need)? {
            Json::Uint(v) if *v <= max => Some(*v),
            _ => {
                self.fail("expected an unsigned integer in range for", key);
                None
            }
        }
    }

    #[inline(never)]
    fn id(&self, key: &str) -> u64 {
        self.num(key, u64::MAX, Req).unwrap_or_default()
    }

    #[inline(never)]
    fn u32(&self, key: &str) -> u32 {
        self.num(key, u64::from(u32::MAX), Req).unwrap_or_default() as u32
    }

    #[inline(never)]
    fn bool(&self, key: &str, need: Need) -> Option<bool> {
        match self.field(key, need)? {
            Json::Bool(b) => Some(*b),
            _ => {
                self.fail("expected a boolean for", key);
                None
            }
        }
    }

    #[inline(never)]
    fn str(&self, key: &str, need: Need) -> Option<String> {
        match self.field(key, need)? {
            Json::Str(s) => Some(s.clone()),
            _ => {
                self.fail("expected a string for", key);
                None
            }
        }
    }

    #[inline(never)]
    fn text(&self, key: &str, need: Need) -> String {
        self.str(key, need).unwrap_or_default()
    }

    #[inline(never)]
    fn mode(&self, key: &str, need: Need) -> Option<CallMode> {
        let mode = match self.field(key, need)? {
            Json::Str(s) if s == "p2p" => CallMode::P2p,
            Json::Str(s) if s == "sfu" => CallMode::Sfu,
            Json::Str(s) if s == "migrating" => CallMode::Migrating,
            Json::Str(_) => {
                self.fail("unknown mode in", key);
                return None;
            }
            _ => {
                self.fail("expected a string for", key);
                return None;
            }
        };
        Some(mode)
    }

    #[inline(never)]
    fn channel(&self) -> u64 {
        self.id("channel_id")
    }

    /// `(channel_id, target_user_id, from_user_id)` of a relayed message.
    fn relay(&self) -> (u64, u64, u64) {
        (
            self.channel(),
            self.id("target_user_id"),
            self.id("from_user_id"),
        )
    }

    /// The object under `key` (an empty view after recording the problem otherwise).
    #[inline(never)]
    fn nested(&self, key: &str) -> Fields<'a> {
        let obj = match self.field(key, Req) {
            Some(v @ Json::Object(_)) => v,
            other => {
                if other.is_some() {
                    self.fail("expected an object for", key);
                }
                &Json::Null
            }
        };
        Fields { obj, ..*self }
    }

    fn description(&self, key: &str) -> SessionDescription {
        let d = self.nested(key);
        SessionDescription {
            kind: d.text("type", Req),
            sdp: d.text("sdp", Req),
        }
    }

    fn participant(&self) -> ParticipantEntry {
        ParticipantEntry {
            user_id: self.id("user_id"),
            username: self.text("username", Def),
            university: self.text("university", Def),
            muted: self.bool("muted", Opt),
            video_enabled: self.bool("video_enabled", Opt),
        }
    }

    fn participants(&self) -> Vec<ParticipantEntry> {
        let key = "participants";
        let Some(Json::Array(items)) = self.field(key, Req) else {
            self.fail("expected an array for", key);
            return Vec::new();
        };
        let mut list = Vec::with_capacity(items.len());
        for obj in items {
            if !matches!(obj, Json::Object(_)) {
                self.fail("expected objects in", key);
            }
            list.push(Fields { obj, ..*self }.participant());
        }
        list
    }
}

/// Builds the typed message `VOICE_TYPES[index]` from its payload object. The match is on
/// the index (a jump table) rather than on the name (18 string comparisons).
pub fn message_from_json(index: usize, payload: &Json) -> Result<Message, CodecError> {
    let Some(&kind) = VOICE_TYPES.get(index) else {
        return Err(CodecError::NoObject);
    };
    let error = Cell::new(None);
    let f = Fields {
        kind,
        obj: payload,
        error: &error,
    };
    if !matches!(payload, Json::Object(_)) {
        f.fail("expected an object as", "payload");
        return Err(error.take().unwrap_or(CodecError::NoObject));
    }
    // Arms in `VOICE_TYPES` order (the round-trip tests pin every type to its message).
    let msg = match index {
        0 => Message::Join(Join {
            channel_id: f.channel(),
            supports_sfu: f.bool("supports_sfu", Opt),
            client_version: f.str("client_version", Opt),
        }),
        1 => Message::Leave(ChannelRef {
            channel_id: f.channel(),
        }),
        2 => {
            let (channel_id, target_user_id, from_user_id) = f.relay();
            Message::Offer(Offer {
                channel_id,
                target_user_id,
                from_user_id,
                offer: f.description("offer"),
            })
        }
        3 => {
            let (channel_id, target_user_id, from_user_id) = f.relay();
            Message::Answer(Answer {
                channel_id,
                target_user_id,
                from_user_id,
                answer: f.description("answer"),
            })
        }
        4 => {
            let (channel_id, target_user_id, from_user_id) = f.relay();
            let c = f.nested("candidate");
            Message::IceCandidate(IceCandidateMsg {
                channel_id,
                target_user_id,
                from_user_id,
                candidate: IceCandidate {
                    candidate: c.text("candidate", Req),
                    sdp_mid: c.str("sdpMid", Opt),
                    sdp_m_line_index: c
                        .num("sdpMLineIndex", u64::from(u16::MAX), Opt)
                        .map(|v| v as u16),
                    username_fragment: c.str("usernameFragment", Opt),
                },
            })
        }
        5 => Message::Mute(Mute {
            channel_id: f.channel(),
            muted: f.bool("muted", Def).unwrap_or_default(),
        }),
        6 => Message::VideoToggle(VideoToggle {
            channel_id: f.channel(),
            video_enabled: f.bool("video_enabled", Def).unwrap_or_default(),
        }),
        7 => Message::UserJoined(UserJoined {
            channel_id: f.channel(),
            user: f.participant(),
        }),
        8 => Message::Participants(Participants {
            channel_id: f.num("channel_id", u64::MAX, Def).unwrap_or_default(),
            participants: f.participants(),
            mode: f.mode("mode", Opt),
        }),
        9 => Message::UserLeft(UserLeft {
            channel_id: f.channel(),
            user_id: f.id("user_id"),
        }),
        10 => Message::UserMuted(UserMuted {
            channel_id: f.channel(),
            user_id: f.id("user_id"),
            muted: f.bool("muted", Def).unwrap_or_default(),
        }),
        11 => Message::UserVideoToggled(UserVideoToggled {
            channel_id: f.channel(),
            user_id: f.id("user_id"),
            video_enabled: f.bool("video_enabled", Def).unwrap_or_default(),
        }),
        12 => Message::ModeChange(ModeChange {
            channel_id: f.channel(),
            new_mode: f.mode("new_mode", Req).unwrap_or(CallMode::P2p),
            sfu_token: f.str("sfu_token", Opt),
            sfu_url: f.str("sfu_url", Opt),
            strategy: f.str("strategy", Opt),
        }),
        13 => Message::ModeChangeAck(ModeChangeAck {
            channel_id: f.channel(),
            user_id: f.id("user_id"),
            success: f.bool("success", Req).unwrap_or_default(),
            error: f.str("error", Opt),
        }),
        14 => Message::Rollback(Rollback {
            channel_id: f.channel(),
            reason: f.text("reason", Def),
        }),
        15 => Message::JoinReady(JoinReady {
            mode: f.mode("mode", Req).unwrap_or(CallMode::P2p),
            participant_count: f.u32("participant_count"),
            sfu_token: f.str("sfu_token", Opt),
            channel_id: f.channel(),
            sfu_url: f.str("sfu_url", Opt),
            timestamp: f.num("timestamp", u64::MAX, Def).unwrap_or_default(),
        }),
        16 => Message::DegradedMode(DegradedMode {
            message: f.text("message", Def),
            max_participants: f.u32("max_participants"),
        }),
        17 => Message::Error(ErrorReport {
            code: f.text("code", Req),
            message: f.text("message", Req),
        }),
        _ => return Err(CodecError::UnknownType(kind.to_owned())),
    };
    match error.take() {
        Some(e) => Err(e),
        None => Ok(msg),
    }
}
