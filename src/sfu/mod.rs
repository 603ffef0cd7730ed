//! The SFU (LiveKit) client: pure protobuf codec and track/participant mapping, plus (in the
//! browser) the signal client and the publisher/subscriber transports.

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
#[cfg(target_arch = "wasm32")]
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
#[cfg(target_arch = "wasm32")]
pub use js::SfuClient;
