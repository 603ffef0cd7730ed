//! The per-peer signalling operations, run strictly one at a time from a queue: our offers
//! (from `negotiationneeded`, ICE restarts and offer retries), remote offers, answers and
//! ICE candidates. Serialising them is what makes perfect negotiation safe when legacy
//! clients send several offers in a row (P3): no two offers ever interleave their awaits.
//!
//! Remote candidates that arrive before any remote description are queued per peer and
//! flushed once one is set. Every outgoing SDP goes through `sdp::shrink_to_fit` so frames stay
//! under 4096 bytes; one that cannot fit is reported as an error event, never a panic (P2).
//!
//! Every step of an operation is a plain function that either finishes or returns the browser
//! promise it waits for together with a [`Then`] saying where it continues ([`start`] and
//! [`resume`]). The queue runner awaits those promises in one place.

use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcIceCandidateInit, RtcIceConnectionState, RtcOfferOptions, RtcSdpType,
    RtcSessionDescriptionInit, RtcSignalingState,
};

use super::error::P2pError;
use super::mesh::MeshEvent;
use super::negotiation::{
    answer_expected, on_offer_timeout, on_remote_offer, OfferDecision, Signaling,
};
use super::peer::PeerInner;
use super::sdp::shrink_to_fit;
use crate::browser::Timeout;
use crate::error::describe_js as js_text;
use crate::signal::{
    encode, Answer, CodecError, IceCandidate, Message, Offer, SessionDescription, MAX_FRAME_BYTES,
};

/// One queued signalling operation for a peer.
#[derive(Debug, Clone)]
pub enum Op {
    /// `negotiationneeded`: make and send an offer if the connection is stable.
    Negotiate,
    /// Make and send an ICE-restart offer.
    IceRestart,
    /// Our offer timer fired: roll back and retry, or give up (P5).
    OfferTimeout,
    /// A remote offer's SDP.
    RemoteOffer(String),
    /// A remote answer's SDP.
    RemoteAnswer(String),
    /// A remote ICE candidate.
    Candidate(IceCandidate),
}

/// Where an operation continues once the promise it waits for has settled.
enum Then {
    /// `createOffer` settled: set it as the local description.
    OfferCreated,
    /// Our offer is the local description: send it and arm the answer timer.
    OfferSet,
    /// Our unanswered offer was rolled back: retry (with the retries counted before) or give up.
    TimedOutRolledBack { retries: u32 },
    /// Our offer was rolled back for a remote offer (polite side on glare): apply that one.
    RolledBackFor(String),
    /// A remote offer was applied (or refused; the SDP is replayed on a rebuilt connection).
    RemoteOfferSet(String),
    /// `createAnswer` settled: set it as the local description.
    AnswerCreated,
    /// Our answer is the local description: send it.
    AnswerSet,
    /// A remote answer was applied (or refused).
    RemoteAnswerSet,
    /// A remote candidate was added (or refused); `rest` follow, then the answer if `answer`.
    CandidateAdded {
        rest: std::vec::IntoIter<IceCandidate>,
        answer: bool,
    },
}

/// The promise an operation waits for and where it continues, or `None`: it is finished.
type Next = Option<(Promise, Then)>;

/// Appends `op` to the peer's queue and starts the runner if it is idle.
pub(crate) fn enqueue(inner: &Rc<PeerInner>, op: Op) {
    {
        let mut st = inner.state.borrow_mut();
        if st.closed {
            return;
        }
        st.ops.push(op);
        if st.running {
            return;
        }
        st.running = true;
    }
    crate::browser::spawn(run_queue(inner.clone()));
}

/// Runs queued operations until the queue is empty: the only `await` of the P2P layer's
/// negotiation.
async fn run_queue(inner: Rc<PeerInner>) {
    while let Some(op) = next_op(&inner) {
        let mut next = start(&inner, op);
        while let Some((promise, then)) = next {
            let settled = JsFuture::from(promise).await;
            next = resume(&inner, then, settled);
        }
    }
}

/// The next queued operation; marks the runner idle when there is none.
fn next_op(inner: &PeerInner) -> Option<Op> {
    let mut st = inner.state.borrow_mut();
    if st.closed {
        st.ops.clear();
    }
    let next = (!st.ops.is_empty()).then(|| st.ops.remove(0));
    st.running = next.is_some();
    next
}

fn signaling(inner: &PeerInner) -> Signaling {
    match inner.pc.signaling_state() {
        RtcSignalingState::Stable => Signaling::Stable,
        RtcSignalingState::HaveLocalOffer => Signaling::HaveLocalOffer,
        RtcSignalingState::Closed => Signaling::Closed,
        _ => Signaling::HaveRemoteOffer,
    }
}

/// The first step of `op`.
fn start(inner: &Rc<PeerInner>, op: Op) -> Next {
    match op {
        Op::Negotiate => make_offer(inner, false),
        Op::IceRestart => make_offer(inner, true),
        Op::OfferTimeout => {
            if signaling(inner) != Signaling::HaveLocalOffer {
                return None;
            }
            let retries = inner.state.borrow().offer_retries;
            Some((rollback(inner), Then::TimedOutRolledBack { retries }))
        }
        Op::RemoteOffer(sdp) => {
            let making_offer = inner.state.borrow().making_offer;
            let decision = on_remote_offer(inner.polite, making_offer, signaling(inner));
            inner.state.borrow_mut().ignore_offer = decision == OfferDecision::Ignore;
            match decision {
                OfferDecision::Ignore | OfferDecision::Drop => None,
                OfferDecision::RollbackThenAccept => {
                    Some((rollback(inner), Then::RolledBackFor(sdp)))
                }
                OfferDecision::Accept => apply_remote_offer(inner, sdp),
            }
        }
        Op::RemoteAnswer(sdp) => {
            if !answer_expected(signaling(inner)) {
                inner.error(P2pError::UnexpectedAnswer {
                    user_id: inner.settings.remote_id,
                });
                return None;
            }
            let init = description(RtcSdpType::Answer, Some(&sdp));
            Some((
                inner.pc.set_remote_description(&init),
                Then::RemoteAnswerSet,
            ))
        }
        Op::Candidate(candidate) => {
            if inner.pc.remote_description().is_none() {
                inner.state.borrow_mut().pending_candidates.push(candidate);
                return None;
            }
            add_candidates(inner, vec![candidate], false)
        }
    }
}

/// The step after `then`, given how its promise settled.
fn resume(inner: &Rc<PeerInner>, then: Then, settled: Result<JsValue, JsValue>) -> Next {
    let user_id = inner.settings.remote_id;
    match then {
        Then::OfferCreated => match settled {
            Ok(_) if signaling(inner) != Signaling::Stable => {
                inner.state.borrow_mut().making_offer = false;
                None // a remote offer got in first
            }
            Ok(offer) => {
                let init = description(RtcSdpType::Offer, sdp_of(&offer).as_deref());
                Some((inner.pc.set_local_description(&init), Then::OfferSet))
            }
            Err(e) => offer_failed(inner, e),
        },
        Then::OfferSet => match settled {
            Ok(_) => {
                inner.state.borrow_mut().making_offer = false;
                send_local(inner, true);
                arm_offer_timer(inner);
                None
            }
            Err(e) => offer_failed(inner, e),
        },
        Then::TimedOutRolledBack { retries } => match on_offer_timeout(retries) {
            Some(next) => {
                inner.state.borrow_mut().offer_retries = next;
                make_offer(inner, false)
            }
            None => {
                inner.error(P2pError::OfferTimeout { user_id });
                None
            }
        },
        Then::RolledBackFor(sdp) => apply_remote_offer(inner, sdp),
        Then::RemoteOfferSet(sdp) => match settled {
            Ok(_) => {
                let queued = std::mem::take(&mut inner.state.borrow_mut().pending_candidates);
                add_candidates(inner, queued, true)
            }
            Err(e) => {
                let healthy = matches!(
                    inner.pc.ice_connection_state(),
                    RtcIceConnectionState::Connected | RtcIceConnectionState::Completed
                );
                if inner.state.borrow().was_connected && !healthy {
                    // The remote rebuilt its connection (new DTLS identity): rebuild ours and
                    // replay its offer there.
                    (inner.rebuild)(user_id, Some(sdp));
                } else if !inner.is_closed() {
                    inner.error(P2pError::BadSdp {
                        user_id,
                        reason: js_text(&e),
                    });
                }
                None
            }
        },
        Then::AnswerCreated => match settled {
            Ok(answer) => {
                let init = description(RtcSdpType::Answer, sdp_of(&answer).as_deref());
                Some((inner.pc.set_local_description(&init), Then::AnswerSet))
            }
            Err(e) => negotiation_failed(inner, e),
        },
        Then::AnswerSet => match settled {
            Ok(_) => {
                send_local(inner, false);
                None
            }
            Err(e) => negotiation_failed(inner, e),
        },
        Then::RemoteAnswerSet => match settled {
            Ok(_) => {
                let queued = {
                    let mut st = inner.state.borrow_mut();
                    st.offer_timer = None;
                    st.offer_retries = 0;
                    std::mem::take(&mut st.pending_candidates)
                };
                add_candidates(inner, queued, false)
            }
            Err(e) => {
                inner.error(P2pError::BadSdp {
                    user_id,
                    reason: js_text(&e),
                });
                None
            }
        },
        Then::CandidateAdded { rest, answer } => {
            if let Err(e) = settled {
                let ignoring = inner.state.borrow().ignore_offer;
                if !ignoring && !inner.is_closed() {
                    inner.error(P2pError::BadCandidate {
                        user_id,
                        reason: js_text(&e),
                    });
                }
            }
            next_candidate(inner, rest, answer)
        }
    }
}

fn description(kind: RtcSdpType, sdp: Option<&str>) -> RtcSessionDescriptionInit {
    let init = RtcSessionDescriptionInit::new(kind);
    if let Some(sdp) = sdp {
        init.set_sdp(sdp);
    }
    init
}

fn sdp_of(value: &JsValue) -> Option<String> {
    js_sys::Reflect::get(value, &JsValue::from_str("sdp"))
        .ok()
        .and_then(|v| v.as_string())
}

/// Starts our offer (an ICE-restart offer with `ice_restart`) when the connection is stable.
fn make_offer(inner: &PeerInner, ice_restart: bool) -> Next {
    if inner.is_closed() || signaling(inner) != Signaling::Stable {
        return None; // the offer guard of the original; negotiationneeded fires again when stable
    }
    inner.state.borrow_mut().making_offer = true;
    let options = RtcOfferOptions::new();
    options.set_ice_restart(ice_restart);
    let offer = inner.pc.create_offer_with_rtc_offer_options(&options);
    Some((offer, Then::OfferCreated))
}

/// createOffer or setLocalDescription(offer) failed.
fn offer_failed(inner: &PeerInner, e: JsValue) -> Next {
    inner.state.borrow_mut().making_offer = false;
    negotiation_failed(inner, e)
}

fn negotiation_failed(inner: &PeerInner, e: JsValue) -> Next {
    if !inner.is_closed() {
        inner.error(P2pError::Negotiation {
            user_id: inner.settings.remote_id,
            reason: js_text(&e),
        });
    }
    None
}

fn arm_offer_timer(inner: &Rc<PeerInner>) {
    let weak = Rc::downgrade(inner);
    let timer = Timeout::new(inner.settings.offer_timeout_ms, move || {
        if let Some(inner) = weak.upgrade() {
            enqueue(&inner, Op::OfferTimeout);
        }
    })
    .ok();
    inner.state.borrow_mut().offer_timer = timer;
}

/// Rolls our local offer back (its result is not checked: a failed rollback shows up as the
/// next step's failure).
fn rollback(inner: &PeerInner) -> Promise {
    inner.state.borrow_mut().offer_timer = None;
    let init = description(RtcSdpType::Rollback, None);
    inner.pc.set_local_description(&init)
}

fn apply_remote_offer(inner: &PeerInner, sdp: String) -> Next {
    let init = description(RtcSdpType::Offer, Some(&sdp));
    let applied = inner.pc.set_remote_description(&init);
    Some((applied, Then::RemoteOfferSet(sdp)))
}

/// Adds remote candidates one after the other; then, with `answer`, answers the remote offer.
fn add_candidates(inner: &PeerInner, queued: Vec<IceCandidate>, answer: bool) -> Next {
    next_candidate(inner, queued.into_iter(), answer)
}

fn next_candidate(
    inner: &PeerInner,
    mut rest: std::vec::IntoIter<IceCandidate>,
    answer: bool,
) -> Next {
    if let Some(candidate) = rest.next() {
        let init = RtcIceCandidateInit::new(&candidate.candidate);
        init.set_sdp_mid(candidate.sdp_mid.as_deref());
        init.set_sdp_m_line_index(candidate.sdp_m_line_index);
        let added = inner
            .pc
            .add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
        return Some((added, Then::CandidateAdded { rest, answer }));
    }
    if !answer {
        return None;
    }
    inner.ensure_local_tracks();
    Some((inner.pc.create_answer(), Then::AnswerCreated))
}

/// Sends the current local description as voice:offer / voice:answer, trimmed to fit.
fn send_local(inner: &PeerInner, is_offer: bool) {
    let Some(local) = inner.pc.local_description() else {
        return;
    };
    let s = &inner.settings;
    let make = |sdp: &str| {
        let kind = if is_offer { "offer" } else { "answer" };
        let desc = SessionDescription {
            kind: kind.to_string(),
            sdp: sdp.to_string(),
        };
        let (channel_id, target_user_id, from_user_id) = (s.channel_id, s.remote_id, s.own_id);
        if is_offer {
            Message::Offer(Offer {
                channel_id,
                target_user_id,
                from_user_id,
                offer: desc,
            })
        } else {
            Message::Answer(Answer {
                channel_id,
                target_user_id,
                from_user_id,
                answer: desc,
            })
        }
    };
    let full = local.sdp();
    let size_of = |sdp: &str| encode(&make(sdp)).map_or(usize::MAX, |text| text.len());
    match shrink_to_fit(&full, MAX_FRAME_BYTES, size_of) {
        Some(sdp) => inner.emit(MeshEvent::Signal(make(&sdp))),
        None => inner.error(P2pError::FrameTooLarge {
            user_id: s.remote_id,
            size: match encode(&make(&full)) {
                Ok(text) => text.len(),
                Err(CodecError::FrameTooLarge { size, .. }) => size,
                Err(_) => 0,
            },
        }),
    }
}
