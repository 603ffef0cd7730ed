//! RAII browser timers for the P2P and service layers: a [`Timeout`] fires its callback once
//! and an [`Interval`] repeatedly; dropping either clears the browser timer and releases the
//! `Closure`. They use the global `setTimeout`/`setInterval`, so they work in windows and
//! workers alike and never touch `window` at construction of anything else (P19).

use std::cell::Cell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
    #[wasm_bindgen(js_name = setInterval, catch)]
    fn set_interval(handler: &js_sys::Function, ms: i32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(handle: &JsValue);
}

/// A one-shot timer. Dropping it before it fires cancels it.
pub struct Timeout {
    handle: JsValue,
    fired: Rc<Cell<bool>>,
    _closure: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Runs `f` once after `ms` milliseconds, unless the `Timeout` is dropped first.
    /// Returns `None` when the global timer function is unavailable.
    pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Option<Timeout> {
        let fired = Rc::new(Cell::new(false));
        let flag = fired.clone();
        let mut f = Some(f);
        let closure = Closure::<dyn FnMut()>::new(move || {
            flag.set(true);
            if let Some(f) = f.take() {
                f();
            }
        });
        let ms = i32::try_from(ms).unwrap_or(i32::MAX);
        let handle = set_timeout(closure.as_ref().unchecked_ref(), ms).ok()?;
        Some(Timeout {
            handle,
            fired,
            _closure: closure,
        })
    }

    /// Whether the callback has already run.
    pub fn has_fired(&self) -> bool {
        self.fired.get()
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if !self.fired.get() {
            clear_timeout(&self.handle);
        }
    }
}

/// A repeating timer. Dropping it stops it.
pub struct Interval {
    handle: JsValue,
    _closure: Closure<dyn FnMut()>,
}

impl Interval {
    /// Runs `f` every `ms` milliseconds until dropped. `None` when timers are unavailable.
    pub fn new(ms: u32, f: impl FnMut() + 'static) -> Option<Interval> {
        let closure = Closure::<dyn FnMut()>::new(f);
        let ms = i32::try_from(ms).unwrap_or(i32::MAX);
        let handle = set_interval(closure.as_ref().unchecked_ref(), ms).ok()?;
        Some(Interval {
            handle,
            _closure: closure,
        })
    }
}

impl Drop for Interval {
    fn drop(&mut self) {
        clear_interval(&self.handle);
    }
}

/// Milliseconds since the time origin (`performance.now()` where available, else `Date.now()`).
pub fn now_ms() -> f64 {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &JsValue::from_str("performance"))
        .ok()
        .and_then(|p| p.dyn_into::<web_sys::Performance>().ok())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}

/// Resolves after `ms` milliseconds (for async flows; the timer is released when it fires or
/// when the future is dropped).
pub async fn sleep(ms: u32) {
    let (tx, rx) = futures::channel::oneshot::channel::<()>();
    let _timer = Timeout::new(ms, move || {
        let _ = tx.send(());
    });
    let _ = rx.await;
}
