//! The `voice:*` signalling layer: pure wire types and codec, plus (in the browser) the
//! transports that carry them — an adapter over the app's own socket and a built-in
//! WebSocket client with back-off reconnect.

pub mod backoff;
pub mod codec;
pub mod json;
#[macro_use]
mod mapping;
pub mod messages;
pub mod transport;

pub use codec::{
    decode_frame, decode_payload, encode, split_objects, CodecError, Decoded, MAX_FRAME_BYTES,
};
pub use mapping::to_json;
pub use messages::*;
