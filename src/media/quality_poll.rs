//! `QualityMonitor`: the ONE connection-quality poll loop of a call (compat-spec §4, P6).
//!
//! Every `period_ms` (default 2000 ms) it asks a caller-supplied closure for the current peer
//! connections (`Vec<(user_id, RTCPeerConnection)>`), reads each connection's state and its
//! inbound-rtp AUDIO counters from `getStats()`, turns them into a per-interval loss rate
//! ([`LossDeltas`]; an interval without packets falls back to the call-long rate, so a silent
//! sender is not "medium"), classifies with the pure rules in [`super::quality`], and calls back
//! with the overall [`Quality`] only when it changed ([`QualityTracker`]). A poll still in
//! flight when the next tick fires makes that tick a no-op, so loops never pile up. Dropping
//! the monitor clears the timer, and a poll that finishes afterwards reports nothing.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{RtcPeerConnection, RtcStatsReport};

use super::error::{describe, MediaError};
use super::quality::{
    classify_peer, overall, LossCounters, LossDeltas, PeerState, Quality, QualityTracker,
    StatsSample,
};
use crate::browser::Interval;

/// The original poll period.
pub const QUALITY_POLL_MS: u32 = 2000;

type PeerSource = Box<dyn FnMut() -> Vec<(u64, RtcPeerConnection)>>;
type QualityCallback = Box<dyn FnMut(Quality)>;

/// State shared between the timer and the poll futures.
struct Shared {
    alive: Cell<bool>,
    busy: Cell<bool>,
    peers: RefCell<PeerSource>,
    deltas: RefCell<LossDeltas<u64>>,
    known: RefCell<Vec<u64>>,
    tracker: RefCell<QualityTracker>,
    on_change: RefCell<QualityCallback>,
}

/// The quality poll of one call.
pub struct QualityMonitor {
    timer: Option<Interval>,
    shared: Rc<Shared>,
}

impl QualityMonitor {
    /// Polls every 2 s; the first result is always reported, later ones only on change.
    pub fn start(
        peers: impl FnMut() -> Vec<(u64, RtcPeerConnection)> + 'static,
        on_change: impl FnMut(Quality) + 'static,
    ) -> Result<QualityMonitor, MediaError> {
        QualityMonitor::with_period(QUALITY_POLL_MS, QualityTracker::new(), peers, on_change)
    }

    /// Custom period, and a tracker that may assume a value is already shown
    /// (`QualityTracker::with_initial(Quality::Good)` reports nothing while all stays good).
    pub fn with_period(
        period_ms: u32,
        tracker: QualityTracker,
        peers: impl FnMut() -> Vec<(u64, RtcPeerConnection)> + 'static,
        on_change: impl FnMut(Quality) + 'static,
    ) -> Result<QualityMonitor, MediaError> {
        let shared = Rc::new(Shared {
            alive: Cell::new(true),
            busy: Cell::new(false),
            peers: RefCell::new(Box::new(peers)),
            deltas: RefCell::new(LossDeltas::new()),
            known: RefCell::new(Vec::new()),
            tracker: RefCell::new(tracker),
            on_change: RefCell::new(Box::new(on_change)),
        });
        let tick = Rc::clone(&shared);
        let timer = Interval::new(period_ms, move || spawn_poll(&tick))
            .map_err(|e| MediaError::Dom(describe(&e)))?;
        Ok(QualityMonitor {
            timer: Some(timer),
            shared,
        })
    }

    /// Starts a poll now (e.g. right after a peer connected), unless one is in flight.
    pub fn poll_now(&self) {
        spawn_poll(&self.shared);
    }

    /// The last quality reported, if any.
    pub fn current(&self) -> Option<Quality> {
        self.shared
            .tracker
            .try_borrow()
            .ok()
            .and_then(|t| t.current())
    }

    /// Stops polling; an in-flight poll reports nothing. Idempotent.
    pub fn stop(&mut self) {
        self.shared.alive.set(false);
        self.timer = None;
    }

    /// True until stopped or dropped.
    pub fn is_running(&self) -> bool {
        self.shared.alive.get()
    }
}

impl Drop for QualityMonitor {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_poll(shared: &Rc<Shared>) {
    if !shared.alive.get() || shared.busy.get() {
        return;
    }
    shared.busy.set(true);
    let shared = Rc::clone(shared);
    // One await per poll: the getStats() of every connected peer at once, through
    // Promise.allSettled (which never rejects); everything else is synchronous.
    let (peers, all_stats) = begin_poll(&shared);
    crate::browser::spawn(async move {
        let settled = JsFuture::from(all_stats).await.unwrap_or_default();
        let quality = finish_poll(&shared, &peers, &settled);
        shared.busy.set(false);
        if !shared.alive.get() {
            return;
        }
        let changed = shared
            .tracker
            .try_borrow_mut()
            .ok()
            .and_then(|mut t| t.update(quality));
        if let (Some(q), Ok(mut cb)) = (changed, shared.on_change.try_borrow_mut()) {
            cb(q);
        }
    });
}

/// Reads every peer's state and starts `getStats()` on the connected ones: returns
/// `(id, state)` per peer and a promise of their settled stats, in the same order (a peer that
/// is not connected has `undefined` in its slot).
fn begin_poll(shared: &Shared) -> (Vec<(u64, PeerState)>, js_sys::Promise) {
    let peers = match shared.peers.try_borrow_mut() {
        Ok(mut source) => source(),
        Err(_) => Vec::new(),
    };
    let stats = js_sys::Array::new();
    let states = peers
        .iter()
        .map(|(id, pc)| {
            let state = PeerState::parse(&connection_state(pc));
            let pending = if state == PeerState::Connected {
                pc.get_stats().into()
            } else {
                JsValue::UNDEFINED
            };
            stats.push(&pending);
            (*id, state)
        })
        .collect();
    (states, js_sys::Promise::all_settled(&stats))
}

/// Classifies every peer from its settled stats (`{status, value | reason}` entries of
/// `Promise.allSettled`) and returns the overall quality.
fn finish_poll(shared: &Shared, peers: &[(u64, PeerState)], settled: &JsValue) -> Quality {
    let mut per_peer = Vec::with_capacity(peers.len());
    for (i, (id, state)) in peers.iter().enumerate() {
        let sample = if *state == PeerState::Connected {
            let entry = Reflect::get_u32(settled, i as u32).unwrap_or_default();
            let report = match text(&entry, "status").as_deref() {
                Some("fulfilled") => Reflect::get(&entry, &JsValue::from_str("value")).ok(),
                _ => None,
            };
            match report.as_ref().map(audio_counters) {
                Some(Ok(Some(counters))) => {
                    let delta = match shared.deltas.try_borrow_mut() {
                        Ok(mut d) => d.observe(*id, counters),
                        Err(_) => None,
                    };
                    // No packet in this interval (a silent sender with DTX, a paused
                    // track) says nothing about the network: keep the call-long rate.
                    StatsSample::Loss(delta.or_else(|| counters.cumulative_rate()))
                }
                Some(Ok(None)) => StatsSample::Loss(None),
                _ => StatsSample::Error,
            }
        } else {
            StatsSample::Loss(None)
        };
        per_peer.push(classify_peer(*state, sample));
    }
    // Peers that went away are forgotten, so a returning peer starts a fresh interval.
    let present: Vec<u64> = peers.iter().map(|(id, _)| *id).collect();
    if let (Ok(mut d), Ok(mut known)) = (
        shared.deltas.try_borrow_mut(),
        shared.known.try_borrow_mut(),
    ) {
        for gone in known.iter().filter(|id| !present.contains(id)) {
            d.forget(gone);
        }
        *known = present;
    }
    overall(per_peer)
}

/// `pc.connectionState` as its string form ("connected", ...), "closed" if unreadable.
fn connection_state(pc: &RtcPeerConnection) -> String {
    Reflect::get(pc.as_ref(), &JsValue::from_str("connectionState"))
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| "closed".to_string())
}

/// Sums `packetsLost` / `packetsReceived` over the inbound-rtp audio streams of a `getStats()`
/// result; `Ok(None)` when there is no inbound audio stream yet.
fn audio_counters(report: &JsValue) -> Result<Option<LossCounters>, MediaError> {
    // getStats() resolves with an RTCStatsReport: any object passes (no `instanceof` import).
    if !report.is_object() {
        return Err(MediaError::Stats(
            "getStats() did not return a report".into(),
        ));
    }
    let report: &RtcStatsReport = report.unchecked_ref();
    let mut found = None::<LossCounters>;
    for entry in report.values() {
        let Ok(stat) = entry else { continue };
        if text(&stat, "type").as_deref() != Some("inbound-rtp") {
            continue;
        }
        let kind = text(&stat, "kind").or_else(|| text(&stat, "mediaType"));
        if kind.as_deref() != Some("audio") {
            continue;
        }
        let counters = found.get_or_insert_with(LossCounters::default);
        counters.packets_lost += number(&stat, "packetsLost") as i64;
        counters.packets_received += number(&stat, "packetsReceived").max(0.0) as u64;
    }
    Ok(found)
}

fn text(obj: &JsValue, key: &str) -> Option<String> {
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}

fn number(obj: &JsValue, key: &str) -> f64 {
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_f64())
        .filter(|v| v.is_finite())
        .unwrap_or(0.0)
}
