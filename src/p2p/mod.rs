//! The P2P mesh: one `RTCPeerConnection` per remote user, signalled over `voice:*`.
//!
//! Pure parts build and test natively: [`error`] (the layer's typed errors), [`sdp`] (keeping
//! signalling frames under the C++ server's 4 KB limit) and [`negotiation`] (the perfect
//! negotiation decisions, compat-spec §4 / P3–P5). The browser parts are `wasm32` only:
//! [`peer`] (one connection with its closures and timers) and
//! [`mesh`] (the map of peers, commands in, [`mesh::MeshEvent`]s out — it never calls upward).

pub mod error;
pub mod negotiation;
pub mod sdp;

#[cfg(target_arch = "wasm32")]
pub mod mesh;
#[cfg(target_arch = "wasm32")]
pub mod ops;
#[cfg(target_arch = "wasm32")]
pub mod peer;

pub use error::P2pError;
