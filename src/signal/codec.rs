//! Pure encoder/decoder for `voice:*` frames, tolerant of the deployed C++ server's quirks:
//! relayed frames carry one extra trailing `}` (compat-spec 2.2b), several envelopes may share
//! one frame, and `payload` may be an object or a JSON string. Every failure is a typed
//! [`CodecError`]; nothing here panics on any input. Encoding writes `type` first and
//! `payload` last and refuses frames over [`MAX_FRAME_BYTES`] (the server's single-read limit).

use super::json::{self, Json};
use super::mapping::{payload_json, to_json};
use super::messages::Message;
pub use super::messages::VOICE_TYPES;

/// The C++ server decodes each `recv()` of at most 4096 bytes as one frame (2.2d).
pub const MAX_FRAME_BYTES: usize = 4096;
/// Inbound frames larger than this are refused outright (bounded work per frame).
pub const MAX_INBOUND_BYTES: usize = 1 << 20;

/// Why a frame could not be decoded or encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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

impl crate::error::JsErrorCode for CodecError {
    fn code(&self) -> &'static str {
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
/// handed on untouched (as the JSON text of its payload) for other listeners of the shared
/// socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Voice(Message),
    Other { kind: String, payload: String },
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
    if let Ok(value) = json::parse(text) {
        return vec![decode_envelope(text, &value)];
    }
    let objects = split_objects(text);
    if objects.is_empty() {
        return vec![Err(CodecError::NoObject)];
    }
    let mut out = Vec::with_capacity(objects.len());
    for obj in objects {
        out.push(match json::parse(obj) {
            Ok(value) => decode_envelope(obj, &value),
            Err(e) => Err(CodecError::InvalidJson(e)),
        });
    }
    out
}

/// Decodes a parsed `{type, payload}` envelope; `text` is the JSON it was parsed from.
fn decode_envelope(text: &str, value: &Json) -> Result<Decoded, CodecError> {
    let Json::Object(_) = value else {
        return Err(CodecError::NoObject);
    };
    let kind = match value.get("type") {
        Some(Json::Str(s)) => s,
        Some(_) => return Err(CodecError::BadType),
        None => return Err(CodecError::MissingField("type")),
    };
    let payload = value
        .member("payload")
        .ok_or(CodecError::MissingField("payload"))?;
    // The span comes from the parser: it starts and ends on character boundaries.
    let raw = &text[payload.span.0..payload.span.1];
    decode_parsed(kind, &payload.value, raw)
}

/// Decodes a message given its type name and the JSON text of its payload, which may be an
/// object or a JSON string holding one (old clients' handlers accept both). Used where the
/// envelope arrives already split (the app's socket, `SignalingClient::send`).
pub fn decode_payload(kind: &str, payload_json: &str) -> Result<Decoded, CodecError> {
    let value = json::parse(payload_json).map_err(CodecError::InvalidJson)?;
    decode_parsed(kind, &value, payload_json)
}

fn decode_parsed(kind: &str, payload: &Json, raw: &str) -> Result<Decoded, CodecError> {
    if !kind.starts_with("voice:") {
        return Ok(Decoded::Other {
            kind: kind.to_owned(),
            // JSON whitespace is ASCII.
            payload: raw.trim_ascii().to_owned(),
        });
    }
    if !VOICE_TYPES.contains(&kind) {
        return Err(CodecError::UnknownType(first_chars(kind, 64).to_owned()));
    }
    let parsed;
    let payload = match payload {
        Json::Str(s) => {
            parsed = parse_string_payload(kind, s)?;
            &parsed
        }
        other => other,
    };
    Message::read_payload(kind, payload).map(Decoded::Voice)
}

fn parse_string_payload(kind: &str, s: &str) -> Result<Json, CodecError> {
    let invalid = |reason: String| CodecError::InvalidPayload {
        kind: kind.to_owned(),
        reason,
    };
    match json::parse(s) {
        Ok(v) => Ok(v),
        Err(e) => match split_objects(s).first() {
            Some(obj) => json::parse(obj).map_err(invalid),
            None => Err(invalid(format!("payload string is not JSON: {e}"))),
        },
    }
}

/// The first `max` characters of `s`.
fn first_chars(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}

/// Encodes a message as `{"type":…,"payload":{…}}`, refusing frames over 4096 bytes.
pub fn encode(msg: &Message) -> Result<String, CodecError> {
    let text = to_json(msg);
    check_frame_size(text.len())?;
    Ok(text)
}

/// The JSON text of a message's payload alone, refused (like [`encode`]) when the whole
/// frame would exceed 4096 bytes: a transport that wraps it again stays under the limit.
pub fn encode_payload(msg: &Message) -> Result<String, CodecError> {
    let payload = payload_json(msg);
    // `{"type":"<name>","payload":<payload>}`; type names need no escaping.
    let frame = "{\"type\":\"\",\"payload\":}".len() + msg.type_name().len() + payload.len();
    check_frame_size(frame)?;
    Ok(payload)
}

fn check_frame_size(size: usize) -> Result<(), CodecError> {
    if size > MAX_FRAME_BYTES {
        return Err(CodecError::FrameTooLarge {
            size,
            limit: MAX_FRAME_BYTES,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::first_chars;

    #[test]
    fn first_chars_cuts_after_whole_characters_like_chars_take() {
        for s in ["", "abc", "voice:ü🎧x", "🎧🎧🎧", "aé", "ééé"] {
            for max in 0..5 {
                let expected: String = s.chars().take(max).collect();
                assert_eq!(first_chars(s, max), expected, "{s:?} {max}");
            }
        }
    }
}
