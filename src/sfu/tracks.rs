//! Pure mapping of remote media to LiveKit participants: the publisher's participant sid in
//! the packed `"<PA_sid>|<TR_sid>"` stream id, and the app's numeric user id in a LiveKit
//! identity.

/// Splits a packed stream id at the first `|` into (participant sid, rest).
pub fn unpack_stream_id(stream_id: &str) -> (&str, Option<&str>) {
    match stream_id.split_once('|') {
        Some((participant, rest)) => (participant, Some(rest)),
        None => (stream_id, None),
    }
}

/// Parses a LiveKit identity into the app's numeric user id (`Number(identity)`).
/// Identities that are not plain integers give `None`.
pub fn user_id_of(identity: &str) -> Option<i64> {
    // Our tokens carry `String(user id)`; ASCII whitespace is all that is trimmed.
    let trimmed = identity.trim_ascii();
    if trimmed.is_empty() || trimmed.len() > 18 {
        return None;
    }
    // An optional sign and decimal digits; at most 18 characters cannot overflow an i64.
    let (negative, digits) = match trimmed.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        all => (false, all),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &byte in digits {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(byte - b'0');
    }
    Some(if negative { -value } else { value })
}
