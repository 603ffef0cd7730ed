//! The JavaScript API: `WebRtcService`, a drop-in for the old `webrtcService` singleton with
//! exactly the method names, argument order, return types and error messages of compat-spec
//! §1.2, plus the hybrid extras (`getCurrentMode`, `onStatus`), `onError({code, message})`,
//! `setLocalStream(stream)` (tests and apps may bring their own microphone) and `setConfig`.
//!
//! Construct it over a socket object (`new WebRtcService(websocketService, config)`), the app's
//! own (P17: one socket per tab), or over the package's `SignalingClient`
//! (`WebRtcService.overClient(client, config)`: the call then takes the client's decoded
//! messages directly). Construction touches no `window`, `navigator` or `AudioContext` (P19);
//! all of that happens in `joinChannel`.
//!
//! Events reach one listener, `onEvent((type, ...args) => …)`: `('participants', list)`,
//! `('remoteStream', userId, stream)`, `('quality', quality)`, `('status', text)`,
//! `('mode', mode)`, `('migration', migration)`, `('connectionState', state)` (on change),
//! `('audioPlayback', canPlay)` and `('error', {code, message})`. The app-facing callbacks of
//! compat-spec §1.2 (`onParticipantUpdate`, `onRemoteStream`, `onConnectionQuality`) and the
//! extras (`onStatus`, `onError`) are single-slot setters (a new registration replaces the old
//! one; StrictMode registers twice) on the `webrtcService` singleton of js/index.js, which
//! routes this one listener to them, and to its `on(type, handler)` listeners.

mod convert;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use crate::browser::promise as future_to_promise;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::MediaStream;

use crate::browser::object::set;
use crate::service::{CallService, ConnectionState, ServiceConfig, ServiceEvent};
use crate::signal::transport::{AppSocketTransport, SharedTransport, SignalingClient};

/// The event listener, the participant-notification coalescing flag and the last reported
/// connection state.
#[derive(Default)]
struct Slots {
    listener: RefCell<Option<Function>>,
    /// A participant notification is already queued (coalesces bursts into one call).
    participants_queued: Cell<bool>,
    /// The connection state the listener last heard (`None`: nothing reported yet).
    connection: Cell<Option<ConnectionState>>,
}

/// Drop-in replacement for the original `webrtcService`.
#[wasm_bindgen]
pub struct WebRtcService {
    service: Rc<CallService>,
    slots: Rc<Slots>,
}

/// Calls the listener with `(type, a)`, or `(type, a, b)`; an exception it throws is reported
/// on the console, not propagated.
fn emit(slots: &Slots, kind: &str, a: JsValue, b: Option<JsValue>) {
    let Some(listener) = slots.listener.borrow().clone() else {
        return;
    };
    let kind = JsValue::from_str(kind);
    let result = match b {
        Some(b) => listener.call3(&JsValue::NULL, &kind, &a, &b),
        None => listener.call2(&JsValue::NULL, &kind, &a),
    };
    if let Err(e) = result {
        crate::browser::log::warn("a callback threw", &e);
    }
}

fn dispatch(service: &Weak<CallService>, slots: &Rc<Slots>, event: ServiceEvent) {
    // Any event may follow a change of the connection state: report it first, once.
    if let Some(state) = service.upgrade().map(|s| s.connection_state()) {
        if slots.connection.replace(Some(state)) != Some(state) {
            emit(slots, "connectionState", state.as_str().into(), None);
        }
    }
    match event {
        ServiceEvent::Connection => {}
        ServiceEvent::AudioPlayback(can_play) => {
            emit(slots, "audioPlayback", can_play.into(), None)
        }
        ServiceEvent::ParticipantsChanged => {
            if slots.participants_queued.replace(true) {
                return;
            }
            let (service, slots) = (service.clone(), slots.clone());
            crate::browser::defer(move || {
                slots.participants_queued.set(false);
                let list = service
                    .upgrade()
                    .map(|s| s.participants())
                    .unwrap_or_default();
                let array = convert::participant_array(&list);
                emit(&slots, "participants", array.into(), None);
            });
        }
        ServiceEvent::RemoteStream { user_id, stream } => emit(
            slots,
            "remoteStream",
            JsValue::from_f64(user_id as f64),
            Some(stream.into()),
        ),
        ServiceEvent::Quality(q) => emit(slots, "quality", q.as_str().into(), None),
        ServiceEvent::Status(text) => emit(slots, "status", text.as_str().into(), None),
        ServiceEvent::Mode(mode) => emit(slots, "mode", mode.as_str().into(), None),
        ServiceEvent::Migration(migration) => emit(
            slots,
            "migration",
            convert::migration_object(&migration).into(),
            None,
        ),
        ServiceEvent::Error { code, message } => emit(
            slots,
            "error",
            convert::error_object(&code, &message).into(),
            None,
        ),
    }
}

impl WebRtcService {
    fn build(transport: SharedTransport, config: &JsValue) -> WebRtcService {
        let service = Rc::new(CallService::new(transport, ServiceConfig::from_js(config)));
        let slots = Rc::new(Slots::default());
        let (weak, sink_slots) = (Rc::downgrade(&service), slots.clone());
        service.set_sink(Rc::new(move |event| dispatch(&weak, &sink_slots, event)));
        WebRtcService { service, slots }
    }

    /// The call engine (Rust callers and tests: graph taps, peer connections).
    pub fn service(&self) -> &CallService {
        &self.service
    }
}

#[wasm_bindgen]
impl WebRtcService {
    /// Over the app's socket object (`{on, off, send}`, e.g. its `websocketService`).
    #[wasm_bindgen(constructor)]
    pub fn new(
        // The package's SignalingClient, or the app's own socket (index.d.ts's VoiceSocket).
        #[wasm_bindgen(unchecked_param_type = "SignalingClient | { \
            on(kind: string, handler: (message: { type: string; payload: unknown }) => void): void; \
            off(kind: string, handler: (message: { type: string; payload: unknown }) => void): void; \
            send(kind: string, payload: unknown): unknown }")]
        socket: JsValue,
        #[wasm_bindgen(unchecked_param_type = "Partial<WebRTCConfig>")] config: JsValue,
    ) -> Result<WebRtcService, JsValue> {
        let transport = AppSocketTransport::new(&socket).map_err(|e| crate::error::js_error(&e))?;
        Ok(WebRtcService::build(Rc::new(transport), &config))
    }

    /// Over the package's own `SignalingClient`: the call shares its connection and receives
    /// the messages it decodes as they are (no JSON between them).
    #[wasm_bindgen(js_name = overClient)]
    pub fn over_client(
        client: &SignalingClient,
        #[wasm_bindgen(unchecked_param_type = "Partial<WebRTCConfig>")] config: JsValue,
    ) -> WebRtcService {
        WebRtcService::build(Rc::new(client.transport()), &config)
    }

    /// Replaces the ICE configuration (`{ iceServers }`) for later joins.
    #[wasm_bindgen(js_name = setConfig)]
    pub fn set_config(
        &self,
        #[wasm_bindgen(unchecked_param_type = "Partial<WebRTCConfig>")] config: JsValue,
    ) {
        self.service.set_config(ServiceConfig::from_js(&config));
    }

    /// Use this stream as the microphone for later joins (`null`: getUserMedia again).
    #[wasm_bindgen(js_name = setLocalStream)]
    pub fn set_local_stream(&self, stream: Option<MediaStream>) {
        self.service.set_local_stream(stream);
    }

    #[wasm_bindgen(js_name = joinChannel, unchecked_return_type = "Promise<void>")]
    pub fn join_channel(&self, channel_id: f64, user_id: f64, audio_only: Option<bool>) -> Promise {
        // Like the original: an existing call is left synchronously, before anything awaits.
        self.service.leave();
        // Bad ids still reject the promise (never a synchronous throw), through the same single
        // error conversion as a failed join.
        let ids = convert::channel_id(channel_id)
            .and_then(|channel| Ok((channel, convert::user_id(user_id)?)));
        let service = self.service.clone();
        future_to_promise(async move {
            let joined = match ids {
                Ok((channel, user)) => {
                    service
                        .join(channel, user, audio_only.unwrap_or(true))
                        .await
                }
                Err(e) => Err(e),
            };
            joined.map(|()| JsValue::UNDEFINED).map_err(|e| e.to_js())
        })
    }

    #[wasm_bindgen(js_name = leaveChannel)]
    pub fn leave_channel(&self) {
        self.service.leave();
    }

    #[wasm_bindgen(js_name = getLocalStream)]
    pub fn get_local_stream(&self) -> Option<MediaStream> {
        self.service.local_stream()
    }

    #[wasm_bindgen(js_name = toggleMute)]
    pub fn toggle_mute(&self) -> bool {
        self.service.toggle_mute()
    }

    #[wasm_bindgen(js_name = toggleVideo, unchecked_return_type = "Promise<boolean>")]
    pub fn toggle_video(&self) -> Promise {
        let service = self.service.clone();
        future_to_promise(async move {
            service
                .toggle_video()
                .await
                .map(JsValue::from_bool)
                .map_err(|e| e.to_js())
        })
    }

    #[wasm_bindgen(js_name = toggleDeafen)]
    pub fn toggle_deafen(&self) -> bool {
        self.service.toggle_deafen()
    }

    /// The call's toggles and mode in one fresh object, `{muted, videoEnabled, deafened, mode,
    /// connectionState, canPlayAudio}`
    /// (the singleton's `isMutedStatus`, `isVideoEnabledStatus`, `isDeafenedStatus` and
    /// `getCurrentMode` read it). `mode` is 'p2p', 'migrating' or 'sfu'.
    #[wasm_bindgen(unchecked_return_type = "CallState")]
    pub fn state(&self) -> js_sys::Object {
        let service = &self.service;
        let state = js_sys::Object::new();
        set(&state, "muted", &service.is_muted().into());
        set(&state, "videoEnabled", &service.is_video_enabled().into());
        set(&state, "deafened", &service.is_deafened().into());
        set(&state, "mode", &service.mode().as_str().into());
        let connection = service.connection_state().as_str();
        set(&state, "connectionState", &connection.into());
        set(&state, "canPlayAudio", &service.can_play_audio().into());
        state
    }

    /// Starts the call's audio (`AudioContext.resume()`); call it from a user gesture, when
    /// `state().canPlayAudio` is false. Resolves once audio plays (at once outside a call).
    #[wasm_bindgen(js_name = startAudio, unchecked_return_type = "Promise<void>")]
    pub fn start_audio(&self) -> Promise {
        self.service.start_audio()
    }

    #[wasm_bindgen(js_name = setParticipantVolume)]
    pub fn set_participant_volume(&self, user_id: f64, volume: f64) {
        if let Ok(user) = convert::user_id(user_id) {
            self.service.set_volume(user, volume as f32);
        }
    }

    #[wasm_bindgen(js_name = getParticipantVolume)]
    pub fn get_participant_volume(&self, user_id: f64) -> f64 {
        convert::user_id(user_id).map_or(1.0, |user| f64::from(self.service.volume(user)))
    }

    /// A NEW array of plain `VoiceParticipant` objects on every call.
    #[wasm_bindgen(js_name = getParticipants, unchecked_return_type = "VoiceParticipant[]")]
    pub fn get_participants(&self) -> js_sys::Array {
        convert::participant_array(&self.service.participants())
    }

    /// The single event listener (a new one replaces the old; anything but a function removes
    /// it), called with `(type, ...args)`. `'participants'`: a new `VoiceParticipant[]` after
    /// any change (bursts coalesced); `'remoteStream'`: `(userId, MediaStream)`; `'quality'`:
    /// `ConnectionQuality` on change; `'status'`: a status text; `'mode'`: the call's new
    /// `CallMode`; `'migration'`: a finished `MigrationEvent`; `'error'`: `{code, message}`
    /// for problems that do not end the call (malformed signalling, refused frames…).
    #[wasm_bindgen(js_name = onEvent)]
    pub fn on_event(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "((...event: ['participants', VoiceParticipant[]] \
            | ['remoteStream', number, MediaStream] | ['quality', ConnectionQuality] \
            | ['status', string] | ['mode', CallMode] | ['migration', MigrationEvent] \
            | ['error', VoiceError] | ['connectionState', ConnectionState] \
            | ['audioPlayback', boolean]) => void) | null"
        )]
        listener: JsValue,
    ) {
        *self.slots.listener.borrow_mut() = convert::function(&listener);
    }
}

/// Sets how much the library logs to the console: 'debug', 'info', 'warn' (the default:
/// warnings and errors only), 'error' or 'off'. Returns false for an unknown level.
#[wasm_bindgen(js_name = setLogLevel)]
pub fn set_log_level(#[wasm_bindgen(unchecked_param_type = "LogLevel")] level: &str) -> bool {
    crate::browser::log::set_level(level)
}

impl Drop for WebRtcService {
    fn drop(&mut self) {
        // No app callback runs after the object is gone.
        self.slots.listener.borrow_mut().take();
        self.service.leave();
    }
}
