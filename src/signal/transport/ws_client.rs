//! [`WsClient`]: the built-in `voice:*` WebSocket client, for apps without their own socket.
//!
//! - `connect(url, token)` opens `<url>/?token=<encodeURIComponent(JWT)>` (the only URL shape
//!   the C++ server authenticates, compat-spec H-P1) and resolves on open; it rejects when the
//!   first attempt fails, and joins an attempt already in flight.
//! - Every received text frame goes through `decode_frame` (several envelopes per frame, the
//!   C++ relay's trailing brace); each envelope becomes one [`TransportEvent`].
//! - Every unexpected close is followed by a reconnect paced by [`Backoff::signalling`];
//!   close codes 1008 and 4000–4999 (the server refused us, e.g. a bad token) are final.
//! - It remembers the last voice:join it sent (forgotten on voice:leave of that channel) and
//!   re-sends it after a reconnect, then emits `Reconnected` (P12).
//! - `send` fails with `NotOpen` whenever the socket is not open (no silent drop, P18).
//!
//! Ownership: socket callbacks and the retry timer hold only a `Weak` to the client state;
//! `disconnect()` and the drop of the last handle release them all and close the socket.

use std::cell::RefCell;
use std::future::Future;
use std::rc::{Rc, Weak};

use futures::channel::oneshot;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use super::hub::{EventHub, Subscription};
use super::timer::Timeout;
use super::{SignalTransport, TransportError, TransportEvent};
use crate::error::describe_js;

use crate::signal::backoff::Backoff;
use crate::signal::codec::{decode_frame, encode, Decoded};
use crate::signal::messages::{Join, Message};

/// Where the client is in its connection life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Not connected and not trying (never connected, disconnected, refused or gave up).
    Idle,
    /// A socket is opening.
    Connecting,
    /// The socket is open.
    Open,
    /// The socket closed unexpectedly; a retry timer is pending.
    Waiting,
}

/// Close codes after which retrying is pointless: policy violation and the app range.
fn is_final_close(code: u16) -> bool {
    code == 1008 || (4000..5000).contains(&code)
}

/// Cheap-to-clone handle; all clones share one connection. The last drop closes it.
#[derive(Clone)]
pub struct WsClient {
    inner: Rc<Inner>,
}

struct Inner {
    hub: EventHub,
    state: RefCell<State>,
}

type Waiter = oneshot::Sender<Result<(), TransportError>>;

struct State {
    url: Option<String>,
    phase: Phase,
    conn: Option<Connection>,
    generation: u64,
    backoff: Backoff,
    retry: Option<Timeout>,
    last_join: Option<Join>,
    waiters: Vec<Waiter>,
    /// A socket of this session has opened before: the next open is a reconnect.
    has_opened: bool,
    last_error: Option<String>,
    reconnects: u32,
}

/// One browser socket and the four callbacks it owns.
struct Connection {
    ws: WebSocket,
    _callbacks: [Closure<dyn Fn(JsValue)>; 4],
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        if self.ws.ready_state() <= WebSocket::OPEN {
            // Teardown swallows "already closed"; close(1000) cannot otherwise throw.
            let _ = self.ws.close_with_code(1000);
        }
    }
}

impl Default for WsClient {
    fn default() -> Self {
        Self::new()
    }
}

impl WsClient {
    pub fn new() -> Self {
        let state = State {
            url: None,
            phase: Phase::Idle,
            conn: None,
            generation: 0,
            backoff: Backoff::signalling(),
            retry: None,
            last_join: None,
            waiters: Vec::new(),
            has_opened: false,
            last_error: None,
            reconnects: 0,
        };
        Self {
            inner: Rc::new(Inner {
                hub: EventHub::new(),
                state: RefCell::new(state),
            }),
        }
    }

    /// The socket URL for a server base URL and a login JWT (`<url>/?token=<encoded>`).
    pub fn socket_url(base: &str, token: &str) -> String {
        let token = String::from(js_sys::encode_uri_component(token));
        format!("{}/?token={token}", base.trim_end_matches('/'))
    }

    /// Connects (or joins the attempt in flight). Resolves when the socket is open; rejects
    /// with `ConnectFailed` when the first attempt fails, `Closed` on disconnect or drop.
    /// Connecting with a different URL or token first drops the current connection.
    pub fn connect(
        &self,
        base_url: &str,
        token: &str,
    ) -> impl Future<Output = Result<(), TransportError>> {
        let started = self.inner.start(Self::socket_url(base_url, token));
        async move {
            match started {
                Ok(Some(rx)) => rx.await.unwrap_or(Err(TransportError::Closed)),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            }
        }
    }

    /// Closes the socket for good: no reconnect, the remembered join is forgotten, pending
    /// `connect` futures fail with `Closed`. Emits `Disconnected` if the socket was open.
    pub fn disconnect(&self) {
        let (conn, was_open) = {
            let mut s = self.inner.state.borrow_mut();
            s.generation += 1;
            s.url = None;
            s.retry = None;
            s.last_join = None;
            s.has_opened = false;
            for w in s.waiters.drain(..) {
                let _ = w.send(Err(TransportError::Closed));
            }
            let was_open = s.phase == Phase::Open;
            s.phase = Phase::Idle;
            (s.conn.take(), was_open)
        };
        drop(conn);
        if was_open {
            self.inner.hub.emit(&TransportEvent::Disconnected);
        }
    }

    /// Sends a raw text frame as is (the JS wrapper's non-voice envelopes; fault injection).
    pub fn send_text(&self, text: &str) -> Result<(), TransportError> {
        let s = self.inner.state.borrow();
        match (&s.conn, s.phase) {
            (Some(conn), Phase::Open) if conn.ws.ready_state() == WebSocket::OPEN => conn
                .ws
                .send_with_str(text)
                .map_err(|e| TransportError::SendFailed(describe_js(&e))),
            _ => Err(TransportError::NotOpen),
        }
    }

    pub fn phase(&self) -> Phase {
        self.inner.state.borrow().phase
    }

    /// The last connection problem (refusal, failed attempt, giving up), cleared on open.
    pub fn last_error(&self) -> Option<String> {
        self.inner.state.borrow().last_error.clone()
    }

    /// How many times a dropped connection was re-established.
    pub fn reconnect_count(&self) -> u32 {
        self.inner.state.borrow().reconnects
    }

    /// The voice:join that will be re-sent after a reconnect, if any.
    pub fn remembered_join(&self) -> Option<Join> {
        self.inner.state.borrow().last_join.clone()
    }

    /// Number of live subscriptions (tests prove teardown returns it to zero).
    pub fn subscriber_count(&self) -> usize {
        self.inner.hub.len()
    }
}

impl SignalTransport for WsClient {
    fn send(&self, msg: &Message) -> Result<(), TransportError> {
        let text = encode(msg)?;
        self.send_text(&text)?;
        let mut s = self.inner.state.borrow_mut();
        match msg {
            Message::Join(join) => s.last_join = Some(join.clone()),
            Message::Leave(leave)
                if s.last_join.as_ref().map(|j| j.channel_id) == Some(leave.channel_id) =>
            {
                s.last_join = None;
            }
            _ => {}
        }
        Ok(())
    }

    fn is_open(&self) -> bool {
        let s = self.inner.state.borrow();
        s.phase == Phase::Open
            && s.conn
                .as_ref()
                .is_some_and(|c| c.ws.ready_state() == WebSocket::OPEN)
    }

    fn subscribe(&self, handler: Box<dyn Fn(&TransportEvent)>) -> Subscription {
        self.inner.hub.subscribe(handler)
    }
}

impl Inner {
    /// Starts a session. `Ok(None)`: already open; `Ok(Some(rx))`: wait for the attempt.
    fn start(
        self: &Rc<Self>,
        url: String,
    ) -> Result<Option<oneshot::Receiver<Result<(), TransportError>>>, TransportError> {
        let (tx, rx) = oneshot::channel();
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
                s.generation += 1;
                s.retry = None;
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
        if retry_now {
            self.state.borrow_mut().retry = None;
            if let Err(e) = self.open_socket() {
                self.fail_waiters(e.clone());
                self.state.borrow_mut().phase = Phase::Idle;
                return Err(e);
            }
        }
        Ok(Some(rx))
    }

    fn open_socket(self: &Rc<Self>) -> Result<(), TransportError> {
        let url = self
            .state
            .borrow()
            .url
            .clone()
            .ok_or(TransportError::Closed)?;
        let ws =
            WebSocket::new(&url).map_err(|e| TransportError::ConnectFailed(describe_js(&e)))?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let mut s = self.state.borrow_mut();
        s.generation += 1;
        let gen = s.generation;
        let weak = Rc::downgrade(self);
        let callbacks = [
            callback(&weak, gen, Inner::on_open),
            callback(&weak, gen, Inner::on_message),
            callback(&weak, gen, Inner::on_close),
            callback(&weak, gen, Inner::on_error),
        ];
        ws.set_onopen(Some(callbacks[0].as_ref().unchecked_ref()));
        ws.set_onmessage(Some(callbacks[1].as_ref().unchecked_ref()));
        ws.set_onclose(Some(callbacks[2].as_ref().unchecked_ref()));
        ws.set_onerror(Some(callbacks[3].as_ref().unchecked_ref()));
        let old = s.conn.replace(Connection {
            ws,
            _callbacks: callbacks,
        });
        s.phase = Phase::Connecting;
        drop(s);
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
        let (reconnected, rejoin) = {
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
            (reconnected, s.last_join.clone())
        };
        self.hub.emit(&TransportEvent::Connected);
        if reconnected && self.is_current(gen) {
            if let Some(join) = rejoin {
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
            if !retry {
                s.phase = Phase::Idle;
                s.has_opened = false;
                s.last_error = Some(if final_close {
                    format!("server refused the connection ({what})")
                } else {
                    format!("connection failed ({what})")
                });
            }
            (s.conn.take(), was_open, retry)
        };
        drop(conn);
        if !retry {
            let msg = self.last_error().unwrap_or_default();
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
        let delay = self.state.borrow_mut().backoff.next_delay_ms();
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
