//! Plain JS objects built with `Reflect.set`: one shared call site for every object the crate
//! hands to the app (events, snapshots, participants), and the `VoiceParticipant` shape of
//! compat-spec §1.1, which both the P2P facade and the SFU client build from their own models.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;
use web_sys::MediaStream;

/// `obj[key] = value` (setting a property on a fresh plain object cannot fail).
#[inline(never)]
pub fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// The fields of one `VoiceParticipant`, whichever call model they come from.
pub struct Voice<'a> {
    pub user_id: f64,
    pub username: &'a str,
    pub university: &'a str,
    pub is_muted: bool,
    pub is_video_enabled: bool,
    pub is_speaking: bool,
    pub audio_level: f32,
}

/// A fresh `{userId, username, university, isMuted, isVideoEnabled, isSpeaking, audioLevel,
/// stream?}` object (`stream` only when known).
pub fn voice_participant(v: &Voice, stream: Option<&MediaStream>) -> Object {
    let obj = Object::new();
    set(&obj, "userId", &JsValue::from_f64(v.user_id));
    set(&obj, "username", &JsValue::from_str(v.username));
    set(&obj, "university", &JsValue::from_str(v.university));
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
