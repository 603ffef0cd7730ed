//! Audio playback for [`CallService`]: whether the browser lets the call's `AudioContext` play
//! (`canPlayAudio`; autoplay policy), starting it from a user gesture (`startAudio`), and the
//! check after a join that reports a held context to the app.

use std::rc::Rc;

use super::call::{CallService, Shared};
use super::events::ServiceEvent;

impl CallService {
    /// True when the call's audio can play (no call: true). False while the browser's
    /// autoplay policy holds the call's AudioContext suspended.
    pub fn can_play_audio(&self) -> bool {
        can_play(&self.shared)
    }

    /// Starts the call's audio (`AudioContext.resume()`). Call it from a user gesture (a
    /// click): the browser only then lets the context run. Resolves once it runs (at once
    /// outside a call).
    pub fn start_audio(&self) -> js_sys::Promise {
        let st = self.shared.state.borrow();
        st.call
            .as_ref()
            .and_then(|c| c.graph.borrow().context().resume().ok())
            .unwrap_or_else(|| js_sys::Promise::resolve(&wasm_bindgen::JsValue::UNDEFINED))
    }
}

/// How long a joined call's AudioContext gets to start before it is reported as blocked.
const PLAYBACK_CHECK_MS: u32 = 300;

fn can_play(shared: &Shared) -> bool {
    let st = shared.state.borrow();
    st.call
        .as_ref()
        .is_none_or(|c| c.graph.borrow().is_running())
}

/// After voice:join: asks the call's AudioContext to run and, if the browser still holds it
/// (a join that did not start from a user gesture; Chromium lifts the hold once the page
/// captures the microphone, Safari does not), reports playback as blocked. The unlock reports
/// every later change.
pub(super) fn check_playback(shared: &Rc<Shared>) {
    if let Some(call) = shared.state.borrow().call.as_ref() {
        call.graph.borrow().resume();
    }
    let weak = Rc::downgrade(shared);
    crate::browser::after(PLAYBACK_CHECK_MS, move || {
        if let Some(shared) = weak.upgrade() {
            if !can_play(&shared) {
                shared.emit(ServiceEvent::AudioPlayback(false));
            }
        }
    });
}
