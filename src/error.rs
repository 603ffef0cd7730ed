//! The JS error mapping shared by every layer. Each layer keeps its own small `thiserror`
//! enum (`TransportError`, `MediaError`, `P2pError`, `SfuError`, …) and implements
//! [`JsErrorCode`] for it: a stable machine-readable code such as `"signal/not-open"`. At the
//! wasm-bindgen boundary an error becomes a plain JS `Error` whose `message` is the error's
//! `Display` text and whose `code` property is the stable code, so apps can branch on
//! `err.code` and still show `err.message`.
//!
//! The trait is pure and builds natively; the conversions into `JsValue` exist only on
//! `wasm32`.

/// A layer error with a stable code for JS (`error.code`); its message is its `Display`.
/// (`Display`, not `std::error::Error`, as the supertrait: a `dyn std::error::Error` would
/// carry every error's `Debug` formatting into the wasm.)
pub trait JsErrorCode: std::fmt::Display {
    /// The stable, namespaced code, e.g. `"signal/not-open"` or `"media/permission-denied"`.
    fn code(&self) -> &'static str;
}

#[cfg(target_arch = "wasm32")]
mod js {
    use wasm_bindgen::JsValue;

    use super::JsErrorCode;

    /// Builds a JS `Error` with `message` and a `code` property.
    pub fn to_js_error(code: &str, message: &str) -> JsValue {
        let err = js_sys::Error::new(message);
        // Setting a property on a fresh Error object cannot fail; ignore the Result anyway.
        let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
        err.into()
    }

    /// Converts any layer error into a JS `Error` carrying its stable code.
    pub fn js_error(e: &dyn JsErrorCode) -> JsValue {
        to_js_error(e.code(), &e.to_string())
    }

    #[wasm_bindgen::prelude::wasm_bindgen]
    extern "C" {
        /// JS `String(value)` (throws for objects whose `toString` throws or is missing).
        #[wasm_bindgen(js_name = String, catch)]
        fn js_string(value: &JsValue) -> Result<String, JsValue>;
    }

    /// `(name, message)` of a value thrown by the browser: an `Error` or `DOMException` (or any
    /// object with those fields), else `("", String(value))`.
    pub fn name_and_message(value: &JsValue) -> (String, String) {
        let field = |key: &str| {
            js_sys::Reflect::get(value, &JsValue::from_str(key))
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        let (name, message) = if value.is_object() {
            (field("name"), field("message"))
        } else {
            Default::default()
        };
        if name.is_empty() && message.is_empty() {
            let text = js_string(value).unwrap_or_else(|_| "[object]".into());
            return (String::new(), text);
        }
        (name, message)
    }

    /// Describes a value thrown by the browser (an `Error`, a `DOMException`, a string or
    /// anything else) as one line of text, for wrapping into a layer error.
    pub fn describe_js(value: &JsValue) -> String {
        match name_and_message(value) {
            (n, m) if n.is_empty() => m,
            (n, m) if m.is_empty() => n,
            (n, m) => format!("{n}: {m}"),
        }
    }

    /// Reads `error.code` back from a JS error value (None when absent or not a string).
    pub fn js_error_code(value: &JsValue) -> Option<String> {
        js_sys::Reflect::get(value, &JsValue::from_str("code"))
            .ok()
            .and_then(|c| c.as_string())
    }
}

/// `From<$ty> for JsValue` (a JS `Error` with `code`) for each layer error, so `?` works in
/// `#[wasm_bindgen]` functions returning `Result<_, JsValue>`.
#[cfg(target_arch = "wasm32")]
macro_rules! into_js_error {
    ($($ty:ty),*) => {$(
        impl From<$ty> for wasm_bindgen::JsValue {
            fn from(e: $ty) -> Self {
                js_error(&e)
            }
        }
    )*};
}

#[cfg(target_arch = "wasm32")]
into_js_error!(
    crate::media::MediaError,
    crate::p2p::P2pError,
    crate::service::ServiceError,
    crate::sfu::SfuError,
    crate::signal::codec::CodecError,
    crate::signal::transport::TransportError
);

#[cfg(target_arch = "wasm32")]
pub use js::{describe_js, js_error, js_error_code, name_and_message, to_js_error};
