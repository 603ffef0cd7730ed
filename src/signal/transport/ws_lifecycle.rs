//! The socket life cycle of [`WsClient`]: opening a socket with its four callbacks, turning
//! frames into events, and deciding after every close whether to report, retry (at once,
//! then paced by the back-off) or stop. Every handler carries the generation of the socket
//! it was made for and ignores events of older sockets; none holds a `RefCell` borrow while
//! subscribers run, so they may send, disconnect or reconnect from inside an event.

use std::rc::{Rc, Weak};

use futures::channel::oneshot;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent};

use super::socket::{Connection, SocketHandlers};
use super::ws_client::{random_below, Inner, Phase, WsClient};
use super::{is_final_close, SignalTransport, TransportError, TransportEvent};
use crate::browser::Timeout;
use crate::error::describe_js;
use crate::signal::codec::{decode_frame, Decoded};
use crate::signal::messages::Message;

/// The first retry after a drop of an open socket waits a random 0..this many ms.
const FIRST_RETRY_SPREAD_MS: u32 = 30;

impl Inner {
    /// Starts a session. `Ok(None)`: already open; `Ok(Some(rx))`: wait for the attempt.
    pub(super) fn start(
        self: &Rc<Self>,
        url: String,
    ) -> Result<Option<oneshot::Receiver<Result<(), TransportError>>>, TransportError> {
        let (tx, rx) = oneshot::channel();
        let mut replaced_open = false;
        let retry_now = {
            let mut s = self.state.borrow_mut();
            if s.url.as_deref() == Some(url.as_str()) && s.phase != Phase::Idle {
                if s.phase == Phase::Open {
                    return Ok(None);
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
            if let Err(e) = self.open_socket() {
                self.fail_waiters(e.clone());
                if self.state.borrow().has_opened {
                    // A session that was up keeps trying in the background.
                    self.schedule_retry();
                } else {
                    self.state.borrow_mut().phase = Phase::Idle;
                }
                return Err(e);
            }
        }
        Ok(Some(rx))
    }

    fn open_socket(self: &Rc<Self>) -> Result<(), TransportError> {
        let (url, gen) = {
            let mut s = self.state.borrow_mut();
            let url = s.url.clone().ok_or(TransportError::Closed)?;
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
        let conn = Connection::open(&url, handlers)
            .map_err(|e| TransportError::ConnectFailed(describe_js(&e)))?;
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

    fn fail_waiters(&self, err: TransportError) {
        for w in self.state.borrow_mut().waiters.drain(..) {
            let _ = w.send(Err(err.clone()));
        }
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
            for w in s.waiters.drain(..) {
                let _ = w.send(Ok(()));
            }
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
        let Ok(ev) = ev.dyn_into::<MessageEvent>() else {
            return;
        };
        let data = ev.data();
        let text = if let Some(s) = data.as_string() {
            s
        } else if let Some(buf) = data.dyn_ref::<js_sys::ArrayBuffer>() {
            String::from_utf8_lossy(&js_sys::Uint8Array::new(buf).to_vec()).into_owned()
        } else {
            return;
        };
        for decoded in decode_frame(&text) {
            let event = match decoded {
                Ok(Decoded::Voice(m)) => TransportEvent::Message(m),
                Ok(Decoded::Other { kind, payload }) => TransportEvent::Other { kind, payload },
                Err(e) => TransportEvent::DecodeError(e),
            };
            self.hub.emit(&event);
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
        let (code, reason) = match ev.dyn_ref::<CloseEvent>() {
            Some(c) => (c.code(), c.reason()),
            None => (1006, String::new()),
        };
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
                s.last_error = Some(if final_close {
                    format!("server refused the connection ({what})")
                } else {
                    format!("connection failed ({what})")
                });
            }
            (s.conn.take(), was_open, retry)
        };
        drop(conn);
        if !was_open || !retry {
            // Every failed attempt settles the pending `connect` calls (no hang while the
            // server is down); a retry, if any, goes on in the background.
            let msg = self.last_error().unwrap_or_else(|| what.clone());
            self.fail_waiters(TransportError::ConnectFailed(msg));
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
            self.fail_waiters(TransportError::ConnectFailed("gave up reconnecting".into()));
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
        if let Err(e) = self.open_socket() {
            self.state.borrow_mut().last_error = Some(e.to_string());
            self.schedule_retry();
        }
    }
}

/// Wraps a socket event handler so it holds only a weak reference and its generation.
fn callback(
    weak: &Weak<Inner>,
    gen: u64,
    f: fn(&Rc<Inner>, u64, JsValue),
) -> Closure<dyn Fn(JsValue)> {
    let weak = weak.clone();
    Closure::new(move |ev: JsValue| {
        if let Some(inner) = weak.upgrade() {
            f(&inner, gen, ev);
        }
    })
}
