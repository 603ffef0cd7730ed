//! `AutoplayUnlock`: makes the call's `AudioContext` audible despite browser autoplay rules
//! (compat-spec P14, H-P3; design lesson 9).
//!
//! Browsers may create an `AudioContext` suspended when no user gesture is in progress (Safari
//! and iOS always, Chromium after the gesture budget is spent). While installed, this resumes
//! the context on the next `touchstart`, `touchend`, `mousedown`, `keydown` or `click` on the
//! document, and reports every change of "can audio play now" (`canPlayAudio`) to a callback,
//! from the context's `statechange` event. Dropping it removes every listener and frees the
//! closures. The listeners stay installed after a successful resume (cheap no-ops) because a
//! closure must not be dropped while it runs, and because a context can be suspended again
//! (iOS interruptions).

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AudioContext, AudioContextState};

use super::error::{describe, MediaError};

/// The document events that count as a user gesture for unlocking audio.
pub const GESTURE_EVENTS: [&str; 5] = ["touchstart", "touchend", "mousedown", "keydown", "click"];

/// Resumes a context on the next user gesture and reports playability changes.
pub struct AutoplayUnlock {
    ctx: AudioContext,
    document: JsValue,
    on_gesture: Closure<dyn FnMut(JsValue)>,
    on_state: Closure<dyn FnMut(JsValue)>,
}

impl AutoplayUnlock {
    /// Installs the gesture listeners and the `statechange` handler on `ctx`. `on_change` gets
    /// `true` when audio can play (context running) and `false` when it cannot (suspended or
    /// closed), only on changes. The current state is not reported; read it with
    /// [`AutoplayUnlock::can_play`].
    pub fn install(
        ctx: &AudioContext,
        mut on_change: impl FnMut(bool) + 'static,
    ) -> Result<AutoplayUnlock, MediaError> {
        let document: JsValue = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| MediaError::Dom("no document".into()))?
            .into();
        let gesture_ctx = ctx.clone();
        let on_gesture = Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
            if gesture_ctx.state() == AudioContextState::Suspended {
                if let Ok(promise) = gesture_ctx.resume() {
                    crate::browser::detach(promise);
                }
            }
        });
        let state_ctx = ctx.clone();
        let last = Rc::new(Cell::new(can_play(ctx)));
        let on_state = Closure::<dyn FnMut(JsValue)>::new(move |_event: JsValue| {
            let now = can_play(&state_ctx);
            if now != last.replace(now) {
                on_change(now);
            }
        });
        listen(&document, "addEventListener", on_gesture.as_ref())?;
        ctx.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
        Ok(AutoplayUnlock {
            ctx: ctx.clone(),
            document,
            on_gesture,
            on_state,
        })
    }

    /// True when the context is running (audio is audible).
    pub fn can_play(&self) -> bool {
        can_play(&self.ctx)
    }
}

impl Drop for AutoplayUnlock {
    fn drop(&mut self) {
        let _ = listen(
            &self.document,
            "removeEventListener",
            self.on_gesture.as_ref(),
        );
        // Only clear the handler if it is still ours (someone may have replaced it).
        let ours: &JsValue = self.on_state.as_ref();
        if self
            .ctx
            .onstatechange()
            .is_some_and(|f| JsValue::from(f) == *ours)
        {
            self.ctx.set_onstatechange(None);
        }
    }
}

/// True when `ctx` is running.
pub fn can_play(ctx: &AudioContext) -> bool {
    ctx.state() == AudioContextState::Running
}

/// Calls `document[method](event, handler, {passive: true})` for every gesture event.
fn listen(document: &JsValue, method: &str, handler: &JsValue) -> Result<(), MediaError> {
    let function: Function = Reflect::get(document, &JsValue::from_str(method))
        .map_err(|e| MediaError::Dom(describe(&e)))?
        .dyn_into()
        .map_err(|_| MediaError::Dom("document.".to_string() + method + " is not a function"))?;
    let options = js_sys::Object::new();
    let _ = Reflect::set(&options, &JsValue::from_str("passive"), &JsValue::TRUE);
    for event in GESTURE_EVENTS {
        function
            .call3(document, &JsValue::from_str(event), handler, &options)
            .map_err(|e| MediaError::Dom(describe(&e)))?;
    }
    Ok(())
}
