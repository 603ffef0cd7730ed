//! [`WsClient`]: the built-in `voice:*` WebSocket client, for apps without their own socket.
//!
//! - `connect(url, token)` opens `<url>/?token=<encodeURIComponent(JWT)>` (the only URL shape
//!   the C++ server authenticates, compat-spec H-P1) and resolves on open; it rejects when the
//!   first attempt fails, and joins an attempt already in flight.
//! - Every received text frame goes through `decode_frame` (several envelopes per frame, the
//!   C++ relay's trailing brace); each envelope becomes one [`TransportEvent`].
//! - Every unexpected close is followed by a reconnect: the first attempt after a drop of an
//!   open socket goes out at once (within a random 0–30 ms; a dropped tunnel usually
//!   reconnects at the first try), the following ones are paced by [`Backoff::signalling`]
//!   with 50 % jitter; close codes 1008 and 4000–4999 (the server refused us) are final. A
//!   first `connect` that fails is reported, not retried.
//! - It remembers the last voice:join it sent (forgotten on voice:leave of that channel) and
//!   re-sends it after a reconnect, then emits `Reconnected` (P12). A subscriber that re-joins
//!   by itself on `Connected` (the call service does) is not doubled: the remembered join
//!   is only re-sent when no voice:join went out while `Connected` was being delivered.
//! - `send` fails with `NotOpen` whenever the socket is not open (no silent drop, P18).
//!
//! Ownership: socket callbacks and the retry timer hold only a `Weak` to the client state;
//! `disconnect()` and the drop of the last handle release them all and close the socket.
//! This file holds the public API and the state; the socket event handling (open, message,
//! close, retry) is in `ws_lifecycle.rs`.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::hub::{EventHub, Subscription};
use super::socket::Connection;
use super::{SignalTransport, TransportError, TransportEvent};
use crate::browser::Timeout;
use crate::error::describe_js;
use crate::signal::backoff::Backoff;
use crate::signal::codec::encode;
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

/// Cheap-to-clone handle; all clones share one connection. The last drop closes it.
#[derive(Clone)]
pub struct WsClient {
    pub(super) inner: Rc<Inner>,
}

pub(super) struct Inner {
    pub(super) hub: EventHub,
    pub(super) state: RefCell<State>,
}

/// The outcome slot of one pending `connect`, settled exactly once ([`settle`]): `Ok` on
/// open, `ConnectFailed`, or `Closed` on disconnect and when the client is dropped.
pub(super) type Waiter = Rc<RefCell<Slot>>;

#[derive(Default)]
pub(super) struct Slot {
    pub(super) result: Option<Result<(), TransportError>>,
    waker: Option<Waker>,
}

/// The future `connect` returns: ready once its slot is settled.
struct Pending(Waiter);

impl Future for Pending {
    type Output = Result<(), TransportError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.0.borrow_mut();
        match slot.result.take() {
            Some(result) => Poll::Ready(result),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Settles every waiter with a fresh `result()` and wakes its future (which then runs on a
/// later microtask, never inside this call).
pub(super) fn settle(waiters: Vec<Waiter>, result: &dyn Fn() -> Result<(), TransportError>) {
    for waiter in waiters {
        let waker = {
            let mut slot = waiter.borrow_mut();
            slot.result = Some(result());
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

pub(super) struct State {
    pub(super) url: Option<String>,
    pub(super) phase: Phase,
    pub(super) conn: Option<Connection>,
    pub(super) generation: u64,
    pub(super) backoff: Backoff,
    pub(super) retry: Option<Timeout>,
    pub(super) last_join: Option<Join>,
    pub(super) waiters: Vec<Waiter>,
    /// A socket of this session has opened before: the next open is a reconnect.
    pub(super) has_opened: bool,
    /// The open socket just dropped: the first retry goes out at once, later ones back off.
    pub(super) retry_at_once: bool,
    pub(super) last_error: Option<String>,
    pub(super) reconnects: u32,
    /// Counts every voice:join sent, so a re-join done by a subscriber is not doubled.
    pub(super) joins_sent: u64,
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
            // Jitter spreads the retries of many clients dropped at once (a server restart).
            backoff: Backoff::signalling().with_jitter(50, random_below(u32::MAX).into()),
            retry: None,
            last_join: None,
            waiters: Vec::new(),
            has_opened: false,
            retry_at_once: false,
            last_error: None,
            reconnects: 0,
            joins_sent: 0,
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
    /// with `ConnectFailed` when the attempt fails (a reconnect attempt keeps retrying in the
    /// background), `Closed` on disconnect or drop.
    /// Connecting with a different URL or token first drops the current connection.
    pub fn connect(
        &self,
        base_url: &str,
        token: &str,
    ) -> impl Future<Output = Result<(), TransportError>> {
        Pending(self.inner.start(Self::socket_url(base_url, token)))
    }

    /// Closes the socket for good: no reconnect, the remembered join is forgotten, pending
    /// `connect` futures fail with `Closed`. Emits `Disconnected` if the socket was open.
    pub fn disconnect(&self) {
        let (conn, was_open, waiters) = {
            let mut s = self.inner.state.borrow_mut();
            s.generation += 1;
            s.url = None;
            s.retry = None;
            s.last_join = None;
            s.has_opened = false;
            let was_open = s.phase == Phase::Open;
            s.phase = Phase::Idle;
            (s.conn.take(), was_open, std::mem::take(&mut s.waiters))
        };
        settle(waiters, &|| Err(TransportError::Closed));
        drop(conn);
        if was_open {
            self.inner.hub.emit(&TransportEvent::Disconnected);
        }
    }

    /// Sends a raw text frame as is (the JS wrapper's non-voice envelopes; fault injection).
    pub fn send_text(&self, text: &str) -> Result<(), TransportError> {
        let s = self.inner.state.borrow();
        match (&s.conn, s.phase) {
            (Some(conn), Phase::Open) if conn.is_open() => conn
                .send_text(text)
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
            Message::Join(join) => {
                s.last_join = Some(join.clone());
                s.joins_sent += 1;
            }
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
        s.phase == Phase::Open && s.conn.as_ref().is_some_and(Connection::is_open)
    }

    fn subscribe(&self, handler: Box<dyn Fn(&TransportEvent)>) -> Subscription {
        self.inner.hub.subscribe(handler)
    }
}

impl Drop for State {
    /// The last handle is gone: pending `connect` futures fail with `Closed`.
    fn drop(&mut self) {
        settle(std::mem::take(&mut self.waiters), &|| {
            Err(TransportError::Closed)
        });
    }
}

/// A uniformly random whole number in `0..bound` (browser `Math.random`; not for secrets).
pub(super) fn random_below(bound: u32) -> u32 {
    (js_sys::Math::random() * f64::from(bound)) as u32
}
