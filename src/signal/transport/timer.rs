//! RAII one-shot timer for the browser transports: [`Timeout`] owns its JS callback and
//! clears the pending `setTimeout` when dropped, so a dropped or disconnected client leaves
//! no timer behind. Uses the global `setTimeout`/`clearTimeout` (window or worker).
//! Dropping a `Timeout` from inside its own callback is safe (wasm-bindgen defers freeing
//! the closure until the call returns).

use std::cell::Cell;

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout, catch)]
    fn set_timeout(handler: &js_sys::Function, ms: i32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
}

/// A pending `setTimeout`; dropping it cancels the call and frees the closure.
pub(crate) struct Timeout {
    handle: JsValue,
    fired: std::rc::Rc<Cell<bool>>,
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Schedules `f` once after `ms` milliseconds.
    pub(crate) fn new(ms: u32, f: impl FnOnce() + 'static) -> Result<Self, JsValue> {
        let fired = std::rc::Rc::new(Cell::new(false));
        let flag = fired.clone();
        let mut f = Some(f);
        let callback = Closure::<dyn FnMut()>::new(move || {
            flag.set(true);
            if let Some(f) = f.take() {
                f();
            }
        });
        let ms = i32::try_from(ms).unwrap_or(i32::MAX);
        let handle = set_timeout(callback.as_ref().unchecked_ref(), ms)?;
        Ok(Self {
            handle,
            fired,
            _callback: callback,
        })
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        if !self.fired.get() {
            clear_timeout(&self.handle);
        }
    }
}
