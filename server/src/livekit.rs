//! LiveKit access tokens (compat-spec H-T1): HS256 JWTs signed with the LiveKit API secret,
//! which never leaves the server. Claims: iss = API key, sub = String(user id), name =
//! username (HTML tags stripped, ≤ 50 chars), nbf/iat = now, exp = now + 300 s, unique jti,
//! and LiveKit's `video` grant for room `channel_<id>` (join, publish, subscribe; no data).
//! Also the per-user rate limit (10 tokens a minute by default) and the REST handler
//! `POST /api/voice/channels/:id/sfu-token`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::Json;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sohbet_rtc::signal::{ChannelId, UserId, MAX_CHANNEL_ID};
use thiserror::Error;

use crate::auth::{AuthUser, UserInfo};
use crate::clock::{iso8601, unix_secs};
use crate::error::ApiError;
use crate::state::AppState;

/// Lifetime of a LiveKit token (H-T1: at most five minutes).
pub const TOKEN_TTL_SECS: u64 = 300;
/// Longest display name put in a token.
pub const MAX_NAME_CHARS: usize = 50;

/// LiveKit's `video` grant (camelCase keys as LiveKit expects them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VideoGrant {
    pub room: String,
    pub room_join: bool,
    pub can_publish: bool,
    pub can_subscribe: bool,
    pub can_publish_data: bool,
}

/// The claims of a LiveKit access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveKitClaims {
    pub iss: String,
    pub sub: String,
    pub name: String,
    pub nbf: u64,
    pub iat: u64,
    pub exp: u64,
    pub jti: String,
    pub video: VideoGrant,
}

/// A minted token as returned to the client.
#[derive(Debug, Clone, Serialize)]
pub struct MintedToken {
    pub token: String,
    pub url: String,
    pub room: String,
    pub identity: String,
    /// ISO-8601 UTC.
    pub expires_at: String,
}

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LiveKitError {
    #[error("could not sign LiveKit token: {0}")]
    Sign(String),
}

impl LiveKitError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LiveKitError::Sign(_) => "livekit/sign",
        }
    }
}

/// The LiveKit room of a voice channel.
pub fn room_name(channel_id: ChannelId) -> String {
    format!("channel_{channel_id}")
}

/// Removes `<…>` tags, trims, and keeps at most [`MAX_NAME_CHARS`] characters.
pub fn display_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_tag = false;
    for ch in raw.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out.trim().chars().take(MAX_NAME_CHARS).collect()
}

/// Signs LiveKit tokens with the API key/secret.
pub struct Minter {
    api_key: String,
    key: EncodingKey,
    url: String,
}

impl Minter {
    pub fn new(api_key: &str, api_secret: &str, url: &str) -> Self {
        Minter {
            api_key: api_key.to_owned(),
            key: EncodingKey::from_secret(api_secret.as_bytes()),
            url: url.to_owned(),
        }
    }

    /// A token for `user` in `channel_<channel_id>`, valid from `now` (unix seconds).
    pub fn mint(
        &self,
        user: &UserInfo,
        channel_id: ChannelId,
        now: u64,
    ) -> Result<MintedToken, LiveKitError> {
        let identity = user.id.to_string();
        let mut name = display_name(&user.username);
        if name.is_empty() {
            name = identity.clone();
        }
        let claims = LiveKitClaims {
            iss: self.api_key.clone(),
            sub: identity.clone(),
            name,
            nbf: now,
            iat: now,
            exp: now + TOKEN_TTL_SECS,
            jti: uuid::Uuid::new_v4().to_string(),
            video: VideoGrant {
                room: room_name(channel_id),
                room_join: true,
                can_publish: true,
                can_subscribe: true,
                can_publish_data: false,
            },
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.key)
            .map_err(|e| LiveKitError::Sign(e.to_string()))?;
        Ok(MintedToken {
            token,
            url: self.url.clone(),
            room: claims.video.room,
            identity,
            expires_at: iso8601(claims.exp),
        })
    }
}

/// A sliding one-minute window of token grants per user.
pub struct RateLimiter {
    per_minute: usize,
    grants: Mutex<HashMap<UserId, VecDeque<Instant>>>,
}

impl RateLimiter {
    pub fn new(per_minute: usize) -> Self {
        RateLimiter {
            per_minute,
            grants: Mutex::new(HashMap::new()),
        }
    }

    /// Records a grant at `now` if the user is under the limit; otherwise returns how many
    /// seconds until the oldest grant in the window expires.
    pub fn try_acquire(&self, user: UserId, now: Instant) -> Result<(), u64> {
        const WINDOW: Duration = Duration::from_secs(60);
        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        let window = grants.entry(user).or_default();
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= self.per_minute {
            let oldest = window.front().copied().unwrap_or(now);
            let wait = WINDOW.saturating_sub(now.saturating_duration_since(oldest));
            return Err(wait.as_secs() + 1);
        }
        window.push_back(now);
        Ok(())
    }
}

/// `POST /api/voice/channels/:id/sfu-token` → `{token, url, room, identity, expires_at}`.
/// Only for a live voice member of that channel (403 `forbidden` otherwise), so nobody can
/// listen to an SFU call they are not in; members get their tokens with voice:mode-change
/// anyway. Dev mode also mints for non-members (the SFU-only browser tests connect without
/// a voice socket).
pub async fn sfu_token(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
) -> Result<Json<MintedToken>, ApiError> {
    let channel_id: ChannelId = id
        .parse()
        .ok()
        .filter(|id| (1..=MAX_CHANNEL_ID).contains(id))
        .ok_or_else(ApiError::invalid_channel_id)?;
    if !state.config().dev_mode && !state.hub().is_member(channel_id, user.id) {
        return Err(ApiError::Forbidden(
            "SFU tokens are only minted for live voice members of the channel".into(),
        ));
    }
    state
        .token_limiter()
        .try_acquire(user.id, Instant::now())
        .map_err(|retry_after_secs| ApiError::RateLimited { retry_after_secs })?;
    let minted = state
        .minter()
        .mint(&user, channel_id, unix_secs())
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    state.metrics().token_minted("rest");
    Ok(Json(minted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_name_strips_tags_and_truncates() {
        assert_eq!(display_name("<b>Ayşe</b> <script>x</script>"), "Ayşe x");
        assert_eq!(
            display_name(&"ş".repeat(80)).chars().count(),
            MAX_NAME_CHARS
        );
        assert_eq!(display_name("  plain  "), "plain");
    }

    #[test]
    fn limiter_allows_the_quota_then_refuses_until_the_window_passes() {
        let limiter = RateLimiter::new(3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.try_acquire(7, t0).is_ok());
        }
        let wait = limiter.try_acquire(7, t0).unwrap_err();
        assert!((1..=61).contains(&wait));
        assert!(limiter.try_acquire(8, t0).is_ok(), "limits are per user");
        assert!(limiter.try_acquire(7, t0 + Duration::from_secs(60)).is_ok());
    }
}
