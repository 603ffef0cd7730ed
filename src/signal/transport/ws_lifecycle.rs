//! The socket life cycle of [`WsClient`]: opening a socket with its four callbacks, turning
//! frames into events, and deciding after every close whether to report, retry (at once,
//! then paced by the back-off) or stop. Every handler carries the generation of the socket
//! it was made for and ignores events of older sockets; none holds a `RefCell` borrow while
//! subscribers run, so they may send, disconnect or reconnect from inside an event.

use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent};

use super::socket::{Connection, SocketHandlers};
use super::ws_client::{random_below, settle, Inner, Phase, Waiter, WsClient};
use super::{is_final_close, SignalTransport, TransportError, TransportEvent};
use crate::browser::Timeout;
use crate::error::describe_js;
use crate::signal::codec::decode_frame;
use crate::signal::messages::Message;

#[wasm_bindgen]
extern "C" {
    /// The browser's UTF-8 decoder (declared here: web-sys has it behind a feature this crate
    /// does not enable). Decoding binary frames in JS keeps `from_utf8_lossy` out of the wasm.
    type TextDecoder;
    #[wasm_bindgen(constructor)]
    fn new() -> TextDecoder;
    #[wasm_bindgen(method)]
    fn decode(this: &TextDecoder, input: &JsValue) -> String;
}

/// The first retry after a drop of an open socket waits a random 0..this many ms.
const FIRST_RETRY_SPREAD_MS: u32 = 30;

impl Inner {
    /// Starts a session and returns the slot of its outcome (settled at once when the
    /// socket is already open or cannot be created).
    pub(super) fn start(self: &Rc<Self>, url: String) -> Waiter {
        let waiter = Waiter::default();
        let tx = waiter.clone();
        let mut replaced_open = false;
        let retry_now = {
            let mut s = self.state.borrow_mut();
            if s.url.as_deref() == Some(url.as_str()) && s.phase != Phase::Idle {
                if s.phase == Phase::Open {
                    tx.borrow_mut().result = Some(Ok(()));
                    return waiter;
                }
                s.waiters.push(tx);
                // A pending retry is cut short: someone is waiting for the connection now.
                s.phase == Phase::Waiting
            } else {
                // A new URL or token is a new session: nothing of the old one carries over.
                replaced_open = s.phase == Phase::Open;
                s.generation += 1;
                s.retry = None;
                s.last_join = None;
                s.has_opened = false;
                s.backoff.reset();
                s.url = Some(url);
                s.waiters.push(tx);
                let old = s.conn.take();
                drop(s);
                drop(old);
                true
            }
        };
        if replaced_open {
            self.hub.emit(&TransportEvent::Disconnected);
        }
        if retry_now {
            self.state.borrow_mut().retry = None;
            if let Err(why) = self.open_socket() {
                self.fail_waiters(&why);
                if self.state.borrow().has_opened {
                    // A session that was up keeps trying in the background.
                    self.schedule_retry();
                } else {
                    self.state.borrow_mut().phase = Phase::Idle;
                }
            }
        }
        waiter
    }

    /// Opens a socket for the session's URL; `Err` says why the browser refused it.
    fn open_socket(self: &Rc<Self>) -> Result<(), String> {
        let (url, gen) = {
            let mut s = self.state.borrow_mut();
            let Some(url) = s.url.clone() else {
                return Err("the signalling transport was closed".into());
            };
            // Events of any older socket are ignored from here on.
            s.generation += 1;
            (url, s.generation)
        };
        let weak = Rc::downgrade(self);
        let handlers = SocketHandlers {
            on_open: callback(&weak, gen, Inner::on_open),
            on_message: callback(&weak, gen, Inner::on_message),
            on_close: callback(&weak, gen, Inner::on_close),
            on_error: callback(&weak, gen, Inner::on_error),
        };
        let conn = Connection::open(&url, handlers).map_err(|e| describe_js(&e))?;
        let old = {
            let mut s = self.state.borrow_mut();
            s.phase = Phase::Connecting;
            s.conn.replace(conn)
        };
        drop(old);
        Ok(())
    }

    fn is_current(&self, gen: u64) -> bool {
        self.state.borrow().generation == gen
    }

    /// Fails every pending `connect` with `ConnectFailed(why)`.
    fn fail_waiters(&self, why: &str) {
        let waiters = std::mem::take(&mut self.state.borrow_mut().waiters);
        settle(waiters, &|| {
            Err(TransportError::ConnectFailed(why.to_owned()))
        });
    }

    fn on_open(self: &Rc<Self>, gen: u64, _ev: JsValue) {
        let (reconnected, rejoin, joins_before) = {
            let mut s = self.state.borrow_mut();
            if s.generation != gen {
                return;
            }
            s.phase = Phase::Open;
            s.backoff.reset();
            s.last_error = None;
            settle(std::mem::take(&mut s.waiters), &|| Ok(()));
            let reconnected = s.has_opened;
            s.has_opened = true;
            if reconnected {
                s.reconnects += 1;
            }
            (reconnected, s.last_join.clone(), s.joins_sent)
        };
        self.hub.emit(&TransportEvent::Connected);
        if reconnected && self.is_current(gen) {
            // A subscriber may already have re-joined while hearing `Connected`.
            let rejoined_meanwhile = self.state.borrow().joins_sent != joins_before;
            if let Some(join) = rejoin.filter(|_| !rejoined_meanwhile) {
                // If this fails the socket is already closing; its close schedules a retry.
                let _ = WsClient {
                    inner: self.clone(),
                }
                .send(&Message::Join(join));
            }
            self.hub.emit(&TransportEvent::Reconnected);
        }
    }

    fn on_message(self: &Rc<Self>, gen: u64, ev: JsValue) {
        if !self.is_current(gen) {
            return;
        }
        // Only ever attached as `onmessage`: the event is a MessageEvent.
        let data = ev.unchecked_into::<MessageEvent>().data();
        let text = if let Some(s) = data.as_string() {
            s
        } else if data.is_instance_of::<js_sys::ArrayBuffer>() {
            // Invalid UTF-8 becomes U+FFFD (maximal subparts, as `String::from_utf8_lossy`);
            // a leading BOM is dropped, which the codec would skip over anyway.
            TextDecoder::new().decode(&data)
        } else {
            return;
        };
        for decoded in decode_frame(&text) {
            self.hub.emit(&TransportEvent::decoded(decoded));
            // A handler may have disconnected or reconnected: stop delivering this frame.
            if !self.is_current(gen) {
                return;
            }
        }
    }

    fn on_error(self: &Rc<Self>, gen: u64, _ev: JsValue) {
        let mut s = self.state.borrow_mut();
        if s.generation == gen {
            // The browser hides the reason; the close event that always follows acts on it.
            s.last_error = Some("WebSocket error".into());
        }
    }

    fn on_close(self: &Rc<Self>, gen: u64, ev: JsValue) {
        // Only ever attached as `onclose`: the event is a CloseEvent.
        let ev = ev.unchecked_into::<CloseEvent>();
        let (code, reason) = (ev.code(), ev.reason());
        let what = if reason.is_empty() {
            format!("closed with code {code}")
        } else {
            format!("closed with code {code}: {reason}")
        };
        let (conn, was_open, retry) = {
            let mut s = self.state.borrow_mut();
            if s.generation != gen {
                return;
            }
            let was_open = s.phase == Phase::Open;
            let final_close = is_final_close(code);
            let first_attempt_failed = !was_open && !s.has_opened;
            let retry = !final_close && !first_attempt_failed;
            s.retry_at_once = retry && was_open;
            if !retry {
                s.phase = Phase::Idle;
                s.has_opened = false;
            }
            if !was_open || final_close {
                let prefix = if final_close {
                    "server refused the connection ("
                } else {
                    "connection failed ("
                };
                s.last_error = Some(format!("{prefix}{what})"));
            }
            (s.conn.take(), was_open, retry)
        };
        drop(conn);
        if !was_open || !retry {
            // Every failed attempt settles the pending `connect` calls (no hang while the
            // server is down); a retry, if any, goes on in the background.
            let msg = self.last_error().unwrap_or(what);
            self.fail_waiters(&msg);
        }
        if was_open {
            self.hub.emit(&TransportEvent::Disconnected);
        }
        if retry && self.is_current(gen) {
            self.schedule_retry();
        }
    }

    fn last_error(&self) -> Option<String> {
        self.state.borrow().last_error.clone()
    }

    fn schedule_retry(self: &Rc<Self>) {
        let delay = {
            let mut s = self.state.borrow_mut();
            if std::mem::take(&mut s.retry_at_once) {
                // At once, give or take a few ms so a crowd dropped together spreads out.
                Some(random_below(FIRST_RETRY_SPREAD_MS))
            } else {
                s.backoff.next_delay_ms()
            }
        };
        let Some(ms) = delay else {
            {
                let mut s = self.state.borrow_mut();
                s.phase = Phase::Idle;
                s.has_opened = false;
                s.last_error = Some("gave up reconnecting".into());
            }
            self.fail_waiters("gave up reconnecting");
            return;
        };
        let weak = Rc::downgrade(self);
        let timer = Timeout::new(ms, move || {
            if let Some(inner) = weak.upgrade() {
                inner.retry_now();
            }
        });
        let mut s = self.state.borrow_mut();
        match timer {
            Ok(t) => {
                s.phase = Phase::Waiting;
                s.retry = Some(t);
            }
            Err(e) => {
                s.phase = Phase::Idle;
                s.last_error = Some(format!("cannot schedule a reconnect: {}", describe_js(&e)));
            }
        }
    }

    fn retry_now(self: &Rc<Self>) {
        let timer = self.state.borrow_mut().retry.take();
        drop(timer);
        if let Err(why) = self.open_socket() {
            self.state.borrow_mut().last_error = Some(format!("could not connect: {why}"));
            self.schedule_retry();
        }
    }
}

/// Wraps a socket event handler so it holds only a weak reference and its generation.
/// Not inlined: `open_socket` calls it four times.
#[inline(never)]
fn callback(
    weak: &Weak<Inner>,
    gen: u64,
    f: fn(&Rc<Inner>, u64, JsValue),
) -> Closure<dyn FnMut(JsValue)> {
    let weak = weak.clone();
    Closure::new(move |ev: JsValue| {
        if let Some(inner) = weak.upgrade() {
            f(&inner, gen, ev);
        }
    })
}
