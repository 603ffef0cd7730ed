//! Mode advertisement: each live room owns an instance of the pure
//! [`sohbet_rtc::mode::policy::ModePolicy`], fed the live member count on every join/leave
//! and a tick every second. The room's advertised mode is the policy's mode; it is shown in
//! voice:participants (`mode`) and in the channel REST JSON. voice:mode-change (with a fresh
//! LiveKit token per member when switching to the SFU) is sent only when the server runs with
//! `SOHBET_SEND_MODE_CHANGE=1`; migrations themselves are driven by later work.
//! Clients report SFU failures over REST (compat-spec H3, both documented shapes); a report
//! from a live member makes the policy fall back to P2P.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sohbet_rtc::mode::policy::Decision;
use sohbet_rtc::signal::{CallMode, ChannelId, Message, ModeChange, UserId};

use crate::auth::AuthUser;
use crate::clock::unix_secs;
use crate::error::ApiError;
use crate::hub::{send_to_conn, Hub, HubState};
use crate::rest::parse_channel_id;
use crate::state::AppState;

/// Longest failure reason kept from a client report.
pub const MAX_REASON_CHARS: usize = 200;

impl Hub {
    /// Feeds the room's current member count to its policy and announces a mode change.
    pub(crate) fn feed_count(&self, st: &mut HubState, channel_id: ChannelId) {
        if let Some(mode) = self.decide_on_count(st, channel_id) {
            self.announce_mode(st, channel_id, mode);
        }
    }

    /// Feeds the count without announcing; returns the new mode if it changed, so a caller
    /// can announce it after its own replies (a joiner gets voice:participants first).
    pub(crate) fn decide_on_count(
        &self,
        st: &mut HubState,
        channel_id: ChannelId,
    ) -> Option<CallMode> {
        let now = self.clock.now_ms();
        let room = st.rooms.get_mut(&channel_id)?;
        let before = room.policy.mode();
        let decisions = room.policy.on_participants(room.members.len(), now);
        self.record(st, channel_id, before, &decisions)
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
            if let Some(mode) = self.record(&st, channel_id, before, &decisions) {
                self.announce_mode(&st, channel_id, mode);
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
        if let Some(mode) = self.record(&st, channel_id, before, &decisions) {
            self.announce_mode(&st, channel_id, mode);
        }
    }

    /// Whether `user` is a live voice member of the channel.
    pub fn is_member(&self, channel_id: ChannelId, user: UserId) -> bool {
        self.lock()
            .rooms
            .get(&channel_id)
            .is_some_and(|r| r.members.contains_key(&user))
    }

    /// Logs and counts the decisions; returns the room's new mode if it changed.
    fn record(
        &self,
        st: &HubState,
        channel_id: ChannelId,
        before: CallMode,
        decisions: &[Decision],
    ) -> Option<CallMode> {
        for decision in decisions {
            tracing::info!(channel = channel_id, ?decision, "mode policy decision");
            self.metrics.policy_decision(decision_name(decision));
        }
        let after = st.rooms.get(&channel_id)?.policy.mode();
        if after == before {
            return None;
        }
        tracing::info!(
            channel = channel_id,
            from = before.as_str(),
            to = after.as_str(),
            "channel mode changed"
        );
        self.metrics.mode_switched(after.as_str());
        Some(after)
    }

    /// Sends each member voice:mode-change (only with `SOHBET_SEND_MODE_CHANGE=1`); SFU
    /// switches carry that member's own LiveKit token.
    pub(crate) fn announce_mode(&self, st: &HubState, channel_id: ChannelId, mode: CallMode) {
        if !self.settings.send_mode_change {
            return;
        }
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

/// Body of `POST /api/voice/channels/:id/sfu-failed` (the base doc's shape).
#[derive(Debug, Default, Deserialize)]
pub struct SfuFailed {
    #[serde(default)]
    pub error: Option<String>,
}

/// Body of `POST /api/voice/migration-failed` (the v2 doc's shape).
#[derive(Debug, Deserialize)]
pub struct MigrationFailed {
    pub channel_id: ChannelId,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub rollback_completed: Option<bool>,
}

/// `POST /api/voice/channels/:id/sfu-failed {error}` (auth, live members only).
pub async fn sfu_failed_report(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Result<Json<SfuFailed>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let channel_id = parse_channel_id(&id)?;
    let reason = body.ok().and_then(|Json(b)| b.error);
    report_failure(&state, user.id, channel_id, reason.as_deref())
}

/// `POST /api/voice/migration-failed {channel_id, error, rollback_completed}` (auth).
pub async fn migration_failed_report(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    body: Result<Json<MigrationFailed>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body?;
    let channel_id = parse_channel_id(&body.channel_id.to_string())?;
    tracing::info!(
        channel = channel_id,
        user = user.id,
        rollback_completed = body.rollback_completed.unwrap_or(false),
        "migration failure reported"
    );
    report_failure(&state, user.id, channel_id, body.error.as_deref())
}

fn report_failure(
    state: &AppState,
    user: UserId,
    channel_id: ChannelId,
    reason: Option<&str>,
) -> Result<Json<Value>, ApiError> {
    let hub = state.hub();
    if !hub.is_member(channel_id, user) {
        return Err(ApiError::Forbidden(
            "Not a live member of this voice channel".into(),
        ));
    }
    let reason: String = reason
        .unwrap_or("unspecified")
        .chars()
        .take(MAX_REASON_CHARS)
        .collect();
    hub.sfu_failed(channel_id, &reason);
    let mode = hub.channel_mode(channel_id);
    Ok(Json(
        json!({ "message": "Failure recorded", "mode": mode.as_str() }),
    ))
}
