//! Writes a [`Message`] as `{"type":…,"payload":{…}}` by hand, byte-identical to what the
//! former serde derive + serde_json emitted: `type` first, `payload` last, keys in struct
//! order, optional extras omitted when `None`, `sdpMid`/`sdpMLineIndex` written as `null`.

use super::json::push_str;
use super::messages::*;
use crate::text::push_u64;

/// Appends object members, tracking whether a `,` is due. The writers are `inline(never)`:
/// each field of `to_json` is then one call (code size).
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }

    #[inline(never)]
    fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_str(self.out, key);
        self.out.push(':');
        self.out
    }

    #[inline(never)]
    fn u64(&mut self, key: &str, v: u64) {
        push_u64(self.key(key), v);
    }

    #[inline(never)]
    fn bool(&mut self, key: &str, v: bool) {
        self.key(key).push_str(if v { "true" } else { "false" });
    }

    #[inline(never)]
    fn str(&mut self, key: &str, v: &str) {
        push_str(self.key(key), v);
    }

    #[inline(never)]
    fn opt_bool(&mut self, key: &str, v: Option<bool>) {
        if let Some(v) = v {
            self.bool(key, v);
        }
    }

    #[inline(never)]
    fn opt_str(&mut self, key: &str, v: &Option<String>) {
        if let Some(v) = v {
            self.str(key, v);
        }
    }

    fn relay(&mut self, channel_id: u64, target: u64, from: u64) {
        self.u64("channel_id", channel_id);
        self.u64("target_user_id", target);
        self.u64("from_user_id", from);
    }

    fn description(&mut self, key: &str, d: &SessionDescription) {
        let mut o = Obj::open(self.key(key));
        o.str("type", &d.kind);
        o.str("sdp", &d.sdp);
        o.close();
    }

    fn participant(&mut self, p: &ParticipantEntry) {
        self.u64("user_id", p.user_id);
        self.str("username", &p.username);
        self.str("university", &p.university);
        self.opt_bool("muted", p.muted);
        self.opt_bool("video_enabled", p.video_enabled);
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// The wire text of `msg` (no size check; see `codec::encode` for the checked form).
pub fn to_json(msg: &Message) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("{\"type\":");
    push_str(&mut out, msg.type_name());
    out.push_str(",\"payload\":");
    write_payload(&mut out, msg);
    out.push('}');
    out
}

/// The JSON text of `msg`'s payload object alone.
pub fn payload_json(msg: &Message) -> String {
    let mut out = String::with_capacity(128);
    write_payload(&mut out, msg);
    out
}

/// Appends the payload object of `msg`.
fn write_payload(out: &mut String, msg: &Message) {
    let mut o = Obj::open(out);
    match msg {
        Message::Join(m) => {
            o.u64("channel_id", m.channel_id);
            o.opt_bool("supports_sfu", m.supports_sfu);
            o.opt_str("client_version", &m.client_version);
        }
        Message::Leave(m) => o.u64("channel_id", m.channel_id),
        Message::Offer(m) => {
            o.relay(m.channel_id, m.target_user_id, m.from_user_id);
            o.description("offer", &m.offer);
        }
        Message::Answer(m) => {
            o.relay(m.channel_id, m.target_user_id, m.from_user_id);
            o.description("answer", &m.answer);
        }
        Message::IceCandidate(m) => {
            o.relay(m.channel_id, m.target_user_id, m.from_user_id);
            let c = &m.candidate;
            let mut co = Obj::open(o.key("candidate"));
            co.str("candidate", &c.candidate);
            match &c.sdp_mid {
                Some(mid) => co.str("sdpMid", mid),
                None => co.key("sdpMid").push_str("null"),
            }
            match c.sdp_m_line_index {
                Some(i) => co.u64("sdpMLineIndex", u64::from(i)),
                None => co.key("sdpMLineIndex").push_str("null"),
            }
            co.opt_str("usernameFragment", &c.username_fragment);
            co.close();
        }
        Message::Mute(m) => {
            o.u64("channel_id", m.channel_id);
            o.bool("muted", m.muted);
        }
        Message::VideoToggle(m) => {
            o.u64("channel_id", m.channel_id);
            o.bool("video_enabled", m.video_enabled);
        }
        Message::UserJoined(m) => {
            o.u64("channel_id", m.channel_id);
            o.participant(&m.user);
        }
        Message::Participants(m) => {
            o.u64("channel_id", m.channel_id);
            let list = o.key("participants");
            list.push('[');
            for (i, p) in m.participants.iter().enumerate() {
                if i > 0 {
                    list.push(',');
                }
                let mut po = Obj::open(list);
                po.participant(p);
                po.close();
            }
            list.push(']');
            if let Some(mode) = m.mode {
                o.str("mode", mode.as_str());
            }
        }
        Message::UserLeft(m) => {
            o.u64("channel_id", m.channel_id);
            o.u64("user_id", m.user_id);
        }
        Message::UserMuted(m) => {
            o.u64("channel_id", m.channel_id);
            o.u64("user_id", m.user_id);
            o.bool("muted", m.muted);
        }
        Message::UserVideoToggled(m) => {
            o.u64("channel_id", m.channel_id);
            o.u64("user_id", m.user_id);
            o.bool("video_enabled", m.video_enabled);
        }
        Message::ModeChange(m) => {
            o.u64("channel_id", m.channel_id);
            o.str("new_mode", m.new_mode.as_str());
            o.opt_str("sfu_token", &m.sfu_token);
            o.opt_str("sfu_url", &m.sfu_url);
            o.opt_str("strategy", &m.strategy);
        }
        Message::ModeChangeAck(m) => {
            o.u64("channel_id", m.channel_id);
            o.u64("user_id", m.user_id);
            o.bool("success", m.success);
            o.opt_str("error", &m.error);
        }
        Message::Rollback(m) => {
            o.u64("channel_id", m.channel_id);
            o.str("reason", &m.reason);
        }
        Message::JoinReady(m) => {
            o.str("mode", m.mode.as_str());
            o.u64("participant_count", u64::from(m.participant_count));
            o.opt_str("sfu_token", &m.sfu_token);
            o.u64("channel_id", m.channel_id);
            o.opt_str("sfu_url", &m.sfu_url);
            o.u64("timestamp", m.timestamp);
        }
        Message::DegradedMode(m) => {
            o.str("message", &m.message);
            o.u64("max_participants", u64::from(m.max_participants));
        }
        Message::Error(m) => {
            o.str("code", &m.code);
            o.str("message", &m.message);
        }
    }
    o.close();
}
