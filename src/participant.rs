//! The one participant model of a call, whichever transport carries it: the P2P call's list
//! (`service::participants`, from `voice:*` messages) and the SFU roster (`sfu::roster`, from
//! LiveKit's participant updates) both produce it, and `browser::object` turns it into the
//! app's `VoiceParticipant` object in one place. Pure data at the bottom of the layer stack.

use crate::signal::UserId;

/// One remote participant, with exactly the fields of compat-spec §1.1 (minus the stream,
/// which the call keeps beside it).
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub user_id: UserId,
    pub username: String,
    pub university: String,
    pub is_muted: bool,
    pub is_video_enabled: bool,
    pub is_speaking: bool,
    /// 0..=1 (mean FFT byte value / 255).
    pub audio_level: f32,
}
