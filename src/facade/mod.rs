//! The JavaScript API: `WebRtcService`, a drop-in for the old `webrtcService` singleton with
//! exactly the method names, argument order, return types and error messages of compat-spec
//! §1.2, plus the hybrid extras (`getCurrentMode`, `onStatus`), `onError({code, message})`,
//! `setLocalStream(stream)` (tests and apps may bring their own microphone) and `setConfig`.
//!
//! Construct it over a socket object (`new WebRtcService(websocketService, config)`): the app's
//! own or the package's built-in `SignalingClient` (P17: one socket per tab). Construction
//! touches no `window`, `navigator` or `AudioContext` (P19); all of that happens in
//! `joinChannel`. Callbacks are single-slot: a new registration replaces the old one (StrictMode
//! registers twice).

mod convert;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use crate::browser::promise as future_to_promise;
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use web_sys::MediaStream;

use crate::service::{CallService, ServiceConfig, ServiceEvent};
use crate::signal::transport::AppSocketTransport;

/// The app's callbacks, one slot each.
#[derive(Default)]
struct Slots {
    participants: RefCell<Option<Function>>,
    remote_stream: RefCell<Option<Function>>,
    quality: RefCell<Option<Function>>,
    status: RefCell<Option<Function>>,
    error: RefCell<Option<Function>>,
    /// A participant notification is already queued (coalesces bursts into one call).
    participants_queued: Cell<bool>,
}

/// Drop-in replacement for the original `webrtcService`.
#[wasm_bindgen]
pub struct WebRtcService {
    service: Rc<CallService>,
    slots: Rc<Slots>,
}

fn get(slot: &RefCell<Option<Function>>) -> Option<Function> {
    slot.borrow().clone()
}

/// Registers a callback (single slot: replaces the previous one). Not inlined: the five `on…`
/// methods share this body.
#[inline(never)]
fn set_slot(slot: &RefCell<Option<Function>>, callback: &JsValue) {
    *slot.borrow_mut() = convert::function(callback);
}

fn dispatch(service: &Weak<CallService>, slots: &Rc<Slots>, event: ServiceEvent) {
    match event {
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
                convert::call(get(&slots.participants), &[array.into()]);
            });
        }
        ServiceEvent::RemoteStream { user_id, stream } => convert::call(
            get(&slots.remote_stream),
            &[JsValue::from_f64(user_id as f64), stream.into()],
        ),
        ServiceEvent::Quality(q) => {
            convert::call(get(&slots.quality), &[JsValue::from_str(q.as_str())])
        }
        ServiceEvent::Status(text) => {
            convert::call(get(&slots.status), &[JsValue::from_str(&text)])
        }
        ServiceEvent::Error { code, message } => convert::call(
            get(&slots.error),
            &[convert::error_object(&code, &message).into()],
        ),
    }
}

impl WebRtcService {
    fn build(transport: AppSocketTransport, config: &JsValue) -> WebRtcService {
        let service = Rc::new(CallService::new(
            Rc::new(transport),
            ServiceConfig::from_js(config),
        ));
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
    pub fn new(socket: JsValue, config: JsValue) -> Result<WebRtcService, JsValue> {
        let transport =
            AppSocketTransport::new(&socket).map_err(|e| crate::error::js_error_from(&e))?;
        Ok(WebRtcService::build(transport, &config))
    }

    /// Replaces the ICE configuration (`{ iceServers }`) for later joins.
    #[wasm_bindgen(js_name = setConfig)]
    pub fn set_config(&self, config: JsValue) {
        self.service.set_config(ServiceConfig::from_js(&config));
    }

    /// Use this stream as the microphone for later joins (`null`: getUserMedia again).
    #[wasm_bindgen(js_name = setLocalStream)]
    pub fn set_local_stream(&self, stream: Option<MediaStream>) {
        self.service.set_local_stream(stream);
    }

    #[wasm_bindgen(js_name = joinChannel)]
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

    #[wasm_bindgen(js_name = toggleVideo)]
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

    #[wasm_bindgen(js_name = isMutedStatus)]
    pub fn is_muted_status(&self) -> bool {
        self.service.is_muted()
    }

    #[wasm_bindgen(js_name = isVideoEnabledStatus)]
    pub fn is_video_enabled_status(&self) -> bool {
        self.service.is_video_enabled()
    }

    #[wasm_bindgen(js_name = isDeafenedStatus)]
    pub fn is_deafened_status(&self) -> bool {
        self.service.is_deafened()
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

    #[wasm_bindgen(js_name = onParticipantUpdate)]
    pub fn on_participant_update(&self, callback: JsValue) {
        set_slot(&self.slots.participants, &callback);
    }

    #[wasm_bindgen(js_name = onRemoteStream)]
    pub fn on_remote_stream(&self, callback: JsValue) {
        set_slot(&self.slots.remote_stream, &callback);
    }

    #[wasm_bindgen(js_name = onConnectionQuality)]
    pub fn on_connection_quality(&self, callback: JsValue) {
        set_slot(&self.slots.quality, &callback);
    }

    #[wasm_bindgen(js_name = onStatus)]
    pub fn on_status(&self, callback: JsValue) {
        set_slot(&self.slots.status, &callback);
    }

    /// Errors that do not end the call (malformed signalling, refused frames…): `{code, message}`.
    #[wasm_bindgen(js_name = onError)]
    pub fn on_error(&self, callback: JsValue) {
        set_slot(&self.slots.error, &callback);
    }

    /// 'p2p' (the SFU modes arrive with the mode controller).
    /// Returned as a JS string value (typed `string`): no Rust `String` crosses the boundary.
    #[wasm_bindgen(js_name = getCurrentMode, unchecked_return_type = "string")]
    pub fn get_current_mode(&self) -> JsValue {
        JsValue::from_str("p2p")
    }

    /// Leaves the call (the socket stays open: it belongs to the caller). The object stays
    /// usable only for getters afterwards.
    pub fn dispose(&self) {
        self.service.leave();
    }
}

impl Drop for WebRtcService {
    fn drop(&mut self) {
        // No app callback runs after the object is gone.
        for slot in [
            &self.slots.participants,
            &self.slots.remote_stream,
            &self.slots.quality,
            &self.slots.status,
            &self.slots.error,
        ] {
            slot.borrow_mut().take();
        }
        self.service.leave();
    }
}
