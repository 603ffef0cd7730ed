//! The participant list of one call, as pure data (no browser types; streams live beside it in
//! the call). It applies the server's voice:participants / user-joined / user-left /
//! user-muted / user-video-toggled and the local speaking analysis, and answers whether the
//! app must be told (every method returns `true` only on a visible change, P7).
//!
//! Fixes kept here: a user-joined for a user already listed keeps that entry (and so its
//! stream, which the call keys by user id) instead of resetting it (P13); `university` is `''`
//! when missing; the local user is never listed (the server never reports self).

pub use crate::participant::Participant;
use crate::signal::{ParticipantEntry, UserId};

impl Participant {
    fn from_entry(entry: &ParticipantEntry) -> Participant {
        Participant {
            user_id: entry.user_id,
            username: entry.username.clone(),
            university: entry.university.clone(),
            is_muted: entry.muted.unwrap_or(false),
            is_video_enabled: entry.video_enabled.unwrap_or(false),
            is_speaking: false,
            audio_level: 0.0,
        }
    }
}

/// The remote participants of the current call, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct ParticipantList {
    own_id: UserId,
    list: Vec<Participant>,
}

impl ParticipantList {
    pub fn new(own_id: UserId) -> ParticipantList {
        ParticipantList {
            own_id,
            list: Vec::new(),
        }
    }

    pub fn get(&self, user_id: UserId) -> Option<&Participant> {
        self.list.iter().find(|p| p.user_id == user_id)
    }

    fn get_mut(&mut self, user_id: UserId) -> Option<&mut Participant> {
        self.list.iter_mut().find(|p| p.user_id == user_id)
    }

    pub fn contains(&self, user_id: UserId) -> bool {
        self.get(user_id).is_some()
    }

    pub fn ids(&self) -> Vec<UserId> {
        self.list.iter().map(|p| p.user_id).collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Participant> {
        self.list.iter()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// voice:user-joined / an entry of voice:participants. A known user keeps its entry (and
    /// its stream and speaking state); names and the server's flags, when sent, are refreshed.
    pub fn upsert(&mut self, entry: &ParticipantEntry) -> bool {
        if entry.user_id == self.own_id || entry.user_id == 0 {
            return false;
        }
        match self.get_mut(entry.user_id) {
            Some(known) => {
                let before = known.clone();
                if !entry.username.is_empty() {
                    known.username = entry.username.clone();
                }
                if !entry.university.is_empty() {
                    known.university = entry.university.clone();
                }
                if let Some(muted) = entry.muted {
                    known.is_muted = muted;
                }
                if let Some(video) = entry.video_enabled {
                    known.is_video_enabled = video;
                }
                *known != before
            }
            None => {
                self.list.push(Participant::from_entry(entry));
                true
            }
        }
    }

    /// voice:user-left.
    pub fn remove(&mut self, user_id: UserId) -> bool {
        // Each user is listed at most once (`upsert`), so removing the first match is enough.
        match self.list.iter().position(|p| p.user_id == user_id) {
            Some(i) => {
                self.list.remove(i);
                true
            }
            None => false,
        }
    }

    /// voice:user-muted for a known user (the own echo is ignored: self is never listed).
    pub fn set_muted(&mut self, user_id: UserId, muted: bool) -> bool {
        match self.get_mut(user_id) {
            Some(p) if p.is_muted != muted => {
                p.is_muted = muted;
                true
            }
            _ => false,
        }
    }

    /// voice:user-video-toggled for a known user.
    pub fn set_video(&mut self, user_id: UserId, enabled: bool) -> bool {
        match self.get_mut(user_id) {
            Some(p) if p.is_video_enabled != enabled => {
                p.is_video_enabled = enabled;
                true
            }
            _ => false,
        }
    }

    /// The level monitor's report: `(user, speaking, level)`. Users not in the report keep
    /// their values. Returns whether anything changed.
    pub fn apply_levels(&mut self, report: &[(UserId, bool, f32)]) -> bool {
        let mut changed = false;
        for (user_id, speaking, level) in report {
            if let Some(p) = self.get_mut(*user_id) {
                let level = if level.is_finite() {
                    level.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                if p.is_speaking != *speaking || p.audio_level != level {
                    p.is_speaking = *speaking;
                    p.audio_level = level;
                    changed = true;
                }
            }
        }
        changed
    }

    /// Forgets everyone (leave, or a resync after a reconnect).
    pub fn clear(&mut self) -> bool {
        let had = !self.list.is_empty();
        self.list.clear();
        had
    }
}

#[cfg(test)]
#[path = "participants_tests.rs"]
mod tests;
