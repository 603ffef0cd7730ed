//! REST handlers for `/api/voice/channels` exactly as compat-spec §3.3 describes them
//! (list, get, create, join, leave, delete), with errors as `{error}`. Channel JSON also
//! carries reference-server extras that old clients ignore: `mode` ('p2p' | 'sfu' |
//! 'migrating'), `participants` (live voice members), `migration` (the one in progress or
//! null), `strategy` (what the next migration would use) and `sfu_reachable`.

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sohbet_rtc::signal::{ChannelId, MAX_CHANNEL_ID};

use crate::auth::AuthUser;
use crate::channels::{Channel, CHANNEL_TYPES};
use crate::clock::{iso8601, unix_secs};
use crate::error::ApiError;
use crate::state::AppState;

/// Default and largest page size of the channel list.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;
/// Longest channel name accepted.
pub const MAX_NAME_CHARS: usize = 100;

/// Parses a `:id` path segment into a channel id within 1..=1_000_000 (400 otherwise).
pub fn parse_channel_id(raw: &str) -> Result<ChannelId, ApiError> {
    raw.parse::<ChannelId>()
        .ok()
        .filter(|id| (1..=MAX_CHANNEL_ID).contains(id))
        .ok_or_else(ApiError::invalid_channel_id)
}

/// Renders a channel; `created_at` is epoch seconds as a string, or ISO-8601 for create.
fn channel_json(state: &AppState, c: &Channel, active_users: usize, iso: bool) -> Value {
    let created_at = if iso {
        iso8601(c.created_at)
    } else {
        c.created_at.to_string()
    };
    let hub = state.hub();
    json!({
        "id": c.id,
        "name": c.name,
        "channel_type": c.channel_type,
        "active_users": active_users,
        "created_at": created_at,
        "mode": hub.channel_mode(c.id).as_str(),
        "participants": hub.participant_count(c.id),
        "migration": hub.migration_json(c.id),
        "strategy": hub.strategy_for(c.id).as_str(),
        "sfu_reachable": hub.sfu_reachable(),
    })
}

fn query_number(
    query: &HashMap<String, String>,
    key: &str,
    default: usize,
) -> Result<usize, ApiError> {
    match query.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("Invalid {key}"))),
    }
}

/// `GET /api/voice/channels[?channel_type=&limit=&offset=]` → `{channels, count}`.
pub async fn list_channels(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let channel_type = query.get("channel_type").map(String::as_str);
    if channel_type.is_some_and(|t| !CHANNEL_TYPES.contains(&t)) {
        return Err(ApiError::BadRequest("Invalid channel_type".into()));
    }
    let limit = query_number(&query, "limit", DEFAULT_LIMIT)?.clamp(1, MAX_LIMIT);
    let offset = query_number(&query, "offset", 0)?;
    let now = unix_secs();
    let rows: Vec<(Channel, usize)> = {
        let store = state.channels();
        store
            .list(channel_type, limit, offset)
            .into_iter()
            .map(|c| (c.clone(), store.active_users(c.id, now)))
            .collect()
    };
    let channels: Vec<Value> = rows
        .iter()
        .map(|(c, active)| channel_json(&state, c, *active, false))
        .collect();
    Ok(Json(
        json!({ "count": channels.len(), "channels": channels }),
    ))
}

/// `GET /api/voice/channels/:id` → the channel, 400 on a bad id, 404 when unknown.
pub async fn get_channel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_channel_id(&id)?;
    let (channel, active) = {
        let store = state.channels();
        let channel = store
            .get(id)
            .cloned()
            .ok_or_else(ApiError::channel_not_found)?;
        (channel, store.active_users(id, unix_secs()))
    };
    Ok(Json(channel_json(&state, &channel, active, false)))
}

/// Body of `POST /api/voice/channels`.
#[derive(Debug, Deserialize)]
pub struct CreateChannel {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub channel_type: Option<String>,
    #[serde(default)]
    pub group_id: Option<u64>,
    #[serde(default)]
    pub organization_id: Option<u64>,
}

/// `POST /api/voice/channels` (auth) → 201 with the new channel.
pub async fn create_channel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    body: Result<Json<CreateChannel>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Json(body) = body?;
    let name = body.name.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::BadRequest("Channel name is required".into()));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::BadRequest("Channel name is too long".into()));
    }
    let channel_type = body.channel_type.unwrap_or_else(|| "public".into());
    if !CHANNEL_TYPES.contains(&channel_type.as_str()) {
        return Err(ApiError::BadRequest("Invalid channel_type".into()));
    }
    let channel = state
        .channels()
        .create(
            name.to_owned(),
            channel_type,
            body.group_id,
            body.organization_id,
            Some(user.id),
            unix_secs(),
        )
        .ok_or_else(|| ApiError::Internal("No channel ids left".into()))?;
    Ok((
        StatusCode::CREATED,
        Json(channel_json(&state, &channel, 0, true)),
    ))
}

/// `POST /api/voice/channels/:id/join` (auth) → a REST voice session. Does not touch the
/// WebSocket room (voice:join does that).
pub async fn join_channel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_channel_id(&id)?;
    let session = {
        let mut store = state.channels();
        let channel = store.get(id).ok_or_else(ApiError::channel_not_found)?;
        if !channel.admits(user.id) {
            return Err(ApiError::Forbidden(
                "This channel is private; only its creator may join".into(),
            ));
        }
        store.open_session(id, user.id, unix_secs())
    };
    Ok(Json(json!({
        "session_id": session.session_id,
        "connection_token": session.connection_token,
        "channel_id": session.channel_id,
        "expires_at": iso8601(session.expires_at),
    })))
}

/// `DELETE /api/voice/channels/:id/leave` (auth) → 200, or 404 "No active session found".
pub async fn leave_channel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_channel_id(&id)?;
    if state.channels().close_session(id, user.id) {
        Ok(Json(json!({ "message": "Left voice channel" })))
    } else {
        Err(ApiError::NotFound("No active session found".into()))
    }
}

/// `DELETE /api/voice/channels/:id` (auth): only the channel's creator may delete it, and
/// the seeded channels nobody (403). The C++ server has no creator check; this is what its
/// `created_by` column intends. A live voice room of a deleted channel goes on until it
/// empties; nobody new can join it.
pub async fn delete_channel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_channel_id(&id)?;
    let mut store = state.channels();
    let channel = store.get(id).ok_or_else(ApiError::channel_not_found)?;
    if !channel.deletable_by(user.id) {
        return Err(ApiError::Forbidden(
            "Only the channel's creator may delete it".into(),
        ));
    }
    store.delete(id);
    Ok(Json(json!({ "message": "Channel deleted" })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ids_outside_the_bounds_are_bad_requests() {
        assert_eq!(parse_channel_id("1"), Ok(1));
        assert_eq!(parse_channel_id("1000000"), Ok(1_000_000));
        for bad in ["0", "1000001", "-3", "abc", ""] {
            assert_eq!(parse_channel_id(bad), Err(ApiError::invalid_channel_id()));
        }
    }
}
