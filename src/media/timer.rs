//! `Interval`: a `setInterval` timer that owns its JS `Closure` and clears itself on drop.
//!
//! The media layer runs at most two of these per call (the level monitor and the quality
//! poll). `setInterval` is used rather than `requestAnimationFrame` because it keeps running
//! (throttled to ≥ 1 s) in background tabs, where rAF stops completely.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use super::error::{describe, MediaError};

/// A repeating timer. Dropping it (or calling [`Interval::cancel`]) clears the timer and
/// releases the closure; after that the callback is never called again.
pub struct Interval {
    handle: Option<i32>,
    _closure: Closure<dyn FnMut()>,
}

impl Interval {
    /// Calls `tick` every `period_ms` milliseconds (the browser clamps very small values).
    pub fn new(period_ms: u32, tick: impl FnMut() + 'static) -> Result<Interval, MediaError> {
        let window = web_sys::window().ok_or_else(|| MediaError::Dom("no window".into()))?;
        let closure = Closure::<dyn FnMut()>::new(tick);
        let period = i32::try_from(period_ms).unwrap_or(i32::MAX);
        let handle = window
            .set_interval_with_callback_and_timeout_and_arguments_0(
                closure.as_ref().unchecked_ref(),
                period,
            )
            .map_err(|e| MediaError::Dom(describe(&e)))?;
        Ok(Interval {
            handle: Some(handle),
            _closure: closure,
        })
    }

    /// Stops the timer now. Idempotent.
    pub fn cancel(&mut self) {
        if let Some(handle) = self.handle.take() {
            if let Some(window) = web_sys::window() {
                window.clear_interval_with_handle(handle);
            }
        }
    }

    /// True until the timer is cancelled or dropped.
    pub fn is_active(&self) -> bool {
        self.handle.is_some()
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Milliseconds since page load from `performance.now()`, or 0 when unavailable.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}
