//! The in-call controls of [`CallService`]: mute, deafen, camera and per-participant volume
//! (compat-spec §1.2). Mute disables the local audio tracks AND detaches them from every sender;
//! deafening while unmuted also mutes (undeafening does not unmute); deafen and volumes apply to
//! peers that connect later too (P10) and volumes survive peer rebuilds and calls (P9).

use wasm_bindgen_futures::JsFuture;

use super::call::{CallService, Shared};
use super::events::{ServiceError, ServiceEvent};
use crate::media::{LocalMedia, MediaError};
use crate::signal::{Message, Mute, UserId, VideoToggle};

impl CallService {
    /// toggleMute: without local media returns false and changes nothing.
    pub fn toggle_mute(&self) -> bool {
        let msg = {
            let mut st = self.shared.state.borrow_mut();
            let muted = !st.muted;
            let Some(call) = st.call.as_mut() else {
                return false;
            };
            let Some(local) = call.local.as_ref() else {
                return false;
            };
            local.set_audio_enabled(!muted);
            call.transports.set_muted(muted);
            let channel_id = call.channel_id;
            st.muted = muted;
            Message::Mute(Mute { channel_id, muted })
        };
        self.shared.send(&msg);
        self.is_muted()
    }

    /// toggleDeafen: flips deafen (also outside a call); deafening while unmuted also mutes.
    pub fn toggle_deafen(&self) -> bool {
        let (deafened, mute_too) = {
            let mut st = self.shared.state.borrow_mut();
            st.deafened = !st.deafened;
            let deafened = st.deafened;
            let has_local = st.call.as_ref().is_some_and(|c| c.local.is_some());
            if let Some(call) = st.call.as_ref() {
                if let Ok(mut graph) = call.graph.try_borrow_mut() {
                    graph.set_deafened(deafened);
                }
            }
            (deafened, deafened && !st.muted && has_local)
        };
        if mute_too {
            self.toggle_mute();
        }
        deafened
    }

    /// toggleVideo: adds the camera on first use (renegotiating every peer), else flips it.
    /// The one await is a plain `JsFuture` (see `join`).
    pub async fn toggle_video(&self) -> Result<bool, ServiceError> {
        let (generation, mut local, has_video) = {
            let mut st = self.shared.state.borrow_mut();
            let generation = st.generation;
            let Some(local) = st.call.as_mut().and_then(|call| call.local.take()) else {
                return Ok(false);
            };
            let has_video = local.video_track().is_some();
            (generation, local, has_video)
        };
        let camera = if has_video {
            Ok(None)
        } else {
            local.start_camera()
        };
        let added = match camera {
            Ok(Some(request)) => local
                .camera_opened(JsFuture::from(request).await)
                .map(|_| ()),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        video_toggled(&self.shared, generation, local, has_video, added)
    }

    pub fn is_muted(&self) -> bool {
        self.shared.state.borrow().muted
    }

    pub fn is_video_enabled(&self) -> bool {
        self.shared.state.borrow().video_enabled
    }

    pub fn is_deafened(&self) -> bool {
        self.shared.state.borrow().deafened
    }

    /// setParticipantVolume: clamped to 0..=1, kept across peer rebuilds and calls (P9).
    pub fn set_volume(&self, user_id: UserId, volume: f32) {
        {
            let mut st = self.shared.state.borrow_mut();
            let volume = if volume.is_finite() {
                volume.clamp(0.0, 1.0)
            } else {
                1.0
            };
            st.volumes.insert(user_id, volume);
            if let Some(call) = st.call.as_ref() {
                if let Ok(mut graph) = call.graph.try_borrow_mut() {
                    graph.set_volume(user_id, volume);
                }
            }
        }
        self.shared.emit(ServiceEvent::ParticipantsChanged);
    }

    /// getParticipantVolume: the stored value or 1.0; a stored 0 reads back 0 (P9).
    pub fn volume(&self, user_id: UserId) -> f32 {
        self.shared
            .state
            .borrow()
            .volumes
            .get(&user_id)
            .copied()
            .unwrap_or(1.0)
    }
}

/// The end of toggleVideo: puts the local media back into the call (or stops it when the call
/// ended meanwhile), enables the camera track and tells the server.
fn video_toggled(
    shared: &Shared,
    generation: u64,
    mut local: LocalMedia,
    has_video: bool,
    added: Result<(), MediaError>,
) -> Result<bool, ServiceError> {
    let msg = {
        let mut st = shared.state.borrow_mut();
        let enabled = if has_video { !st.video_enabled } else { true };
        let live = st.generation == generation;
        match st.call.as_mut() {
            Some(call) if live => {
                let camera = local.video_track();
                if let Some(track) = &camera {
                    track.set_enabled(enabled && added.is_ok());
                }
                call.local = Some(local);
                if let Err(e) = added {
                    return Err(ServiceError::Camera(e));
                }
                call.transports.refresh_tracks(camera.as_ref());
                let channel_id = call.channel_id;
                st.video_enabled = enabled;
                Message::VideoToggle(VideoToggle {
                    channel_id,
                    video_enabled: enabled,
                })
            }
            _ => {
                local.stop();
                return Ok(false);
            }
        }
    };
    shared.send(&msg);
    Ok(shared.state.borrow().video_enabled)
}
