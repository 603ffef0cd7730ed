//! Pure encoder/decoder for `voice:*` frames, tolerant of the deployed C++ server's quirks:
//! relayed frames carry one extra trailing `}` (compat-spec 2.2b), several envelopes may share
//! one frame, and `payload` may be an object or a JSON string. Every failure is a typed
//! [`CodecError`]; nothing here panics on any input. Encoding writes `type` first and
//! `payload` last and refuses frames over [`MAX_FRAME_BYTES`] (the server's single-read limit).

use serde_json::{Map, Value};
use thiserror::Error;

use super::messages::Message;

/// The C++ server decodes each `recv()` of at most 4096 bytes as one frame (2.2d).
pub const MAX_FRAME_BYTES: usize = 4096;
/// Inbound frames larger than this are refused outright (bounded work per frame).
pub const MAX_INBOUND_BYTES: usize = 1 << 20;

/// All `voice:*` type names this codec understands.
pub const VOICE_TYPES: &[&str] = &[
    "voice:join",
    "voice:leave",
    "voice:offer",
    "voice:answer",
    "voice:ice-candidate",
    "voice:mute",
    "voice:video-toggle",
    "voice:user-joined",
    "voice:participants",
    "voice:user-left",
    "voice:user-muted",
    "voice:user-video-toggled",
    "voice:mode-change",
    "voice:mode-change-ack",
    "voice:rollback",
    "voice:join-ready",
    "voice:degraded-mode",
    "voice:error",
];

/// Why a frame could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    #[error("frame holds no complete JSON object")]
    NoObject,
    #[error("frame is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("envelope is missing `{0}`")]
    MissingField(&'static str),
    #[error("envelope `type` is not a string")]
    BadType,
    #[error("unknown voice message type `{0}`")]
    UnknownType(String),
    #[error("invalid payload for `{kind}`: {reason}")]
    InvalidPayload { kind: String, reason: String },
    #[error("frame of {size} bytes exceeds the {limit}-byte limit")]
    FrameTooLarge { size: usize, limit: usize },
    #[error("could not encode message: {0}")]
    Encode(String),
}

impl CodecError {
    /// A stable machine-readable code (surfaced to JS as `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            CodecError::NoObject => "signal/no-object",
            CodecError::InvalidJson(_) => "signal/invalid-json",
            CodecError::MissingField(_) => "signal/missing-field",
            CodecError::BadType => "signal/bad-type",
            CodecError::UnknownType(_) => "signal/unknown-type",
            CodecError::InvalidPayload { .. } => "signal/invalid-payload",
            CodecError::FrameTooLarge { .. } => "signal/frame-too-large",
            CodecError::Encode(_) => "signal/encode",
        }
    }
}

/// One decoded envelope: a typed voice message, or a non-voice envelope (chat:*, user:*)
/// handed on untouched for other listeners of the shared socket.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Voice(Message),
    Other { kind: String, payload: Value },
}

/// Splits a text into its complete top-level JSON objects, skipping braces inside strings
/// and escapes. Stray closing braces and text between objects are ignored; an unterminated
/// object at the end is dropped.
pub fn split_objects(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' if depth > 0 => in_string = true,
            b'{' => {
                if depth == 0 {
                    start = i;
                }
                depth += 1;
            }
            b'}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    // `{` and `}` are ASCII, so both ends are char boundaries.
                    out.push(&text[start..=i]);
                }
            }
            _ => {}
        }
    }
    out
}

/// Decodes one received frame into every envelope it holds. A frame that is one valid JSON
/// object takes the fast path; otherwise the brace scanner recovers each complete object
/// (the C++ relay's trailing `}`; coalesced frames).
pub fn decode_frame(text: &str) -> Vec<Result<Decoded, CodecError>> {
    if text.len() > MAX_INBOUND_BYTES {
        return vec![Err(CodecError::FrameTooLarge {
            size: text.len(),
            limit: MAX_INBOUND_BYTES,
        })];
    }
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return vec![decode_envelope(value)];
    }
    let objects = split_objects(text);
    if objects.is_empty() {
        return vec![Err(CodecError::NoObject)];
    }
    objects
        .into_iter()
        .map(|obj| {
            serde_json::from_str::<Value>(obj)
                .map_err(|e| CodecError::InvalidJson(e.to_string()))
                .and_then(decode_envelope)
        })
        .collect()
}

/// Decodes a parsed `{type, payload}` envelope.
pub fn decode_envelope(value: Value) -> Result<Decoded, CodecError> {
    let Value::Object(mut map) = value else {
        return Err(CodecError::NoObject);
    };
    let kind = match map.remove("type") {
        Some(Value::String(s)) => s,
        Some(_) => return Err(CodecError::BadType),
        None => return Err(CodecError::MissingField("type")),
    };
    let payload = map
        .remove("payload")
        .ok_or(CodecError::MissingField("payload"))?;
    decode_value(&kind, payload)
}

/// Decodes a message given its type name and payload, where the payload may be an object or
/// a JSON string holding one (old clients' handlers accept both).
pub fn decode_value(kind: &str, payload: Value) -> Result<Decoded, CodecError> {
    if !kind.starts_with("voice:") {
        return Ok(Decoded::Other {
            kind: kind.to_owned(),
            payload,
        });
    }
    if !VOICE_TYPES.contains(&kind) {
        return Err(CodecError::UnknownType(truncate(kind, 64)));
    }
    let payload = match payload {
        Value::String(s) => parse_string_payload(kind, &s)?,
        other => other,
    };
    let mut envelope = Map::with_capacity(2);
    envelope.insert("type".into(), Value::String(kind.to_owned()));
    envelope.insert("payload".into(), payload);
    serde_json::from_value::<Message>(Value::Object(envelope))
        .map(Decoded::Voice)
        .map_err(|e| CodecError::InvalidPayload {
            kind: kind.to_owned(),
            reason: e.to_string(),
        })
}

fn parse_string_payload(kind: &str, s: &str) -> Result<Value, CodecError> {
    let invalid = |reason: String| CodecError::InvalidPayload {
        kind: kind.to_owned(),
        reason,
    };
    match serde_json::from_str::<Value>(s) {
        Ok(v) => Ok(v),
        Err(e) => match split_objects(s).first() {
            Some(obj) => serde_json::from_str(obj).map_err(|e| invalid(e.to_string())),
            None => Err(invalid(format!("payload string is not JSON: {e}"))),
        },
    }
}

/// Encodes a message as `{"type":…,"payload":{…}}`, refusing frames over 4096 bytes.
pub fn encode(msg: &Message) -> Result<String, CodecError> {
    let text = serde_json::to_string(msg).map_err(|e| CodecError::Encode(e.to_string()))?;
    if text.len() > MAX_FRAME_BYTES {
        return Err(CodecError::FrameTooLarge {
            size: text.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    Ok(text)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
