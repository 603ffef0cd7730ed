//! Pure roster of remote LiveKit participants built from `ParticipantUpdate` snapshots,
//! `SpeakersChanged` and `ConnectionQualityUpdate`, mapped to the call's one [`Participant`]
//! model (never raw LiveKit objects; `userId` = the identity as a number).
//!
//! Participants are keyed by identity (protocol > 11: one identity may reappear with a new
//! sid); stale versions are dropped; DISCONNECTED removes.

use livekit_protocol as lk;

use super::messages::{ConnectionQualityInfo, ParticipantInfo, SpeakerInfo};
use super::tracks::user_id_of;
pub use crate::participant::Participant;
use crate::vec_map::VecMap;

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// What one remote participant looks like to us.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteEntry {
    pub sid: String,
    pub identity: String,
    pub name: String,
    pub version: u32,
    /// Server sid of the microphone track, if published.
    pub mic_sid: Option<String>,
    pub mic_muted: bool,
    pub has_video: bool,
    pub speaking: bool,
    pub level: f32,
    /// LiveKit connection quality (0 poor, 1 good, 2 excellent, 3 lost).
    pub quality: i32,
}

/// All remote participants, keyed by identity.
#[derive(Debug, Default, Clone)]
pub struct Roster {
    own_identity: String,
    by_identity: VecMap<String, RemoteEntry>,
}

/// A participant's microphone (its track sid, muted?) and whether an unmuted camera is on.
#[cfg(feature = "sfu-client")]
fn media_of(tracks: &[super::messages::TrackInfo]) -> (Option<String>, bool, bool) {
    let mic = tracks.iter().find(|t| {
        t.r#type == lk::TrackType::Audio as i32
            && t.source != lk::TrackSource::ScreenShareAudio as i32
    });
    let has_video = tracks
        .iter()
        .any(|t| t.r#type == lk::TrackType::Video as i32 && !t.muted);
    (
        mic.map(|t| t.sid.clone()),
        mic.is_some_and(|t| t.muted),
        has_video,
    )
}

impl Roster {
    /// A roster that ignores entries for our own identity.
    pub fn new(own_identity: &str) -> Self {
        Self {
            own_identity: own_identity.to_string(),
            by_identity: VecMap::new(),
        }
    }

    /// Applies full participant snapshots (JoinResponse.other_participants or an update).
    /// True when anyone joined, left or changed.
    pub fn apply(&mut self, infos: &[ParticipantInfo]) -> bool {
        let mut changed = false;
        for info in infos {
            if info.identity == self.own_identity || info.identity.is_empty() {
                continue;
            }
            let disconnected = info.state == lk::participant_info::State::Disconnected as i32;
            // One lookup serves the staleness checks and the carried-over state below.
            let previous = self.by_identity.get(info.identity.as_str());
            if let Some(existing) = previous {
                // Same session, older snapshot: drop. A new sid is a new session: accept.
                if existing.sid == info.sid && info.version < existing.version {
                    continue;
                }
                if disconnected && existing.sid != info.sid {
                    continue;
                }
            }
            if disconnected {
                if self.by_identity.remove(info.identity.as_str()).is_some() {
                    changed = true;
                }
                continue;
            }
            #[cfg(feature = "sfu-client")]
            let (mic_sid, mic_muted, has_video) = media_of(&info.tracks);
            // Without `sfu-client` the tracks are not decoded (see `messages::Tracks`).
            #[cfg(not(feature = "sfu-client"))]
            let (mic_sid, mic_muted, has_video) = (None, false, false);
            // A muted (or absent) microphone is never "speaking", whatever the last
            // SpeakersChanged said (the server sends no stop delta for a muted track).
            let silent = mic_muted || mic_sid.is_none();
            let entry = RemoteEntry {
                sid: info.sid.clone(),
                identity: info.identity.clone(),
                name: info.name.clone(),
                version: info.version,
                mic_sid,
                mic_muted,
                has_video,
                speaking: !silent && previous.map(|p| p.speaking).unwrap_or(false),
                level: if silent {
                    0.0
                } else {
                    previous.map(|p| p.level).unwrap_or(0.0)
                },
                quality: previous.map(|p| p.quality).unwrap_or(1),
            };
            // A newcomer (`previous` is None) differs too.
            if previous != Some(&entry) {
                changed = true;
            }
            self.by_identity.insert(info.identity.clone(), entry);
        }
        changed
    }

    /// Applies a SpeakersChanged delta (by participant sid). Returns true if anything changed.
    pub fn apply_speakers(&mut self, speakers: &[SpeakerInfo]) -> bool {
        let mut changed = false;
        for speaker in speakers {
            if let Some(entry) = self.by_identity.values_mut().find(|e| e.sid == speaker.sid) {
                let active = speaker.active && !entry.mic_muted;
                let level = if active {
                    speaker.level.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                if entry.speaking != active || entry.level != level {
                    entry.speaking = active;
                    entry.level = level;
                    changed = true;
                }
            }
        }
        changed
    }

    /// Applies a ConnectionQualityUpdate; returns true if anything changed.
    pub fn apply_quality(&mut self, updates: &[ConnectionQualityInfo]) -> bool {
        let mut changed = false;
        for update in updates {
            if let Some(entry) = self
                .by_identity
                .values_mut()
                .find(|e| e.sid == update.participant_sid)
            {
                if entry.quality != update.quality {
                    entry.quality = update.quality;
                    changed = true;
                }
            }
        }
        changed
    }

    /// Finds the identity that currently owns a participant sid.
    pub fn identity_of_sid(&self, sid: &str) -> Option<&str> {
        self.by_identity
            .values()
            .find(|e| e.sid == sid)
            .map(|e| e.identity.as_str())
    }

    /// One participant by identity.
    pub fn get(&self, identity: &str) -> Option<&RemoteEntry> {
        self.by_identity.get(identity)
    }

    /// Number of remote participants.
    pub fn len(&self) -> usize {
        self.by_identity.len()
    }

    /// True when nobody else is in the room.
    pub fn is_empty(&self) -> bool {
        self.by_identity.is_empty()
    }

    /// Forgets everyone (leave or full rejoin).
    pub fn clear(&mut self) {
        self.by_identity.clear();
    }

    /// The app-facing list, ordered by identity: only participants whose identity is a user id
    /// (the app's `userId` is a number; anything else is not an app user).
    pub fn voice_participants(&self) -> Vec<Participant> {
        // A plain loop: no FilterMap/from-iterator instances for one call site.
        let mut list = Vec::with_capacity(self.by_identity.len());
        for e in self.by_identity.values() {
            // A user id, and one a JS number holds exactly (the app compares them as numbers).
            let user_id = user_id_of(&e.identity).and_then(|id| u64::try_from(id).ok());
            let Some(user_id) = user_id.filter(|&id| id <= MAX_SAFE_INTEGER) else {
                continue;
            };
            let name = if e.name.is_empty() {
                &e.identity
            } else {
                &e.name
            };
            list.push(Participant {
                user_id,
                username: name.clone(),
                university: String::new(),
                is_muted: e.mic_muted,
                is_video_enabled: e.has_video,
                is_speaking: e.speaking,
                audio_level: e.level,
            });
        }
        list
    }
}
