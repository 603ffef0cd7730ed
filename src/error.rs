//! The JS error mapping shared by every layer. Each layer keeps its own small error
//! enum (`TransportError`, `MediaError`, `P2pError`, `SfuError`, …) with a stable
//! machine-readable code such as `"signal/not-open"`; at the wasm-bindgen boundary those
//! become a plain JS `Error` whose `message` is the layer's message and whose `code` property
//! is the stable code, so apps can branch on `err.code` and still show `err.message`.
//!
//! How a layer plugs in:
//! ```ignore
//! impl MediaError { pub fn code(&self) -> &'static str { … } pub fn describe(&self, out: &mut String) { … } }
//! crate::layer_error!(MediaError); // Display, Error, JsErrorCode; wasm32: From<MediaError> for JsValue
//! ```
//! The trait and [`CodedError`] are pure and build natively; the conversions into `JsValue`
//! exist only on `wasm32`.

/// A layer error with a stable code for JS (`error.code`) and its message.
pub trait JsErrorCode {
    /// The stable, namespaced code, e.g. `"signal/not-open"` or `"media/permission-denied"`.
    fn code(&self) -> &'static str;

    /// Appends the message to `out` (the layer's `describe`).
    fn describe(&self, out: &mut String);

    /// The message, as `Display` shows it (see [`impl_display!`] for why not `to_string()`).
    fn message(&self) -> String {
        let mut message = String::new();
        self.describe(&mut message);
        message
    }
}

/// Completes a layer error from its inherent `code()` and `describe()`: `Display` (the
/// message, see [`impl_display!`]), `std::error::Error`, [`JsErrorCode`], and on wasm32
/// `From<$ty> for JsValue`, so `?` works in `#[wasm_bindgen]` functions returning
/// `Result<_, JsValue>`.
#[macro_export]
macro_rules! layer_error {
    ($ty:ty) => {
        $crate::impl_display!($ty);

        impl ::std::error::Error for $ty {}

        impl $crate::error::JsErrorCode for $ty {
            fn code(&self) -> &'static str {
                <$ty>::code(self)
            }

            fn describe(&self, out: &mut String) {
                <$ty>::describe(self, out)
            }
        }

        #[cfg(target_arch = "wasm32")]
        impl From<$ty> for wasm_bindgen::JsValue {
            fn from(e: $ty) -> Self {
                $crate::error::js_error_from(&e)
            }
        }
    };
}

/// A code and a message, detached from the layer type that produced them. Any
/// [`JsErrorCode`] converts into it with `?` or `.into()`, which lets code that mixes
/// several layers return one error type to JS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodedError {
    pub code: &'static str,
    pub message: String,
}

impl CodedError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// Appends the message (what `Display` shows) to `out`.
    pub fn describe(&self, out: &mut String) {
        use Part::Text;
        push_parts(
            out,
            &[Text(&self.message), Text(" ("), Text(self.code), Text(")")],
        )
    }
}

crate::impl_display!(CodedError);

/// One piece of an error message written by [`push_parts`].
#[derive(Clone, Copy)]
pub enum Part<'a> {
    Text(&'a str),
    Num(u64),
    Signed(i64),
}

/// Appends an error message from its pieces: how every layer's `describe` writes. A
/// `#[error("… {user_id} …")]` or `write!` per message costs `core::fmt`'s argument,
/// padding and integer machinery in the wasm; this is one loop over `push_str`.
pub fn push_parts(out: &mut String, parts: &[Part<'_>]) {
    for part in parts {
        match *part {
            Part::Text(text) => out.push_str(text),
            Part::Num(n) => crate::text::push_u64(out, n),
            Part::Signed(n) => crate::text::push_i64(out, n),
        }
    }
}

/// Implements `Display` over `describe(&self, &mut String)` (every layer error, through
/// [`layer_error!`], and [`CodedError`]).
///
/// Every layer writes its message with `describe` into a `String`, and the crate reads
/// messages with [`JsErrorCode::message`], never with `to_string()`: a `Formatter` needs
/// `String`'s `fmt::Write` vtable, which links `core::fmt::write` and its argument machinery
/// (about 1 KB of wasm) even when no `format!` is ever run. `Display` stays for Rust callers
/// (`std::error::Error`, `{}` in tests and the server) and shows the same text.
#[macro_export]
macro_rules! impl_display {
    ($ty:ty) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                let mut message = String::new();
                self.describe(&mut message);
                f.write_str(&message)
            }
        }
    };
}

impl std::error::Error for CodedError {}

impl<E: JsErrorCode> From<E> for CodedError {
    fn from(e: E) -> Self {
        Self {
            code: e.code(),
            message: e.message(),
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl From<CodedError> for wasm_bindgen::JsValue {
    fn from(e: CodedError) -> Self {
        to_js_error(e.code, &e.message)
    }
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

    /// Converts any layer error into a JS `Error` carrying its stable code. Takes a trait
    /// object, so every error type shares this one function (and one `message`).
    pub fn js_error_from(e: &dyn JsErrorCode) -> JsValue {
        to_js_error(e.code(), &e.message())
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
            (n, m) => n + ": " + &m,
        }
    }

    /// Reads `error.code` back from a JS error value (None when absent or not a string).
    pub fn js_error_code(value: &JsValue) -> Option<String> {
        js_sys::Reflect::get(value, &JsValue::from_str("code"))
            .ok()
            .and_then(|c| c.as_string())
    }
}

#[cfg(target_arch = "wasm32")]
pub use js::{describe_js, js_error_code, js_error_from, name_and_message, to_js_error};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::codec::CodecError;

    #[test]
    fn codec_errors_keep_their_stable_code_when_detached() {
        let e = CodecError::FrameTooLarge {
            size: 5000,
            limit: 4096,
        };
        let coded: CodedError = e.clone().into();
        assert_eq!(coded.code, "signal/frame-too-large");
        assert_eq!(coded.message, e.to_string());
        assert!(coded.to_string().contains("signal/frame-too-large"));
    }
}
