//! The JSON mapping of the `voice:*` messages, generated from their declarations in
//! `messages.rs`: [`json_struct!`] declares a payload struct together with how each field
//! reads and writes, and [`voice_messages!`] declares the `Message` enum, its wire names
//! (`VOICE_TYPES`) and both JSON directions from one table.
//!
//! Field rules (those of the deployed protocol, pinned by the tests against serde_json):
//! unknown keys are ignored; a field that is missing, `null` or of the wrong type is
//! [`CodecError::InvalidPayload`] naming the first bad field; an `Option` is `None` when
//! missing or `null` and is left out when writing; a field marked `= Default` takes its
//! default when missing (but not when `null`); `= Nullable` writes `None` as `null`; and
//! `= Flatten` reads and writes a nested struct's fields in the enclosing object. Integers
//! must be non-negative and fit their Rust type. Writing keeps the declaration order.
//!
//! Reading never stops early: a bad field is recorded (the first one wins) and read as its
//! default, so every generated reader is straight-line code; `Message::read_payload` turns a
//! recorded problem into the error.

use std::cell::Cell;

use super::codec::CodecError;
use super::json::{push_str, Json};
use super::messages::CallMode;

/// Field access on one payload object of the message `kind`.
pub(crate) struct Reader<'a> {
    kind: &'a str,
    obj: &'a Json,
    error: &'a Cell<Option<CodecError>>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(kind: &'a str, obj: &'a Json, error: &'a Cell<Option<CodecError>>) -> Self {
        Reader { kind, obj, error }
    }

    /// Records that `key` was `what`, e.g. "missing field" (unless an earlier field failed).
    pub(crate) fn fail(&self, what: &str, key: &str) {
        let first = self
            .error
            .take()
            .unwrap_or_else(|| CodecError::InvalidPayload {
                kind: self.kind.to_owned(),
                reason: format!("{what} `{key}`"),
            });
        self.error.set(Some(first));
    }

    /// A reader over another object of the same message.
    fn nested(&self, obj: &'a Json) -> Reader<'a> {
        Reader { obj, ..*self }
    }

    /// The field `key`: missing or `null` only where `T` allows it.
    pub(crate) fn field<T: JsonValue>(&self, key: &str) -> T {
        match self.obj.get(key) {
            None | Some(Json::Null) if T::OPTIONAL => {}
            None => self.fail("missing field", key),
            Some(Json::Null) => self.fail("null for", key),
            Some(value) => return T::read(value, self, key),
        }
        T::default()
    }

    /// The field `key`, or `T`'s default when it is missing (`null` is still refused).
    pub(crate) fn field_or_default<T: JsonValue>(&self, key: &str) -> T {
        match self.obj.get(key) {
            None => T::default(),
            Some(_) => self.field(key),
        }
    }
}

/// Appends the members of one JSON object, `,`-separated.
pub(crate) struct Writer<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Writer<'a> {
    /// Writes `{`, the members `write` adds, and `}`.
    pub(crate) fn object(out: &'a mut String, write: impl FnOnce(&mut Writer<'_>)) {
        out.push('{');
        let mut writer = Writer { out, first: true };
        write(&mut writer);
        writer.out.push('}');
    }

    /// Writes `"key":value`, or nothing when the value is to be left out.
    pub(crate) fn field<T: JsonValue>(&mut self, key: &str, value: &T) {
        if !value.omitted() {
            self.nullable(key, value);
        }
    }

    /// Writes `"key":value`, with `null` for an absent optional value.
    pub(crate) fn nullable<T: JsonValue>(&mut self, key: &str, value: &T) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_str(self.out, key);
        self.out.push(':');
        value.write(self.out);
    }
}

/// A value of a payload field.
pub(crate) trait JsonValue: Default {
    /// Whether the field may be missing or `null` (then it reads as the default).
    const OPTIONAL: bool = false;
    /// Reads a present, non-null value of the field `key` (its default after recording a
    /// problem with `at.fail`).
    fn read(value: &Json, at: &Reader<'_>, key: &str) -> Self;
    /// Appends the value as JSON.
    fn write(&self, out: &mut String);
    /// Whether writing leaves the field out.
    fn omitted(&self) -> bool {
        false
    }
}

/// A struct whose fields are members of a JSON object (implemented by [`json_struct!`]).
pub(crate) trait JsonObject: Default {
    fn read_fields(at: &Reader<'_>) -> Self;
    fn write_fields(&self, out: &mut Writer<'_>);
}

/// Records `what` for `key` and gives the default.
fn invalid<T: Default>(at: &Reader<'_>, what: &str, key: &str) -> T {
    at.fail(what, key);
    T::default()
}

/// Unsigned integers: a JSON number without sign, fraction or exponent that fits the type.
macro_rules! json_unsigned {
    ($($ty:ty),*) => {$(
        impl JsonValue for $ty {
            fn read(value: &Json, at: &Reader<'_>, key: &str) -> Self {
                match value {
                    Json::Uint(n) => <$ty>::try_from(*n).ok(),
                    _ => None,
                }
                .unwrap_or_else(|| invalid(at, "expected an unsigned integer in range for", key))
            }

            fn write(&self, out: &mut String) {
                write_u64(out, u64::from(*self));
            }
        }
    )*};
}

json_unsigned!(u16, u32, u64);

fn write_u64(out: &mut String, n: u64) {
    out.push_str(&n.to_string());
}

impl JsonValue for bool {
    fn read(value: &Json, at: &Reader<'_>, key: &str) -> Self {
        match value {
            Json::Bool(b) => *b,
            _ => invalid(at, "expected a boolean for", key),
        }
    }

    fn write(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

impl JsonValue for String {
    fn read(value: &Json, at: &Reader<'_>, key: &str) -> Self {
        match value {
            Json::Str(s) => s.clone(),
            _ => invalid(at, "expected a string for", key),
        }
    }

    fn write(&self, out: &mut String) {
        push_str(out, self);
    }
}

impl JsonValue for CallMode {
    fn read(value: &Json, at: &Reader<'_>, key: &str) -> Self {
        match value {
            Json::Str(s) => match s.as_str() {
                "p2p" => CallMode::P2p,
                "sfu" => CallMode::Sfu,
                "migrating" => CallMode::Migrating,
                _ => invalid(at, "unknown mode in", key),
            },
            _ => invalid(at, "expected a string for", key),
        }
    }

    fn write(&self, out: &mut String) {
        push_str(out, self.as_str());
    }
}

impl<T: JsonValue> JsonValue for Option<T> {
    const OPTIONAL: bool = true;

    fn read(value: &Json, at: &Reader<'_>, key: &str) -> Self {
        Some(T::read(value, at, key))
    }

    fn write(&self, out: &mut String) {
        match self {
            Some(value) => value.write(out),
            None => out.push_str("null"),
        }
    }

    fn omitted(&self) -> bool {
        self.is_none()
    }
}

/// A list of objects.
impl<T: JsonObject> JsonValue for Vec<T> {
    fn read(value: &Json, at: &Reader<'_>, key: &str) -> Self {
        let Json::Array(items) = value else {
            return invalid(at, "expected an array for", key);
        };
        let mut list = Vec::with_capacity(items.len());
        for item in items {
            if !matches!(item, Json::Object(_)) {
                at.fail("expected objects in", key);
            }
            list.push(T::read_fields(&at.nested(item)));
        }
        list
    }

    fn write(&self, out: &mut String) {
        out.push('[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            Writer::object(out, |o| item.write_fields(o));
        }
        out.push(']');
    }
}

/// Reads a nested object (the `JsonValue` of every [`json_struct!`] struct).
pub(crate) fn read_object<T: JsonObject>(value: &Json, at: &Reader<'_>, key: &str) -> T {
    match value {
        Json::Object(_) => T::read_fields(&at.nested(value)),
        _ => invalid(at, "expected an object for", key),
    }
}

/// Declares payload structs and their JSON mapping. Each field is
/// `name [as "jsonKey"]: Type [= Default | Nullable | Flatten]` (see the module doc); the
/// JSON key is the field name unless renamed.
macro_rules! json_struct {
    ($(
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                $field:ident $(as $key:literal)? : $ty:ty $(= $rule:ident)?
            ),* $(,)?
        }
    )*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $ty, )*
        }

        impl $crate::signal::mapping::JsonObject for $name {
            fn read_fields(at: &$crate::signal::mapping::Reader<'_>) -> Self {
                $name {
                    $( $field: json_struct!(@read at, json_struct!(@key $field $($key)?) $(, $rule)?), )*
                }
            }

            fn write_fields(&self, out: &mut $crate::signal::mapping::Writer<'_>) {
                $( json_struct!(@write out, json_struct!(@key $field $($key)?), &self.$field $(, $rule)?); )*
            }
        }

        impl $crate::signal::mapping::JsonValue for $name {
            fn read(
                value: &$crate::signal::json::Json,
                at: &$crate::signal::mapping::Reader<'_>,
                key: &str,
            ) -> Self {
                $crate::signal::mapping::read_object(value, at, key)
            }

            fn write(&self, out: &mut String) {
                $crate::signal::mapping::Writer::object(out, |o| {
                    $crate::signal::mapping::JsonObject::write_fields(self, o)
                });
            }
        }
    )*};
    (@key $field:ident) => { stringify!($field) };
    (@key $field:ident $key:literal) => { $key };
    (@read $at:ident, $key:expr) => { $at.field($key) };
    (@read $at:ident, $key:expr, Default) => { $at.field_or_default($key) };
    (@read $at:ident, $key:expr, Nullable) => { $at.field($key) };
    (@read $at:ident, $key:expr, Flatten) => {
        $crate::signal::mapping::JsonObject::read_fields($at)
    };
    (@write $out:ident, $key:expr, $value:expr) => { $out.field($key, $value) };
    (@write $out:ident, $key:expr, $value:expr, Default) => { $out.field($key, $value) };
    (@write $out:ident, $key:expr, $value:expr, Nullable) => { $out.nullable($key, $value) };
    (@write $out:ident, $key:expr, $value:expr, Flatten) => {
        $crate::signal::mapping::JsonObject::write_fields($value, $out)
    };
}

/// Declares `Message` (one variant per `voice:*` type, holding its payload struct),
/// `VOICE_TYPES` (the wire names), `Message::type_name`, and both JSON directions
/// (`Message::read_payload`, `Message::write_payload`) from one table of
/// `"wire name" => Variant(PayloadStruct)`.
macro_rules! voice_messages {
    ($( $(#[$meta:meta])* $wire:literal => $variant:ident($payload:ident), )*) => {
        /// Every `voice:*` message. On the wire: `{"type":<type_name>,"payload":{…}}`.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Message {
            $( $(#[$meta])* $variant($payload), )*
        }

        /// All `voice:*` type names this codec understands.
        pub const VOICE_TYPES: &[&str] = &[$($wire),*];

        impl Message {
            /// The wire name, e.g. `"voice:offer"`.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $( Message::$variant(_) => $wire, )*
                }
            }

            /// The message of type `kind` from its payload object.
            pub(crate) fn read_payload(
                kind: &str,
                payload: &$crate::signal::json::Json,
            ) -> Result<Message, $crate::signal::codec::CodecError> {
                use $crate::signal::mapping::{JsonObject, Reader};
                let error = ::std::cell::Cell::new(None);
                let at = Reader::new(kind, payload, &error);
                if !matches!(payload, $crate::signal::json::Json::Object(_)) {
                    at.fail("expected an object as", "payload");
                }
                let message = match kind {
                    $( $wire => Message::$variant(JsonObject::read_fields(&at)), )*
                    _ => return Err($crate::signal::codec::CodecError::UnknownType(kind.to_owned())),
                };
                match error.take() {
                    Some(e) => Err(e),
                    None => Ok(message),
                }
            }

            /// Appends the payload object.
            pub(crate) fn write_payload(&self, out: &mut String) {
                use $crate::signal::mapping::{JsonObject, Writer};
                Writer::object(out, |o| match self {
                    $( Message::$variant(m) => m.write_fields(o), )*
                });
            }
        }
    };
}

/// The wire text of `msg`: `{"type":…,"payload":{…}}` (no size check; see `codec::encode`).
pub fn to_json(msg: &super::Message) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("{\"type\":");
    push_str(&mut out, msg.type_name());
    out.push_str(",\"payload\":");
    msg.write_payload(&mut out);
    out.push('}');
    out
}

/// The JSON text of `msg`'s payload object alone.
pub fn payload_json(msg: &super::Message) -> String {
    let mut out = String::with_capacity(128);
    msg.write_payload(&mut out);
    out
}
