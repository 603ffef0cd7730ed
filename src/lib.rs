//! sohbet-rtc: hybrid P2P/SFU voice and video for Sohbet, compiled to WebAssembly.
//!
//! Layers (arrows point downwards only, see docs/ARCHITECTURE.md):
//! `facade` (wasm-bindgen JS API) → `service` (one call) → `mode` / `p2p` / `sfu` →
//! `signal` / `media` → `browser` (RAII timers over browser globals). The codecs (`signal::messages`, `signal::codec`, `sfu::proto`) and the
//! decisions (`mode::policy`) are pure and build and test natively; everything that touches
//! the browser is compiled for `wasm32` only.

#[cfg(target_arch = "wasm32")]
pub mod browser;
pub mod error;
pub mod media;
pub mod mode;
pub mod p2p;
pub mod service;
pub mod sfu;
pub mod signal;
pub mod vec_map;

#[cfg(target_arch = "wasm32")]
pub mod facade;
