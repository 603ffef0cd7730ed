//! Small RAII helpers over browser globals shared by every browser layer (signal, media, p2p,
//! sfu, service). This is the bottom of the layer stack: it depends on nothing in the crate.

pub mod log;
pub mod object;
pub mod task;
pub mod timer;

pub use task::{defer, detach, promise, spawn};
pub use timer::{after, now_ms, Interval, Timeout};
