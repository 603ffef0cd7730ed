//! Error types of the reference server: [`ServerError`] for start-up and configuration, and
//! [`ApiError`] for REST handlers, which renders as `{"error": "…"}` with the status the C++
//! server uses (compat-spec §3.3). Both carry a stable machine-readable `code()`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use thiserror::Error;

/// Failures while configuring or starting the server.
#[derive(Debug, Error)]
pub enum ServerError {
    #[error("invalid value {value:?} for {key}")]
    Config { key: &'static str, value: String },
    #[error("could not bind {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "LIVEKIT_API_SECRET is livekit-server --dev's well-known secret (or shorter than 16 \
         characters): anyone could mint SFU tokens for every room. Set LIVEKIT_API_KEY and \
         LIVEKIT_API_SECRET to the production pair, or SOHBET_DEV=1 on a developer machine"
    )]
    InsecureLiveKitSecret,
}

impl ServerError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ServerError::Config { .. } => "config",
            ServerError::Bind { .. } => "bind",
            ServerError::Io(_) => "io",
            ServerError::InsecureLiveKitSecret => "insecure-livekit-secret",
        }
    }
}

/// A refused REST request. The message is what clients see in `{error}`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiError {
    #[error("Unauthorized")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Rate limit exceeded")]
    RateLimited { retry_after_secs: u64 },
    #[error("Dev endpoints are disabled")]
    DevDisabled,
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::DevDisabled => "dev-disabled",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The HTTP status of this refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::DevDisabled => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// 400 "Invalid channel id" (the C++ server's wording for a bad `:id`).
    pub fn invalid_channel_id() -> Self {
        ApiError::BadRequest("Invalid channel id".into())
    }

    /// 404 "Channel not found".
    pub fn channel_not_found() -> Self {
        ApiError::NotFound("Channel not found".into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(serde_json::json!({ "error": self.to_string(), "code": self.code() }));
        let mut response = (self.status(), body).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self {
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Turns a JSON body rejection (missing/invalid body) into a 400 `{error}`.
impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        ApiError::BadRequest(format!("Invalid JSON body: {}", rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_api_error_maps_to_its_documented_status() {
        assert_eq!(ApiError::Unauthorized.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            ApiError::invalid_channel_id().status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ApiError::channel_not_found().status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            ApiError::RateLimited {
                retry_after_secs: 3
            }
            .status(),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[test]
    fn rate_limited_response_carries_retry_after() {
        let response = ApiError::RateLimited {
            retry_after_secs: 7,
        }
        .into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "7");
    }
}
