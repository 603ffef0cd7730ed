//! The SFU engine's plumbing: [`Input`], everything the run loop reacts to; [`Inbox`], its
//! single-threaded input queue (a `Vec` plus the loop's waker: no `futures` channel), and
//! [`Reply`], how the engine settles a JS promise (`connect`, `publish`, `leave`) directly
//! through its resolve/reject functions.

use std::cell::RefCell;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::{Poll, Waker};

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use web_sys::MediaStreamTrack;

use super::error::SfuError;
use super::socket::SocketEvent;
use super::transport::PcEvent;
use crate::media::AudioGraph;

/// Everything the engine reacts to.
pub enum Input {
    Socket(SocketEvent),
    Pc(PcEvent),
    Tick,
    /// Publish a track (the `SfuClient` class; a call's microphone rides in the join).
    #[cfg(feature = "sfu-client")]
    Publish(MediaStreamTrack, Reply),
    SetMuted(bool),
    /// Publish the call's camera (once; it stays published until the session ends).
    Camera(MediaStreamTrack),
    /// Leave; the reply resolves once everything (the audio graph too) is released.
    Leave(Reply),
}

/// The engine's input queue. Single-threaded (an `Rc`), so it needs none of
/// `futures::channel::mpsc`'s atomics and linked queue: a `Vec` and the run loop's waker.
/// When the run loop ends it is closed: queued inputs are dropped and later ones handed back.
#[derive(Clone, Default)]
pub struct Inbox(Rc<RefCell<Queue>>);

#[derive(Default)]
struct Queue {
    inputs: Vec<Input>,
    waker: Option<Waker>,
    closed: bool,
}

impl Inbox {
    /// Queues `input` for the run loop (wakes it), or hands it back once the loop ended.
    pub fn send(&self, input: Input) -> Result<(), Input> {
        let waker = {
            let mut queue = self.0.borrow_mut();
            if queue.closed {
                return Err(input);
            }
            queue.inputs.push(input);
            queue.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// The next input, in arrival order (the queue stays short: the loop drains it).
    pub(super) async fn next(&self) -> Input {
        poll_fn(|cx| {
            let mut queue = self.0.borrow_mut();
            if queue.inputs.is_empty() {
                queue.waker = Some(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(queue.inputs.remove(0))
            }
        })
        .await
    }

    /// Refuses further inputs and hands back the queued ones.
    pub(super) fn close(&self) -> Vec<Input> {
        let mut queue = self.0.borrow_mut();
        queue.closed = true;
        std::mem::take(&mut queue.inputs)
    }
}

/// The end of a leave: the audio graph is closed (when the session owns it), then the promise
/// resolves.
pub(super) fn left(graph: &RefCell<AudioGraph>, owns_graph: bool, done: Reply) {
    if owns_graph {
        graph.borrow_mut().close();
    }
    done.resolve(&JsValue::UNDEFINED);
}

/// The promise of a JS call the engine answers (connect, publish): its resolve and reject
/// functions, called by the engine directly (no channel and no future per call). Dropped
/// unanswered — the session ended first — it rejects with `sfu/closed`.
pub struct Reply(Option<(Function, Function)>);

impl Reply {
    /// A new pending promise and the reply that settles it.
    pub fn new() -> (Promise, Reply) {
        let mut slot = None;
        let promise = Promise::new(&mut |resolve, reject| slot = Some((resolve, reject)));
        (promise, Reply(slot))
    }

    /// Resolves the promise with `value`.
    pub fn resolve(mut self, value: &JsValue) {
        if let Some((resolve, _)) = self.0.take() {
            let _ = resolve.call1(&JsValue::UNDEFINED, value);
        }
    }

    /// Rejects the promise with `error` (a JS `Error` with its `code`).
    pub fn reject(mut self, error: SfuError) {
        self.reject_with(error);
    }

    fn reject_with(&mut self, error: SfuError) {
        if let Some((_, reject)) = self.0.take() {
            let _ = reject.call1(&JsValue::UNDEFINED, &error.into());
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        self.reject_with(SfuError::Closed);
    }
}
