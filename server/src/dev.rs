//! Development endpoints (only in dev mode: `SOHBET_DEV=1` or `SOHBET_DEV_ENDPOINTS=1`):
//! `POST /api/dev/login {username, university?, user_id?}` mints a user JWT for tests and the
//! demo, and `POST /api/dev/drop-connections {user_id}` drops that user's WebSockets
//! server-side without a close handshake, as a network failure would, so reconnect and
//! re-join can be tested.

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use sohbet_rtc::signal::{UserId, MAX_USER_ID};

use crate::auth::UserInfo;
use crate::clock::unix_secs;
use crate::error::ApiError;
use crate::state::AppState;

/// Longest username and university accepted by the dev login.
pub const MAX_FIELD_CHARS: usize = 100;

/// Body of `POST /api/dev/login`.
#[derive(Debug, Deserialize)]
pub struct DevLogin {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub university: Option<String>,
    #[serde(default)]
    pub user_id: Option<UserId>,
}

fn ensure_enabled(state: &AppState) -> Result<(), ApiError> {
    if state.config().dev_mode {
        Ok(())
    } else {
        Err(ApiError::DevDisabled)
    }
}

/// `POST /api/dev/login` → `{token, user: {id, username, university}}`.
pub async fn login(
    State(state): State<AppState>,
    body: Result<Json<DevLogin>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_enabled(&state)?;
    let Json(body) = body?;
    let username = body.username.as_deref().map(str::trim).unwrap_or_default();
    if username.is_empty() {
        return Err(ApiError::BadRequest("username is required".into()));
    }
    let university = body
        .university
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if username.chars().count() > MAX_FIELD_CHARS || university.chars().count() > MAX_FIELD_CHARS {
        return Err(ApiError::BadRequest(
            "username or university too long".into(),
        ));
    }
    let id = match body.user_id {
        Some(id) if (1..=MAX_USER_ID).contains(&id) => id,
        Some(_) => {
            return Err(ApiError::BadRequest(format!(
                "user_id must be within 1..={MAX_USER_ID}"
            )))
        }
        None => state.fresh_user_id(),
    };
    let user = UserInfo {
        id,
        username: username.to_owned(),
        university: university.to_owned(),
    };
    let token = state
        .auth()
        .issue(&user, unix_secs())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(json!({ "token": token, "user": user })))
}

/// Body of `POST /api/dev/drop-connections`.
#[derive(Debug, Deserialize)]
pub struct DropConnections {
    pub user_id: UserId,
}

/// `POST /api/dev/drop-connections {user_id}` → `{dropped: <sockets>}`.
pub async fn drop_connections(
    State(state): State<AppState>,
    body: Result<Json<DropConnections>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    ensure_enabled(&state)?;
    let Json(body) = body?;
    let dropped = state.hub().drop_user(body.user_id);
    tracing::info!(user = body.user_id, dropped, "dev: dropped connections");
    Ok(Json(json!({ "dropped": dropped })))
}
