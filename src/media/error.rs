//! `MediaError`: the media layer's error type (capture, audio graph, stats), with a stable
//! `code()` for the JS boundary, and the exact user-facing messages the app shows on a
//! capture failure (compat-spec §1.2).
//!
//! The enum itself is plain Rust and builds natively; the conversion from a browser
//! `DOMException` (by its `name`) is in [`MediaError::from_capture_name`], so it can be tested
//! without a browser.

/// The message `joinChannel` rejects with when the microphone (or camera) cannot be opened.
/// khave shows `err.message` verbatim, so this text is part of the contract.
pub const CAPTURE_FAILED_MESSAGE: &str =
    "Failed to access microphone/camera. Please grant permissions.";

/// The message `toggleVideo` rejects with when the camera cannot be opened.
pub const CAMERA_FAILED_MESSAGE: &str = "Failed to access camera. Please grant camera permissions.";

/// Everything that can go wrong in the media layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The user or the browser refused access (`NotAllowedError`, `SecurityError`).
    #[error("media permission denied: {0}")]
    PermissionDenied(String),
    /// No device matches (`NotFoundError`, `OverconstrainedError`).
    #[error("no matching media device: {0}")]
    NotFound(String),
    /// The device exists but cannot be opened (`NotReadableError`, `AbortError`).
    #[error("media device busy or unreadable: {0}")]
    DeviceBusy(String),
    /// `navigator.mediaDevices` is missing (insecure context, server-side rendering, old browser).
    #[error("media capture is not available in this context")]
    Unsupported,
    /// Any other capture failure, with the browser's error name or message.
    #[error("media capture failed: {0}")]
    Capture(String),
    /// The `AudioContext` could not be created.
    #[error("no audio context: {0}")]
    NoAudioContext(String),
    /// The audio graph was already closed.
    #[error("the audio graph is closed")]
    Closed,
    /// Creating or connecting a Web Audio node failed.
    #[error("audio node error: {0}")]
    AudioNode(String),
    /// A DOM operation (creating or inserting the hidden `<audio>` element, timers) failed.
    #[error("DOM error: {0}")]
    Dom(String),
    /// `getStats()` failed or returned something unreadable.
    #[error("stats error: {0}")]
    Stats(String),
}

impl crate::error::JsErrorCode for MediaError {
    /// A stable machine-readable code for the JS boundary and logs.
    fn code(&self) -> &'static str {
        match self {
            MediaError::PermissionDenied(_) => "media/permission-denied",
            MediaError::NotFound(_) => "media/not-found",
            MediaError::DeviceBusy(_) => "media/device-busy",
            MediaError::Unsupported => "media/unsupported",
            MediaError::Capture(_) => "media/capture-failed",
            MediaError::NoAudioContext(_) => "media/no-audio-context",
            MediaError::Closed => "media/graph-closed",
            MediaError::AudioNode(_) => "media/audio-node",
            MediaError::Dom(_) => "media/dom",
            MediaError::Stats(_) => "media/stats",
        }
    }
}

impl MediaError {
    /// True for the errors that come from `getUserMedia` (the app shows a capture message).
    pub fn is_capture_error(&self) -> bool {
        matches!(
            self,
            MediaError::PermissionDenied(_)
                | MediaError::NotFound(_)
                | MediaError::DeviceBusy(_)
                | MediaError::Unsupported
                | MediaError::Capture(_)
        )
    }

    /// Maps a `getUserMedia` rejection, given the `DOMException.name` and its message.
    pub fn from_capture_name(name: &str, message: &str) -> MediaError {
        let detail = if message.is_empty() {
            name.to_string()
        } else {
            format!("{name}: {message}")
        };
        match name {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => {
                MediaError::PermissionDenied(detail)
            }
            "NotFoundError" | "OverconstrainedError" | "DevicesNotFoundError" => {
                MediaError::NotFound(detail)
            }
            "NotReadableError" | "AbortError" | "TrackStartError" => MediaError::DeviceBusy(detail),
            "TypeError" if message.contains("mediaDevices") => MediaError::Unsupported,
            _ => MediaError::Capture(detail),
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl MediaError {
    /// Maps a `getUserMedia` rejection value to a `MediaError`.
    pub fn from_capture_js(value: &wasm_bindgen::JsValue) -> MediaError {
        let (name, message) = crate::error::name_and_message(value);
        MediaError::from_capture_name(&name, &message)
    }
}

#[cfg(target_arch = "wasm32")]
pub(crate) use crate::error::describe_js as describe;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::JsErrorCode;

    #[test]
    fn permission_refusals_map_to_permission_denied() {
        for name in ["NotAllowedError", "SecurityError"] {
            let err = MediaError::from_capture_name(name, "denied");
            assert_eq!(err.code(), "media/permission-denied");
            assert!(err.is_capture_error());
        }
    }

    #[test]
    fn missing_and_busy_devices_have_their_own_codes() {
        assert_eq!(
            MediaError::from_capture_name("NotFoundError", "").code(),
            "media/not-found"
        );
        assert_eq!(
            MediaError::from_capture_name("NotReadableError", "in use").code(),
            "media/device-busy"
        );
        assert_eq!(
            MediaError::from_capture_name("WeirdError", "x").code(),
            "media/capture-failed"
        );
    }

    #[test]
    fn graph_errors_are_not_capture_errors() {
        assert!(!MediaError::Closed.is_capture_error());
        assert!(!MediaError::AudioNode("x".into()).is_capture_error());
    }

    #[test]
    fn messages_are_the_documented_texts() {
        let cases = [
            (
                MediaError::PermissionDenied("a".into()),
                "media permission denied: a",
            ),
            (
                MediaError::NotFound("b".into()),
                "no matching media device: b",
            ),
            (
                MediaError::DeviceBusy("c".into()),
                "media device busy or unreadable: c",
            ),
            (
                MediaError::Unsupported,
                "media capture is not available in this context",
            ),
            (MediaError::Capture("d".into()), "media capture failed: d"),
            (
                MediaError::NoAudioContext("e".into()),
                "no audio context: e",
            ),
            (MediaError::Closed, "the audio graph is closed"),
            (MediaError::AudioNode("f".into()), "audio node error: f"),
            (MediaError::Dom("g".into()), "DOM error: g"),
            (MediaError::Stats("h".into()), "stats error: h"),
        ];
        for (error, message) in cases {
            assert_eq!(error.to_string(), message);
        }
    }

    #[test]
    fn user_facing_messages_match_the_contract() {
        assert!(CAPTURE_FAILED_MESSAGE.starts_with("Failed to access microphone/camera."));
        assert!(CAMERA_FAILED_MESSAGE.ends_with("Please grant camera permissions."));
    }
}
