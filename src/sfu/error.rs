//! `SfuError`: everything that can go wrong in the LiveKit client, with stable codes
//! (`"sfu/…"`) for JS. Pure, so it builds natively.

use super::proto::ProtoError;
use crate::error::JsErrorCode;

/// Errors of the SFU layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SfuError {
    /// A signal frame could not be decoded or was out of place.
    #[error(transparent)]
    Proto(#[from] ProtoError),
    /// No JoinResponse (or ReconnectResponse) arrived in time.
    #[error("the SFU did not answer the join within {0} ms")]
    JoinTimeout(u32),
    /// The signal socket closed before the session was established.
    #[error("the SFU signal socket closed (code {0})")]
    SignalClosed(u16),
    /// The server told us to leave for good (reason = LiveKit DisconnectReason).
    #[error("the SFU ended the session (reason {0})")]
    Disconnected(i32),
    /// A browser API threw.
    #[error("browser error: {0}")]
    Browser(String),
    /// An operation that needs a live session was called without one.
    #[error("not connected to the SFU")]
    NotConnected,
    /// The client was left; nothing more can be done with it.
    #[error("the SFU client is closed")]
    Closed,
    /// The server did not confirm a published track in time.
    #[error("the SFU did not confirm the published track")]
    PublishTimeout,
    /// Resume and rejoin both failed.
    #[error("could not reconnect to the SFU after {0} attempts")]
    ReconnectFailed(u32),
}

impl JsErrorCode for SfuError {
    fn code(&self) -> &'static str {
        match self {
            SfuError::Proto(e) => e.code(),
            SfuError::JoinTimeout(_) => "sfu/join-timeout",
            SfuError::SignalClosed(_) => "sfu/signal-closed",
            SfuError::Disconnected(_) => "sfu/disconnected",
            SfuError::Browser(_) => "sfu/browser",
            SfuError::NotConnected => "sfu/not-connected",
            SfuError::Closed => "sfu/closed",
            SfuError::PublishTimeout => "sfu/publish-timeout",
            SfuError::ReconnectFailed(_) => "sfu/reconnect-failed",
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl SfuError {
    /// Wraps a value thrown by a browser API.
    pub fn js(value: &wasm_bindgen::JsValue) -> SfuError {
        SfuError::Browser(crate::error::describe_js(value))
    }
}
