//! `SfuError`: everything that can go wrong in the LiveKit client, with stable codes
//! (`"sfu/…"`) for JS. Pure, so it builds natively.

use super::proto::ProtoError;

/// Errors of the SFU layer. The message is written with [`crate::error::push_parts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfuError {
    /// A signal frame could not be decoded or was out of place.
    Proto(ProtoError),
    /// No JoinResponse (or ReconnectResponse) arrived in time.
    JoinTimeout(u32),
    /// The signal socket closed before the session was established.
    SignalClosed(u16),
    /// The server told us to leave for good (reason = LiveKit DisconnectReason).
    Disconnected(i32),
    /// A browser API threw.
    Browser(String),
    /// An operation that needs a live session was called without one.
    NotConnected,
    /// The client was left; nothing more can be done with it.
    Closed,
    /// The server did not confirm a published track in time.
    PublishTimeout,
    /// Resume and rejoin both failed.
    ReconnectFailed(u32),
}

impl From<ProtoError> for SfuError {
    fn from(e: ProtoError) -> Self {
        SfuError::Proto(e)
    }
}

impl SfuError {
    /// Appends the message (what `Display` shows) to `out`.
    pub fn describe(&self, out: &mut String) {
        use SfuError as E;
        let (head, number, tail): (&str, Option<i64>, &str) = match self {
            E::Proto(e) => return e.describe(out),
            E::JoinTimeout(ms) => (
                "the SFU did not answer the join within ",
                Some((*ms).into()),
                " ms",
            ),
            E::SignalClosed(code) => (
                "the SFU signal socket closed (code ",
                Some((*code).into()),
                ")",
            ),
            E::Disconnected(reason) => (
                "the SFU ended the session (reason ",
                Some((*reason).into()),
                ")",
            ),
            E::Browser(message) => ("browser error: ", None, message),
            E::NotConnected => ("not connected to the SFU", None, ""),
            E::Closed => ("the SFU client is closed", None, ""),
            E::PublishTimeout => ("the SFU did not confirm the published track", None, ""),
            E::ReconnectFailed(attempts) => (
                "could not reconnect to the SFU after ",
                Some((*attempts).into()),
                " attempts",
            ),
        };
        use crate::error::{push_parts, Part::*};
        match number {
            Some(number) => push_parts(out, &[Text(head), Signed(number), Text(tail)]),
            None => push_parts(out, &[Text(head), Text(tail)]),
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
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

crate::layer_error!(SfuError);

#[cfg(target_arch = "wasm32")]
impl SfuError {
    /// Wraps a value thrown by a browser API.
    pub fn js(value: &wasm_bindgen::JsValue) -> SfuError {
        SfuError::Browser(crate::error::describe_js(value))
    }
}
