//! The call service: owns one voice call at a time — local media, the audio graph, the P2P
//! mesh and the SFU link, the participants — and routes commands down and events up
//! (compat-spec §1.2).
//!
//! [`connection`], [`participants`] and [`pacer`] are pure and tested natively. The browser
//! half is `wasm32` only: [`events`] (what the service emits, how commands fail,
//! configuration), [`call`] (join, leave, snapshots), `controls` (mute, deafen, video,
//! volumes), `playback` (autoplay: canPlayAudio, startAudio), `inbound` (what arrives
//! from the transport and the mesh), `mode` (the mode controller's commands), `sfu_link` (the
//! call's LiveKit session) and `transports` (the mesh, the SFU link and the remote streams
//! behind one interface). The service never references the facade above it: it
//! reports through the sink the facade installs.

pub mod connection;
pub mod pacer;
pub mod participants;

#[cfg(target_arch = "wasm32")]
pub mod call;
#[cfg(target_arch = "wasm32")]
mod controls;
#[cfg(target_arch = "wasm32")]
pub mod events;
#[cfg(target_arch = "wasm32")]
mod inbound;
#[cfg(target_arch = "wasm32")]
mod mode;
#[cfg(target_arch = "wasm32")]
mod playback;
#[cfg(target_arch = "wasm32")]
mod sfu_link;
#[cfg(target_arch = "wasm32")]
mod transports;

pub use connection::ConnectionState;
pub use participants::{Participant, ParticipantList};

#[cfg(target_arch = "wasm32")]
pub use call::CallService;
#[cfg(target_arch = "wasm32")]
pub use events::{ServiceConfig, ServiceError, ServiceEvent};
