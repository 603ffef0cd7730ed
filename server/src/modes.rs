//! Mode advertisement: each live room owns an instance of the pure
//! [`sohbet_rtc::mode::policy::ModePolicy`], fed the live member count on every join/leave
//! and a tick every second. The room's advertised mode is the policy's mode; it is shown in
//! voice:participants (`mode`) and in the channel REST JSON. voice:mode-change (with a fresh
//! LiveKit token per member when switching to the SFU) is sent only when the server runs with
//! `SOHBET_SEND_MODE_CHANGE=1`; migrations themselves are driven by later work.

use std::sync::Arc;
use std::time::Duration;

use sohbet_rtc::mode::policy::Decision;
use sohbet_rtc::signal::{CallMode, ChannelId, Message, ModeChange};

use crate::clock::unix_secs;
use crate::hub::{send_to_conn, Hub, HubState};

impl Hub {
    /// Feeds the room's current member count to its policy and applies what it decides.
    pub(crate) fn feed_count(&self, st: &mut HubState, channel_id: ChannelId) {
        let now = self.clock.now_ms();
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return;
        };
        let before = room.policy.mode();
        let decisions = room.policy.on_participants(room.members.len(), now);
        self.apply(st, channel_id, before, &decisions);
    }

    /// One policy tick for every live room (lets a switch blocked by the cool-down happen).
    pub fn tick(&self) {
        let now = self.clock.now_ms();
        let mut st = self.lock();
        let ids: Vec<ChannelId> = st.rooms.keys().copied().collect();
        for channel_id in ids {
            let Some(room) = st.rooms.get_mut(&channel_id) else {
                continue;
            };
            let before = room.policy.mode();
            let decisions = room.policy.on_tick(now);
            if !decisions.is_empty() {
                self.apply(&mut st, channel_id, before, &decisions);
            }
        }
    }

    /// Reports that the SFU failed for a channel (e.g. a client's negative ack or the
    /// migration-failed REST call); the policy falls back to P2P and bars the SFU a while.
    pub fn sfu_failed(&self, channel_id: ChannelId, reason: &str) {
        let now = self.clock.now_ms();
        let mut st = self.lock();
        let Some(room) = st.rooms.get_mut(&channel_id) else {
            return;
        };
        let before = room.policy.mode();
        let decisions = room.policy.on_sfu_failed(reason, now);
        self.apply(&mut st, channel_id, before, &decisions);
    }

    fn apply(
        &self,
        st: &mut HubState,
        channel_id: ChannelId,
        before: CallMode,
        decisions: &[Decision],
    ) {
        for decision in decisions {
            tracing::info!(channel = channel_id, ?decision, "mode policy decision");
            self.metrics.policy_decision(decision_name(decision));
        }
        let Some(after) = st.rooms.get(&channel_id).map(|r| r.policy.mode()) else {
            return;
        };
        if after == before {
            return;
        }
        tracing::info!(
            channel = channel_id,
            from = before.as_str(),
            to = after.as_str(),
            "channel mode changed"
        );
        self.metrics.mode_switched(after.as_str());
        if self.settings.send_mode_change {
            self.send_mode_change(st, channel_id, after);
        }
    }

    /// Sends each member voice:mode-change; SFU switches carry that member's own token.
    fn send_mode_change(&self, st: &HubState, channel_id: ChannelId, mode: CallMode) {
        let Some(room) = st.rooms.get(&channel_id) else {
            return;
        };
        let now = unix_secs();
        for member in room.members.values() {
            let (sfu_token, sfu_url) = if mode == CallMode::Sfu {
                match self.minter.mint(&member.info, channel_id, now) {
                    Ok(t) => (Some(t.token), Some(t.url)),
                    Err(e) => {
                        tracing::warn!(code = e.code(), "no SFU token for mode-change: {e}");
                        (None, None)
                    }
                }
            } else {
                (None, None)
            };
            let msg = Message::ModeChange(ModeChange {
                channel_id,
                new_mode: mode,
                sfu_token,
                sfu_url,
                strategy: None,
            });
            send_to_conn(st, member.conn, &msg);
        }
    }
}

fn decision_name(d: &Decision) -> &'static str {
    match d {
        Decision::Prewarm => "prewarm",
        Decision::CancelPrewarm => "cancel_prewarm",
        Decision::SwitchTo(CallMode::Sfu) => "switch_to_sfu",
        Decision::SwitchTo(_) => "switch_to_p2p",
        Decision::FallBackToP2p { .. } => "fall_back_to_p2p",
    }
}

/// Spawns the once-per-`period` policy tick; it ends when the hub is dropped.
pub fn spawn_ticker(hub: &Arc<Hub>, period: Duration) -> tokio::task::JoinHandle<()> {
    let weak = Arc::downgrade(hub);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(period.max(Duration::from_millis(10)));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            match weak.upgrade() {
                Some(hub) => hub.tick(),
                None => break,
            }
        }
    })
}
