//! Plain JS objects built with `Reflect.set`: one shared call site for every object the crate
//! hands to the app (events, snapshots, participants), and the `VoiceParticipant` shape of
//! compat-spec §1.1, built in this one place from the call's [`Participant`] model (P2P and SFU
//! alike).

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use web_sys::MediaStream;

use crate::participant::Participant;

/// `obj[key] = value` (setting a property on a fresh plain object cannot fail).
#[inline(never)]
pub fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// A fresh `{userId, username, university, isMuted, isVideoEnabled, isSpeaking, audioLevel,
/// stream?}` object (`stream` only when known).
pub fn voice_participant(v: &Participant, stream: Option<&MediaStream>) -> Object {
    let obj = Object::new();
    set(&obj, "userId", &JsValue::from_f64(v.user_id as f64));
    set(&obj, "username", &JsValue::from_str(&v.username));
    set(&obj, "university", &JsValue::from_str(&v.university));
    set(&obj, "isMuted", &JsValue::from_bool(v.is_muted));
    set(
        &obj,
        "isVideoEnabled",
        &JsValue::from_bool(v.is_video_enabled),
    );
    set(&obj, "isSpeaking", &JsValue::from_bool(v.is_speaking));
    set(
        &obj,
        "audioLevel",
        &JsValue::from_f64(f64::from(v.audio_level)),
    );
    if let Some(stream) = stream {
        set(&obj, "stream", stream);
    }
    obj
}
