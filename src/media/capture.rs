//! `LocalMedia`: the local capture of one call — the microphone (and optionally the camera)
//! from `getUserMedia` with the constraints of compat-spec §4, or a stream the app or a test
//! passes in.
//!
//! Ownership rule: a capture this type opened itself is *owned* and its tracks are stopped by
//! [`LocalMedia::stop`] and on drop. A stream passed in with [`LocalMedia::from_stream`] belongs
//! to the caller and is never stopped, except for tracks this type added to it (the camera).

use js_sys::{Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{MediaStream, MediaStreamConstraints, MediaStreamTrack, MediaStreamTrackState};

use super::error::{describe, MediaError};

/// Ideal camera size (compat-spec §4: width/height ideal 1280×720).
pub const CAMERA_IDEAL_WIDTH: u32 = 1280;
/// Ideal camera height.
pub const CAMERA_IDEAL_HEIGHT: u32 = 720;

/// The local capture of one call.
pub struct LocalMedia {
    stream: MediaStream,
    owned: bool,
    /// Tracks this type created and added to a borrowed stream (always stopped by `stop`).
    added: Vec<MediaStreamTrack>,
    stopped: bool,
}

impl LocalMedia {
    /// Opens the microphone (echo cancellation, noise suppression and auto gain on) and, when
    /// `audio_only` is false, the camera at an ideal 1280×720. The result is owned.
    pub async fn capture(audio_only: bool) -> Result<LocalMedia, MediaError> {
        let request = LocalMedia::request(audio_only)?;
        LocalMedia::captured(JsFuture::from(request).await)
    }

    /// [`LocalMedia::capture`] in two synchronous halves, for callers that await the browser's
    /// promise themselves (the join awaits only `JsFuture`s, one small state machine): starts
    /// `getUserMedia` with the call's constraints.
    pub fn request(audio_only: bool) -> Result<js_sys::Promise, MediaError> {
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&audio_constraints()?);
        if audio_only {
            constraints.set_video(&JsValue::FALSE);
        } else {
            constraints.set_video(&video_constraints()?);
        }
        get_user_media(&constraints)
    }

    /// The owned capture from how [`LocalMedia::request`]'s promise settled.
    pub fn captured(settled: Result<JsValue, JsValue>) -> Result<LocalMedia, MediaError> {
        Ok(LocalMedia {
            stream: user_media(settled)?,
            owned: true,
            added: Vec::new(),
            stopped: false,
        })
    }

    /// Wraps a stream the app or a test provides. It is not stopped on drop.
    pub fn from_stream(stream: MediaStream) -> LocalMedia {
        LocalMedia {
            stream,
            owned: false,
            added: Vec::new(),
            stopped: false,
        }
    }

    /// Wraps a provided stream and takes ownership: its tracks are stopped on `stop`/drop.
    pub fn from_stream_owned(stream: MediaStream) -> LocalMedia {
        LocalMedia {
            stream,
            owned: true,
            added: Vec::new(),
            stopped: false,
        }
    }

    /// The local stream (shown in the app's local preview, added to every peer connection).
    ///
    /// Beware: `local.stream().clone()` calls the JS `MediaStream.clone()` (an inherent method
    /// that wins over `Clone`), which makes a NEW stream of NEW tracks that mute and `stop()`
    /// never reach. To share this stream use [`LocalMedia::shared_stream`] or
    /// `Clone::clone(local.stream())`.
    pub fn stream(&self) -> &MediaStream {
        &self.stream
    }

    /// Another handle to the SAME stream object (not a JS clone).
    pub fn shared_stream(&self) -> MediaStream {
        Clone::clone(&self.stream)
    }

    /// True when this type opened the capture and will stop it.
    pub fn is_owned(&self) -> bool {
        self.owned
    }

    /// True after [`LocalMedia::stop`].
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// The audio tracks of the local stream.
    pub fn audio_tracks(&self) -> Vec<MediaStreamTrack> {
        tracks(&self.stream.get_audio_tracks())
    }

    /// The first video track of the local stream, if any.
    pub fn video_track(&self) -> Option<MediaStreamTrack> {
        tracks(&self.stream.get_video_tracks()).into_iter().next()
    }

    /// Enables or disables every local audio track (mute without renegotiation).
    pub fn set_audio_enabled(&self, enabled: bool) {
        for track in self.audio_tracks() {
            track.set_enabled(enabled);
        }
    }

    /// True when at least one audio track is live and enabled.
    pub fn audio_live(&self) -> bool {
        self.audio_tracks()
            .iter()
            .any(|t| t.enabled() && t.ready_state() == MediaStreamTrackState::Live)
    }

    /// Opens the camera (ideal 1280×720), adds its track to the local stream and returns it.
    /// If a live video track is already present, returns that one instead of opening another.
    pub async fn add_camera(&mut self) -> Result<MediaStreamTrack, MediaError> {
        match self.start_camera()? {
            Some(request) => self.camera_opened(JsFuture::from(request).await),
            None => self.video_track().ok_or(MediaError::Unsupported),
        }
    }

    /// [`LocalMedia::add_camera`]'s first synchronous half: `getUserMedia` for the camera, or
    /// `None` when a live video track is present already (nothing to open).
    pub fn start_camera(&self) -> Result<Option<js_sys::Promise>, MediaError> {
        if self.stopped {
            return Err(MediaError::Capture("the local capture was stopped".into()));
        }
        if let Some(track) = self.video_track() {
            if track.ready_state() == MediaStreamTrackState::Live {
                return Ok(None);
            }
        }
        let constraints = MediaStreamConstraints::new();
        constraints.set_audio(&JsValue::FALSE);
        constraints.set_video(&video_constraints()?);
        get_user_media(&constraints).map(Some)
    }

    /// The second half: adds the camera track from how [`LocalMedia::start_camera`]'s promise
    /// settled to the local stream and returns it.
    pub fn camera_opened(
        &mut self,
        settled: Result<JsValue, JsValue>,
    ) -> Result<MediaStreamTrack, MediaError> {
        let camera = user_media(settled)?;
        let track = tracks(&camera.get_video_tracks())
            .into_iter()
            .next()
            .ok_or_else(|| MediaError::NotFound("no video track in the camera stream".into()))?;
        self.stream.add_track(&track);
        // `Clone::clone`, not `track.clone()`: the inherent method is the JS clone() (a new track).
        self.added.push(Clone::clone(&track));
        Ok(track)
    }

    /// Stops the capture: every track of an owned stream, and any track this type added to a
    /// borrowed one. Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        for track in self.added.drain(..) {
            track.stop();
        }
        if self.owned {
            for track in tracks(&self.stream.get_tracks()) {
                track.stop();
            }
        }
    }
}

impl Drop for LocalMedia {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Calls `navigator.mediaDevices.getUserMedia` and maps a synchronous failure to a
/// `MediaError`; [`user_media`] reads the settled promise.
fn get_user_media(constraints: &MediaStreamConstraints) -> Result<js_sys::Promise, MediaError> {
    let window = web_sys::window().ok_or(MediaError::Unsupported)?;
    // `mediaDevices` is undefined in insecure contexts; web-sys would throw on the getter.
    let devices = Reflect::get(
        window.navigator().as_ref(),
        &JsValue::from_str("mediaDevices"),
    )
    .map_err(|_| MediaError::Unsupported)?;
    if !devices.is_object() {
        return Err(MediaError::Unsupported);
    }
    let devices: web_sys::MediaDevices = devices.unchecked_into();
    devices
        .get_user_media_with_constraints(constraints)
        .map_err(|e| MediaError::from_capture_js(&e))
}

/// The stream of a settled `getUserMedia` promise, every failure mapped to a `MediaError`.
fn user_media(settled: Result<JsValue, JsValue>) -> Result<MediaStream, MediaError> {
    settled
        .map_err(|e| MediaError::from_capture_js(&e))?
        .dyn_into::<MediaStream>()
        .map_err(|v| MediaError::Capture("getUserMedia returned ".to_string() + &describe(&v)))
}

/// `{echoCancellation: true, noiseSuppression: true, autoGainControl: true}`.
fn audio_constraints() -> Result<JsValue, MediaError> {
    let audio = Object::new();
    for key in ["echoCancellation", "noiseSuppression", "autoGainControl"] {
        set(&audio, key, &JsValue::TRUE)?;
    }
    Ok(audio.into())
}

/// `{width: {ideal: 1280}, height: {ideal: 720}}`.
fn video_constraints() -> Result<JsValue, MediaError> {
    let video = Object::new();
    for (key, ideal) in [
        ("width", CAMERA_IDEAL_WIDTH),
        ("height", CAMERA_IDEAL_HEIGHT),
    ] {
        let dim = Object::new();
        set(&dim, "ideal", &JsValue::from(ideal))?;
        set(&video, key, &dim)?;
    }
    Ok(video.into())
}

fn set(target: &Object, key: &str, value: &JsValue) -> Result<(), MediaError> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|e| MediaError::Capture(describe(&e)))
}

fn tracks(array: &js_sys::Array) -> Vec<MediaStreamTrack> {
    array
        .iter()
        .map(JsCast::unchecked_into::<MediaStreamTrack>)
        .collect()
}
