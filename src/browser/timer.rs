//! RAII browser timers: a [`Timeout`] fires its callback once and an [`Interval`] repeatedly;
//! dropping either (or cancelling it) clears the browser timer and releases the `Closure`, so a
//! callback never runs after its owner is gone. They use the global `setTimeout`/`setInterval`,
//! so they work in windows and workers alike and need no `window` (P19). `setInterval` rather
//! than `requestAnimationFrame` keeps running (throttled) in background tabs, where rAF stops.
//! Dropping a timer from inside its own callback is safe (wasm-bindgen defers freeing a closure
//! until its call returns).

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

fn clamp_ms(ms: u32) -> i32 {
    i32::try_from(ms).unwrap_or(i32::MAX)
}

/// A one-shot timer. Dropping it before it fires cancels it.
pub struct Timeout {
    handle: JsValue,
    fired: Rc<Cell<bool>>,
    _closure: Closure<dyn FnMut(JsValue)>,
}

impl Timeout {
    /// Runs `f` once after `ms` milliseconds, unless the `Timeout` is dropped first.
    /// Fails when the global timer function is unavailable or throws.
    pub fn new(ms: u32, f: impl FnOnce() + 'static) -> Result<Timeout, JsValue> {
        Timeout::boxed(ms, Box::new(f))
    }

    /// The one (non-generic) body of [`Timeout::new`]: every timeout of the crate shares this
    /// code and one `Closure` type instead of one copy per callback type.
    #[inline(never)]
    fn boxed(ms: u32, f: Box<dyn FnOnce()>) -> Result<Timeout, JsValue> {
        let fired = Rc::new(Cell::new(false));
        let flag = fired.clone();
        let mut f = Some(f);
        // Called by setTimeout with no argument.
        let closure = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            flag.set(true);
            if let Some(f) = f.take() {
                f();
            }
        });
        let handle = set_timeout(closure.as_ref().unchecked_ref(), clamp_ms(ms))?;
        Ok(Timeout {
            handle,
            fired,
            _closure: closure,
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

/// A repeating timer. Dropping it (or calling [`Interval::cancel`]) stops it.
pub struct Interval {
    handle: Option<JsValue>,
    _closure: Closure<dyn FnMut(JsValue)>,
}

impl Interval {
    /// Runs `f` every `ms` milliseconds (the browser clamps very small values) until dropped.
    pub fn new(ms: u32, f: impl FnMut() + 'static) -> Result<Interval, JsValue> {
        Interval::boxed(ms, Box::new(f))
    }

    /// The one (non-generic) body of [`Interval::new`].
    #[inline(never)]
    fn boxed(ms: u32, mut f: Box<dyn FnMut()>) -> Result<Interval, JsValue> {
        let closure = Closure::<dyn FnMut(JsValue)>::new(move |_| f());
        let handle = set_interval(closure.as_ref().unchecked_ref(), clamp_ms(ms))?;
        Ok(Interval {
            handle: Some(handle),
            _closure: closure,
        })
    }

    /// Stops the timer now. Idempotent.
    pub fn cancel(&mut self) {
        if let Some(handle) = self.handle.take() {
            clear_interval(&handle);
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

/// Runs `f` once after `ms` milliseconds, with nothing to keep: the timer owns itself and is
/// freed when it fires (for work that must happen even after its caller is gone, e.g. a
/// frame already promised to the server). When the global timer function is unavailable
/// `f` is dropped unrun.
pub fn after(ms: u32, f: impl FnOnce() + 'static) {
    let slot: Rc<std::cell::RefCell<Option<Timeout>>> = Rc::default();
    let own = slot.clone();
    let timer = Timeout::new(ms, move || {
        let _fired = own.borrow_mut().take();
        f();
    });
    *slot.borrow_mut() = timer.ok();
}

/// Milliseconds since the time origin (`performance.now()` where available, else `Date.now()`).
pub fn now_ms() -> f64 {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &JsValue::from_str("performance"))
        .ok()
        .filter(JsValue::is_object)
        .map(|p| p.unchecked_into::<web_sys::Performance>().now())
        .unwrap_or_else(js_sys::Date::now)
}
