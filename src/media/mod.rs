//! Media layer shared by the P2P and SFU halves: local capture, the one audio graph of a call
//! (per-participant gain, P2P and SFU buses, analysers, hidden `<audio>` elements), the level
//! monitor (speaking detection) and the connection-quality poll.
//!
//! Pure logic (the quality classifier and the speaking detector) builds natively and is tested
//! with `cargo test`; everything that touches the browser is compiled for `wasm32` only.

pub mod error;
pub mod quality;
pub mod speaking;

#[cfg(target_arch = "wasm32")]
pub mod autoplay;
#[cfg(target_arch = "wasm32")]
pub mod capture;
#[cfg(target_arch = "wasm32")]
pub mod graph;
#[cfg(target_arch = "wasm32")]
pub mod monitor;
#[cfg(target_arch = "wasm32")]
mod nodes;
#[cfg(target_arch = "wasm32")]
pub mod quality_poll;
#[cfg(target_arch = "wasm32")]
mod routes;

pub use error::{MediaError, CAMERA_FAILED_MESSAGE, CAPTURE_FAILED_MESSAGE};

#[cfg(target_arch = "wasm32")]
pub use autoplay::AutoplayUnlock;
#[cfg(target_arch = "wasm32")]
pub use capture::LocalMedia;
#[cfg(target_arch = "wasm32")]
pub use graph::{AudioGraph, Bus};
#[cfg(target_arch = "wasm32")]
pub use monitor::{LevelEntry, LevelMonitor, LevelMonitorConfig};
#[cfg(target_arch = "wasm32")]
pub use quality_poll::QualityMonitor;
