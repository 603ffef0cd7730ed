//! Pure mapping of remote media to LiveKit participants and tracks: the packed
//! `"<PA_sid>|<TR_sid>"` stream id, the browser track id, and the server's `mid_to_track_id`
//! table. The engine needs only the participant (`unpack_stream_id`) and the numeric user id
//! (`user_id_of`); `TrackMap` resolves track sids too, for callers that want them.

use crate::vec_map::VecMap;

/// Which participant and track a remote media track belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackOwner {
    /// The publisher's participant sid (`PA_…`).
    pub participant_sid: String,
    /// The server track sid (`TR_…`), when it could be found.
    pub track_sid: Option<String>,
}

/// Splits a packed stream id at the first `|` into (participant sid, rest).
pub fn unpack_stream_id(stream_id: &str) -> (&str, Option<&str>) {
    match stream_id.split_once('|') {
        Some((participant, rest)) => (participant, Some(rest)),
        None => (stream_id, None),
    }
}

/// Remembers the latest `mid → TR_…` table the server sent with a subscriber offer.
#[derive(Debug, Default, Clone)]
pub struct TrackMap {
    mid_to_track: VecMap<String, String>,
}

impl TrackMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Merges the table from a new server offer (newer entries win).
    pub fn update(&mut self, table: Vec<(String, String)>) {
        for (mid, track) in table {
            self.mid_to_track.insert(mid, track);
        }
    }

    /// The track sid announced for a transceiver mid.
    pub fn track_for_mid(&self, mid: &str) -> Option<&str> {
        self.mid_to_track.get(mid).map(String::as_str)
    }

    /// Resolves a remote track: participant sid from the stream id; track sid from the stream id
    /// if it packs one, else from the browser track id, else from the mid table.
    /// Returns `None` when the stream id carries no participant sid.
    pub fn resolve(
        &self,
        stream_id: &str,
        track_id: &str,
        mid: Option<&str>,
    ) -> Option<TrackOwner> {
        let (participant, rest) = unpack_stream_id(stream_id);
        if !participant.starts_with("PA_") {
            return None;
        }
        let track_sid = rest
            .filter(|r| r.starts_with("TR"))
            .or_else(|| Some(track_id).filter(|t| t.starts_with("TR")))
            .or_else(|| mid.and_then(|m| self.track_for_mid(m)))
            .map(str::to_string);
        Some(TrackOwner {
            participant_sid: participant.to_string(),
            track_sid,
        })
    }

    /// Forgets everything (full rejoin).
    pub fn clear(&mut self) {
        self.mid_to_track.clear();
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
