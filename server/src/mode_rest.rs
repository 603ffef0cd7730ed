//! REST around migrations (issue 11 §2): clients' SFU failure reports (both documented shapes,
//! compat-spec H3) roll the channel back; `PUT /api/voice/channels/:id/strategy` sets
//! per-channel overrides (strategy, policy thresholds) for tests and operators;
//! `GET /api/voice/channels/:id/migrations` lists finished migrations and rollbacks;
//! `GET /api/voice/sfu-health` shows the probe's verdict.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sohbet_rtc::mode::policy::PolicyConfig;
use sohbet_rtc::signal::{ChannelId, UserId};

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::hub::{Hub, HubState};
use crate::migration::Strategy;
use crate::records::{live_json, Overrides};
use crate::rest::parse_channel_id;
use crate::state::AppState;

/// Longest failure reason kept from a client report.
pub const MAX_REASON_CHARS: usize = 200;

impl Hub {
    /// The strategy a new migration of this channel would use.
    pub fn strategy_for(&self, channel_id: ChannelId) -> Strategy {
        self.channel_strategy(&self.shard(channel_id), channel_id)
    }

    /// The channel's strategy override, else the server's default.
    pub(crate) fn channel_strategy(&self, st: &HubState, channel_id: ChannelId) -> Strategy {
        st.records
            .get(&channel_id)
            .and_then(|r| r.overrides.strategy)
            .unwrap_or(self.settings.strategy)
    }

    /// The migration in progress as JSON, or null.
    pub fn migration_json(&self, channel_id: ChannelId) -> Value {
        self.shard(channel_id)
            .rooms
            .get(&channel_id)
            .and_then(|r| r.migration.as_ref())
            .map_or(Value::Null, live_json)
    }

    /// `{migrations, rollbacks}` of the channel (empty lists when it has none).
    pub fn history_json(&self, channel_id: ChannelId) -> Value {
        self.shard(channel_id).records.get(&channel_id).map_or_else(
            || json!({ "migrations": [], "rollbacks": [] }),
            |r| r.history_json(),
        )
    }

    /// Replaces the channel's overrides. New thresholds are refused (409) while the room is
    /// live, because the policy keeps state that a new configuration would lose.
    pub fn set_overrides(
        &self,
        channel_id: ChannelId,
        overrides: Overrides,
    ) -> Result<(), ApiError> {
        let mut st = self.shard(channel_id);
        let current = st.records.get(&channel_id).and_then(|r| r.overrides.policy);
        if current != overrides.policy && st.rooms.contains_key(&channel_id) {
            return Err(ApiError::Conflict(
                "Policy thresholds can only change while nobody is in the voice channel".into(),
            ));
        }
        st.records.entry(channel_id).or_default().overrides = overrides;
        Ok(())
    }

    /// The policy thresholds a new room of this channel gets.
    pub fn policy_for(&self, channel_id: ChannelId) -> PolicyConfig {
        self.shard(channel_id)
            .records
            .get(&channel_id)
            .and_then(|r| r.overrides.policy)
            .unwrap_or(self.settings.policy)
    }
}

/// Body of `PUT /api/voice/channels/:id/strategy`; absent fields take the server default.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSettings {
    pub strategy: Option<String>,
    pub sfu_up_at: Option<usize>,
    pub p2p_down_at: Option<usize>,
    pub prewarm_at: Option<usize>,
    pub cooldown_ms: Option<u64>,
}

/// `PUT /api/voice/channels/:id/strategy {strategy?, sfu_up_at?, p2p_down_at?, prewarm_at?,
/// cooldown_ms?}` (auth) → the channel's effective settings.
pub async fn put_channel_settings(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    body: Result<Json<ChannelSettings>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let channel_id = parse_channel_id(&id)?;
    let Json(body) = body?;
    let strategy = body
        .strategy
        .as_deref()
        .map(str::parse::<Strategy>)
        .transpose()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let thresholds = [body.sfu_up_at, body.p2p_down_at, body.prewarm_at];
    let policy = if thresholds.iter().any(Option::is_some) || body.cooldown_ms.is_some() {
        let base = state.config().policy;
        let cfg = PolicyConfig {
            sfu_up_at: body.sfu_up_at.unwrap_or(base.sfu_up_at),
            p2p_down_at: body.p2p_down_at.unwrap_or(base.p2p_down_at),
            prewarm_at: body.prewarm_at.unwrap_or(base.prewarm_at),
            cooldown_ms: body.cooldown_ms.unwrap_or(base.cooldown_ms),
        };
        cfg.check()
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        Some(cfg)
    } else {
        None
    };
    let hub = state.hub();
    hub.set_overrides(channel_id, Overrides { strategy, policy })?;
    tracing::info!(
        channel = channel_id,
        user = user.id,
        ?strategy,
        ?policy,
        "channel settings"
    );
    Ok(Json(settings_json(hub, channel_id)))
}

fn settings_json(hub: &Hub, channel_id: ChannelId) -> Value {
    let policy = hub.policy_for(channel_id);
    json!({
        "channel_id": channel_id,
        "strategy": hub.strategy_for(channel_id).as_str(),
        "sfu_up_at": policy.sfu_up_at,
        "p2p_down_at": policy.p2p_down_at,
        "prewarm_at": policy.prewarm_at,
        "cooldown_ms": policy.cooldown_ms,
    })
}

/// `GET /api/voice/channels/:id/migrations` → `{channel_id, now_ms, migrations, rollbacks}`.
pub async fn get_migrations(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let channel_id = parse_channel_id(&id)?;
    let hub = state.hub();
    let mut body = hub.history_json(channel_id);
    body["channel_id"] = json!(channel_id);
    body["now_ms"] = json!(hub.clock.now_ms());
    body["migration"] = hub.migration_json(channel_id);
    Ok(Json(body))
}

/// `GET /api/voice/sfu-health` → `{reachable, probe_url, probe_ms}`.
pub async fn sfu_health(State(state): State<AppState>) -> Json<Value> {
    let cfg = state.config();
    Json(json!({
        "reachable": state.hub().sfu_reachable(),
        "probe_url": crate::sfu_health::probe_url(cfg),
        "probe_ms": cfg.sfu_probe_ms,
    }))
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
