//! sohbet-rtc: hybrid P2P/SFU voice and video for Sohbet, compiled to WebAssembly.
//!
//! Layers (arrows point downwards only, see docs/ARCHITECTURE.md):
//! `facade` (wasm-bindgen JS API) → `service` (one call) → `mode` / `p2p` / `sfu` →
//! `signal` / `media` → `browser` (RAII timers over browser globals). The codecs (`signal::messages`, `signal::codec`, `sfu::proto`) and the
//! decisions (`mode::policy`) are pure and build and test natively; everything that touches
//! the browser is compiled for `wasm32` only.

/// Talc instead of Rust's default wasm allocator (dlmalloc): a fraction of its code size and
/// faster (single-threaded wasm, memory grown on demand).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

#[cfg(target_arch = "wasm32")]
pub(crate) mod browser;
pub mod error;
pub mod media;
pub mod mode;
pub mod participant;
// Natively only the pure parts are built (for their tests); the wasm build uses all of it.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code, unused_imports))]
pub(crate) mod p2p;
pub mod service;
pub mod sfu;
pub mod signal;
pub(crate) mod vec_map;

#[cfg(target_arch = "wasm32")]
pub mod facade;
