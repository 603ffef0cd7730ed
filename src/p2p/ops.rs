//! The per-peer signalling operations, run strictly one at a time from a queue: our offers
//! (from `negotiationneeded`, ICE restarts and offer retries), remote offers, answers and
//! ICE candidates. Serialising them is what makes perfect negotiation safe when legacy
//! clients send several offers in a row (P3): no two offers ever interleave their awaits.
//!
//! Remote candidates that arrive before any remote description are queued per peer and
//! flushed once one is set. Every outgoing SDP goes through `sdp::shrink_to_fit` so frames stay
//! under 4096 bytes; one that cannot fit is reported as an error event, never a panic (P2).

use std::rc::Rc;

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

/// Appends `op` to the peer's queue and starts the runner if it is idle.
pub(crate) fn enqueue(inner: &Rc<PeerInner>, op: Op) {
    {
        let mut st = inner.state.borrow_mut();
        if st.closed {
            return;
        }
        st.ops.push_back(op);
        if st.running {
            return;
        }
        st.running = true;
    }
    let inner = inner.clone();
    crate::browser::spawn(async move {
        loop {
            let next = {
                let mut st = inner.state.borrow_mut();
                if st.closed {
                    st.ops.clear();
                }
                let next = st.ops.pop_front();
                st.running = next.is_some();
                next
            };
            match next {
                Some(op) => run(&inner, op).await,
                None => return,
            }
        }
    });
}

fn signaling(inner: &PeerInner) -> Signaling {
    match inner.pc.signaling_state() {
        RtcSignalingState::Stable => Signaling::Stable,
        RtcSignalingState::HaveLocalOffer => Signaling::HaveLocalOffer,
        RtcSignalingState::Closed => Signaling::Closed,
        _ => Signaling::HaveRemoteOffer,
    }
}

async fn run(inner: &Rc<PeerInner>, op: Op) {
    match op {
        Op::Negotiate => make_offer(inner, false).await,
        Op::IceRestart => make_offer(inner, true).await,
        Op::OfferTimeout => offer_timed_out(inner).await,
        Op::RemoteOffer(sdp) => remote_offer(inner, sdp).await,
        Op::RemoteAnswer(sdp) => remote_answer(inner, sdp).await,
        Op::Candidate(candidate) => {
            if inner.pc.remote_description().is_none() {
                inner.state.borrow_mut().pending_candidates.push(candidate);
            } else {
                add_candidate(inner, candidate).await;
            }
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

async fn make_offer(inner: &Rc<PeerInner>, ice_restart: bool) {
    if inner.is_closed() || signaling(inner) != Signaling::Stable {
        return; // the offer guard of the original; negotiationneeded fires again when stable
    }
    inner.state.borrow_mut().making_offer = true;
    let options = RtcOfferOptions::new();
    options.set_ice_restart(ice_restart);
    let result: Result<bool, JsValue> = async {
        let offer = JsFuture::from(inner.pc.create_offer_with_rtc_offer_options(&options)).await?;
        if signaling(inner) != Signaling::Stable {
            return Ok(false); // a remote offer got in first
        }
        let init = description(RtcSdpType::Offer, sdp_of(&offer).as_deref());
        JsFuture::from(inner.pc.set_local_description(&init)).await?;
        Ok(true)
    }
    .await;
    inner.state.borrow_mut().making_offer = false;
    match result {
        Ok(true) => {
            send_local(inner, true);
            arm_offer_timer(inner);
        }
        Ok(false) => {}
        Err(e) if !inner.is_closed() => inner.error(P2pError::Negotiation {
            user_id: inner.settings.remote_id,
            reason: js_text(&e),
        }),
        Err(_) => {}
    }
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

async fn rollback(inner: &PeerInner) {
    inner.state.borrow_mut().offer_timer = None;
    let init = description(RtcSdpType::Rollback, None);
    let _ = JsFuture::from(inner.pc.set_local_description(&init)).await;
}

async fn offer_timed_out(inner: &Rc<PeerInner>) {
    if signaling(inner) != Signaling::HaveLocalOffer {
        return;
    }
    let retries = inner.state.borrow().offer_retries;
    rollback(inner).await;
    match on_offer_timeout(retries) {
        Some(next) => {
            inner.state.borrow_mut().offer_retries = next;
            make_offer(inner, false).await;
        }
        None => inner.error(P2pError::OfferTimeout {
            user_id: inner.settings.remote_id,
        }),
    }
}

async fn remote_offer(inner: &Rc<PeerInner>, sdp: String) {
    let making_offer = inner.state.borrow().making_offer;
    let decision = on_remote_offer(inner.polite, making_offer, signaling(inner));
    inner.state.borrow_mut().ignore_offer = decision == OfferDecision::Ignore;
    match decision {
        OfferDecision::Ignore | OfferDecision::Drop => return,
        OfferDecision::RollbackThenAccept => rollback(inner).await,
        OfferDecision::Accept => {}
    }
    let init = description(RtcSdpType::Offer, Some(&sdp));
    if let Err(e) = JsFuture::from(inner.pc.set_remote_description(&init)).await {
        let healthy = matches!(
            inner.pc.ice_connection_state(),
            RtcIceConnectionState::Connected | RtcIceConnectionState::Completed
        );
        if inner.state.borrow().was_connected && !healthy {
            // The remote rebuilt its connection (new DTLS identity): rebuild ours and replay.
            (inner.rebuild)(inner.settings.remote_id, Some(sdp));
        } else if !inner.is_closed() {
            inner.error(P2pError::BadSdp {
                user_id: inner.settings.remote_id,
                reason: js_text(&e),
            });
        }
        return;
    }
    flush_candidates(inner).await;
    inner.ensure_local_tracks();
    let result: Result<(), JsValue> = async {
        let answer = JsFuture::from(inner.pc.create_answer()).await?;
        let init = description(RtcSdpType::Answer, sdp_of(&answer).as_deref());
        JsFuture::from(inner.pc.set_local_description(&init)).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => send_local(inner, false),
        Err(e) if !inner.is_closed() => inner.error(P2pError::Negotiation {
            user_id: inner.settings.remote_id,
            reason: js_text(&e),
        }),
        Err(_) => {}
    }
}

async fn remote_answer(inner: &Rc<PeerInner>, sdp: String) {
    let user_id = inner.settings.remote_id;
    if !answer_expected(signaling(inner)) {
        inner.error(P2pError::UnexpectedAnswer { user_id });
        return;
    }
    let init = description(RtcSdpType::Answer, Some(&sdp));
    match JsFuture::from(inner.pc.set_remote_description(&init)).await {
        Ok(_) => {
            {
                let mut st = inner.state.borrow_mut();
                st.offer_timer = None;
                st.offer_retries = 0;
            }
            flush_candidates(inner).await;
        }
        Err(e) => inner.error(P2pError::BadSdp {
            user_id,
            reason: js_text(&e),
        }),
    }
}

async fn flush_candidates(inner: &Rc<PeerInner>) {
    let queued = std::mem::take(&mut inner.state.borrow_mut().pending_candidates);
    for candidate in queued {
        add_candidate(inner, candidate).await;
    }
}

async fn add_candidate(inner: &Rc<PeerInner>, candidate: IceCandidate) {
    let init = RtcIceCandidateInit::new(&candidate.candidate);
    init.set_sdp_mid(candidate.sdp_mid.as_deref());
    init.set_sdp_m_line_index(candidate.sdp_m_line_index);
    let added = inner
        .pc
        .add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
    if let Err(e) = JsFuture::from(added).await {
        let ignoring = inner.state.borrow().ignore_offer;
        if !ignoring && !inner.is_closed() {
            inner.error(P2pError::BadCandidate {
                user_id: inner.settings.remote_id,
                reason: js_text(&e),
            });
        }
    }
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
