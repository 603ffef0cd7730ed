//! How much the library logs to the console, set from JS (`setLogLevel('debug'|'info'|'warn'|
//! 'error'|'off')`; quiet by default: warnings and errors only). The wasm core logs only
//! warnings and errors — a throwing app callback, a frame that could not be decoded — with the
//! JS value (the exception, with its stack) beside the text; the JS entry logs the call's events
//! at `info` and `debug` under the same level.

use std::sync::atomic::{AtomicU8, Ordering};

use wasm_bindgen::JsValue;
use web_sys::console;

/// The levels, most verbose first; a message is shown when its level is at least the set one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
    Off,
}

static LEVEL: AtomicU8 = AtomicU8::new(Level::Warn as u8);

/// Sets the level by its name; `false` (nothing changed) for an unknown name.
pub fn set_level(name: &str) -> bool {
    let level = match name {
        "debug" => Level::Debug,
        "info" => Level::Info,
        "warn" => Level::Warn,
        "error" => Level::Error,
        "off" => Level::Off,
        _ => return false,
    };
    LEVEL.store(level as u8, Ordering::Relaxed);
    true
}

/// True when messages of `level` are shown.
pub fn enabled(level: Level) -> bool {
    level as u8 >= LEVEL.load(Ordering::Relaxed)
}

/// `console.warn("sohbet-rtc: " + text, value)` when warnings are shown.
pub fn warn(text: &str, value: &JsValue) {
    if enabled(Level::Warn) {
        console::warn_2(&JsValue::from_str(&format!("sohbet-rtc: {text}")), value);
    }
}

/// `console.error("sohbet-rtc: " + text, value)` when errors are shown.
pub fn error(text: &str, value: &JsValue) {
    if enabled(Level::Error) {
        console::error_2(&JsValue::from_str(&format!("sohbet-rtc: {text}")), value);
    }
}
