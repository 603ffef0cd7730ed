//! User authentication: HS256 user JWTs (sub = user id, username, university, exp), the
//! `Authorization: Bearer` extractor for REST handlers, and verification of the WebSocket's
//! `?token=` query parameter. Tokens whose user id is outside 1..=100_000_000 are refused.

use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Deserializer, Serialize};
use sohbet_rtc::signal::{UserId, MAX_USER_ID};
use thiserror::Error;

use crate::error::ApiError;
use crate::state::AppState;

/// How long a dev-login token stays valid.
pub const USER_TOKEN_TTL_SECS: u64 = 24 * 3600;

/// The authenticated user, as carried by the JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub id: UserId,
    pub username: String,
    pub university: String,
}

/// Claims of a user JWT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserClaims {
    /// The user id. Issued as a string (JWT convention); a bare number is accepted too.
    #[serde(deserialize_with = "id_from_string_or_number")]
    pub sub: String,
    pub username: String,
    #[serde(default)]
    pub university: String,
    pub iat: u64,
    pub exp: u64,
}

fn id_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        S(String),
        N(u64),
    }
    Ok(match Either::deserialize(d)? {
        Either::S(s) => s,
        Either::N(n) => n.to_string(),
    })
}

/// Why a user token was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("missing token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("user id out of range")]
    BadUserId,
    #[error("could not sign token: {0}")]
    Sign(String),
}

impl AuthError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "auth/missing",
            AuthError::Invalid(_) => "auth/invalid",
            AuthError::BadUserId => "auth/bad-user-id",
            AuthError::Sign(_) => "auth/sign",
        }
    }
}

/// Issues and verifies user JWTs with one HS256 secret.
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    leeway_secs: u64,
}

impl Auth {
    /// `leeway_secs`: how long after `exp` a token is still accepted (0 by default).
    pub fn new(secret: &str, leeway_secs: u64) -> Self {
        Auth {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            leeway_secs,
        }
    }

    /// Signs a token for `user`, valid from `now` (unix seconds) for [`USER_TOKEN_TTL_SECS`].
    pub fn issue(&self, user: &UserInfo, now: u64) -> Result<String, AuthError> {
        let claims = UserClaims {
            sub: user.id.to_string(),
            username: user.username.clone(),
            university: user.university.clone(),
            iat: now,
            exp: now + USER_TOKEN_TTL_SECS,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Sign(e.to_string()))
    }

    /// Verifies signature, algorithm and expiry, and bounds the user id.
    pub fn verify(&self, token: &str) -> Result<UserInfo, AuthError> {
        self.verify_until(token).map(|(user, _)| user)
    }

    /// Like [`Auth::verify`], also returning until when (unix seconds, leeway included) the
    /// token is valid: the voice socket is closed then (policy in server/README.md).
    pub fn verify_until(&self, token: &str) -> Result<(UserInfo, u64), AuthError> {
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = self.leeway_secs;
        let data = decode::<UserClaims>(token, &self.decoding, &validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let id: UserId = data.claims.sub.parse().map_err(|_| AuthError::BadUserId)?;
        if !(1..=MAX_USER_ID).contains(&id) {
            return Err(AuthError::BadUserId);
        }
        let valid_until = data.claims.exp.saturating_add(self.leeway_secs);
        let user = UserInfo {
            id,
            username: data.claims.username,
            university: data.claims.university,
        };
        Ok((user, valid_until))
    }
}

/// Extractor for REST handlers that need `Authorization: Bearer <JWT>`; refuses with 401.
pub struct AuthUser(pub UserInfo);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(ApiError::Unauthorized)?;
        state
            .auth()
            .verify(token)
            .map(AuthUser)
            .map_err(|_| ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: UserId) -> UserInfo {
        UserInfo {
            id,
            username: "ayse".into(),
            university: "ODTU".into(),
        }
    }

    fn now() -> u64 {
        crate::clock::unix_secs()
    }

    #[test]
    fn issued_token_verifies_back_to_the_same_user() {
        let auth = Auth::new("s3cret", 0);
        let token = auth.issue(&user(42), now()).unwrap();
        assert_eq!(auth.verify(&token).unwrap(), user(42));
    }

    #[test]
    fn token_signed_with_another_secret_is_refused() {
        let token = Auth::new("one", 0).issue(&user(42), now()).unwrap();
        let err = Auth::new("two", 0).verify(&token).unwrap_err();
        assert_eq!(err.code(), "auth/invalid");
    }

    #[test]
    fn expired_token_is_refused() {
        let auth = Auth::new("s3cret", 0);
        let token = auth
            .issue(&user(42), now() - 2 * USER_TOKEN_TTL_SECS)
            .unwrap();
        assert_eq!(auth.verify(&token).unwrap_err().code(), "auth/invalid");
    }

    #[test]
    fn a_token_expired_a_second_ago_is_refused_without_leeway() {
        let now = now();
        let token = Auth::new("k", 0)
            .issue(&user(42), now - USER_TOKEN_TTL_SECS - 2)
            .unwrap();
        assert!(Auth::new("k", 0).verify(&token).is_err());
        let (_, until) = Auth::new("k", 30).verify_until(&token).unwrap();
        assert_eq!(until, now - 2 + 30);
    }

    #[test]
    fn out_of_range_user_id_is_refused() {
        let auth = Auth::new("s3cret", 0);
        let token = auth.issue(&user(MAX_USER_ID + 1), now()).unwrap();
        assert_eq!(auth.verify(&token).unwrap_err(), AuthError::BadUserId);
        let zero = auth.issue(&user(0), now()).unwrap();
        assert_eq!(auth.verify(&zero).unwrap_err(), AuthError::BadUserId);
    }

    #[test]
    fn empty_token_is_missing() {
        assert_eq!(
            Auth::new("x", 0).verify("").unwrap_err(),
            AuthError::Missing
        );
    }
}
