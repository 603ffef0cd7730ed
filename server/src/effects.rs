//! What migrations send, once the caller's own replies are out: [`Effect`]s computed under
//! the hub lock by `modes` and delivered by [`Hub::emit`]: voice:mode-change (each with the
//! member's own freshly minted LiveKit token when the target is the SFU; these tokens are
//! not subject to the REST endpoint's per-user rate limit, since the migration machinery
//! itself bounds them: one per member per resend interval, one migration per cool-down),
//! voice:rollback to the whole room, and voice:degraded-mode.

use sohbet_rtc::signal::{
    CallMode, ChannelId, DegradedMode, Message, ModeChange, Rollback, UserId,
};

use crate::clock::unix_secs;
use crate::hub::{Hub, HubState};
use crate::migration::Strategy;

/// P2P mesh limit: above this many members on a channel that cannot use the SFU, the
/// members are told voice:degraded-mode (H5).
pub const DEGRADED_ABOVE: usize = 10;

/// Something to send once the caller's own replies are out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    ModeChange {
        users: Vec<UserId>,
        mode: CallMode,
        strategy: Strategy,
    },
    Rollback(&'static str),
    Degraded(Vec<UserId>),
    /// Opportunistic pre-warm (`on`: mode-change p2p with the member's SFU credentials) or
    /// its cancellation (mode-change p2p without them).
    Prewarm {
        users: Vec<UserId>,
        on: bool,
    },
}

impl Hub {
    /// Sends effects: mode-changes (each with the member's own LiveKit token when the target
    /// is the SFU) to the member's joined connection, rollbacks to the room, degraded-mode.
    pub(crate) fn emit(&self, st: &HubState, channel_id: ChannelId, effects: Vec<Effect>) {
        let Some(room) = st.rooms.get(&channel_id) else {
            return;
        };
        for effect in effects {
            match effect {
                Effect::ModeChange {
                    users,
                    mode,
                    strategy,
                } => {
                    let now = unix_secs();
                    for member in users.iter().filter_map(|u| room.members.get(u)) {
                        let (sfu_token, sfu_url) = if mode == CallMode::Sfu {
                            match self.minter.mint(&member.info, channel_id, now) {
                                Ok(t) => {
                                    self.metrics.token_minted("mode-change");
                                    (Some(t.token), Some(t.url))
                                }
                                Err(e) => {
                                    tracing::warn!(code = e.code(), "no SFU token: {e}");
                                    (None, None)
                                }
                            }
                        } else {
                            (None, None)
                        };
                        let msg = mode_change(channel_id, mode, strategy, sfu_token, sfu_url);
                        self.send_to_conn(member.conn, &msg);
                    }
                }
                Effect::Rollback(reason) if self.settings.send_mode_change => {
                    let msg = Message::Rollback(Rollback {
                        channel_id,
                        reason: reason.to_owned(),
                    });
                    self.broadcast(st, channel_id, &msg, None);
                }
                Effect::Rollback(_) => {}
                Effect::Prewarm { users, on } => {
                    let now = unix_secs();
                    for member in users.iter().filter_map(|u| room.members.get(u)) {
                        let (token, url) = match on
                            .then(|| self.minter.mint(&member.info, channel_id, now))
                        {
                            Some(Ok(t)) => {
                                self.metrics.token_minted("mode-change");
                                (Some(t.token), Some(t.url))
                            }
                            Some(Err(e)) => {
                                tracing::warn!(code = e.code(), "no SFU token for a pre-warm: {e}");
                                continue;
                            }
                            None => (None, None),
                        };
                        let msg = mode_change(
                            channel_id,
                            CallMode::P2p,
                            Strategy::Opportunistic,
                            token,
                            url,
                        );
                        self.send_to_conn(member.conn, &msg);
                    }
                }
                Effect::Degraded(users) => {
                    let msg = degraded();
                    for member in users.iter().filter_map(|u| room.members.get(u)) {
                        self.send_to_conn(member.conn, &msg);
                    }
                }
            }
        }
    }
}

/// voice:mode-change for one member (`strategy` always set; token and url for the SFU only).
fn mode_change(
    channel_id: ChannelId,
    new_mode: CallMode,
    strategy: Strategy,
    sfu_token: Option<String>,
    sfu_url: Option<String>,
) -> Message {
    Message::ModeChange(ModeChange {
        channel_id,
        new_mode,
        sfu_token,
        sfu_url,
        strategy: Some(strategy.as_str().to_owned()),
    })
}

/// voice:degraded-mode (H5): the SFU cannot be used, the mesh is limited to 10.
fn degraded() -> Message {
    Message::DegradedMode(DegradedMode {
        message: format!(
            "The SFU cannot be used in this channel; direct mode is limited to \
             {DEGRADED_ABOVE} participants"
        ),
        max_participants: DEGRADED_ABOVE as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sohbet_rtc::signal::to_json;

    #[test]
    fn mode_change_carries_the_strategy_and_the_sfu_credentials() {
        let msg = mode_change(
            4,
            CallMode::Sfu,
            Strategy::Gradual,
            Some("t".into()),
            Some("ws://x".into()),
        );
        let json: serde_json::Value = serde_json::from_str(&to_json(&msg)).unwrap();
        assert_eq!(json["type"], "voice:mode-change");
        let p = &json["payload"];
        assert_eq!(
            (p["channel_id"].as_u64(), p["new_mode"].as_str()),
            (Some(4), Some("sfu"))
        );
        assert_eq!(
            (p["sfu_token"].as_str(), p["sfu_url"].as_str()),
            (Some("t"), Some("ws://x"))
        );
        assert_eq!(p["strategy"], "gradual");
    }

    #[test]
    fn degraded_mode_names_the_mesh_limit() {
        let json: serde_json::Value = serde_json::from_str(&to_json(&degraded())).unwrap();
        assert_eq!(json["type"], "voice:degraded-mode");
        assert_eq!(json["payload"]["max_participants"], 10);
        assert!(json["payload"]["message"].as_str().unwrap().contains("10"));
    }
}
