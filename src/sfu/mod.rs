//! The SFU (LiveKit) client: pure protobuf codec and track/participant mapping, plus (in the
//! browser) the signal client and the publisher/subscriber transports. The JS class `SfuClient`
//! (`js`) is built with the `sfu-client` feature only (not in the npm package).

pub mod error;
pub mod messages;
pub mod ping;
pub mod proto;
pub mod roster;
pub mod tracks;

#[cfg(target_arch = "wasm32")]
mod dispatch;
#[cfg(target_arch = "wasm32")]
pub(crate) mod events;
#[cfg(target_arch = "wasm32")]
mod inbox;
#[cfg(all(target_arch = "wasm32", feature = "sfu-client"))]
pub mod js;
#[cfg(target_arch = "wasm32")]
mod negotiate;
#[cfg(target_arch = "wasm32")]
pub(crate) mod session;
#[cfg(target_arch = "wasm32")]
pub(crate) mod socket;
#[cfg(target_arch = "wasm32")]
mod steps;
#[cfg(target_arch = "wasm32")]
pub(crate) mod transport;

pub use error::SfuError;
#[cfg(all(target_arch = "wasm32", feature = "sfu-client"))]
pub use js::SfuClient;
