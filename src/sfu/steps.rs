//! The SFU engine's asynchronous steps. A handler returns the step it leaves ([`Then`]);
//! `Engine::begin` starts it and returns the browser promise it waits for with its
//! continuation ([`Cont`]); the run loop awaits that promise and `Engine::resume` carries on
//! synchronously, until a step needs no further promise. So the engine holds one small state
//! machine (the run loop) instead of one nested future per step.

use js_sys::Promise;
use wasm_bindgen::JsValue;
use web_sys::RtcSdpType;

use super::error::SfuError;
use super::proto::ReconnectReason;
use super::session::Engine;
use super::transport::PeerTransport;

/// The asynchronous step a handler leaves to do last. Handlers are synchronous and return
/// it; the run loop carries it out in one place (`Engine::run`).
pub(super) enum Then {
    Nothing,
    /// The first join (`false`) or a full rejoin (`true`).
    Join(bool),
    /// Resume (first attempt of an outage) or schedule a rejoin.
    Recover(ReconnectReason),
    /// A publisher offer when `run` (ICE restart or not), then the end of an outage
    /// (`recovered` mode), if any.
    Negotiate {
        run: bool,
        ice_restart: bool,
        recovered: Option<&'static str>,
    },
    /// Answer a server offer (sdp, offer id) on the subscriber PC (dual-PC only: in single-PC
    /// mode the client is always the offerer).
    #[cfg(feature = "sfu-client")]
    AnswerOffer(String, u32),
    /// Apply the server's answer to our publisher offer.
    AcceptAnswer(String),
    /// A remote ICE candidate (to the subscriber PC?, candidate JSON).
    Candidate(bool, String),
}

/// What continues a step once the browser promise it started settles. Every asynchronous
/// step is a chain of such promises driven by the run loop with a single await, so the wasm holds
/// one tiny state machine and plain synchronous code instead of one nested future per step.
pub(super) enum Cont {
    /// The publisher's `createOffer` for `Purpose`: set it as local description next.
    OfferCreated(Purpose),
    /// Our offer (sdp) is the local description: use it for `Purpose`.
    OfferSet(Purpose, String),
    /// The server's offer is the subscriber's remote description: create the answer (id).
    #[cfg(feature = "sfu-client")]
    OfferApplied(u32),
    /// The subscriber's answer was created: set it as local description.
    #[cfg(feature = "sfu-client")]
    AnswerCreated(u32),
    /// The subscriber's answer (sdp) is the local description: send it, flush candidates.
    #[cfg(feature = "sfu-client")]
    AnswerSet(u32, String),
    /// The server's answer is the publisher's remote description: flush candidates.
    AnswerApplied,
    /// Buffered candidates were applied (on the subscriber PC?).
    Flushed(bool),
    /// A remote candidate was added.
    Candidate,
}

/// What a publisher offer is for.
#[derive(Clone, Copy)]
pub(super) enum Purpose {
    /// The single-PC join request (a rejoin?).
    Join(bool),
    /// The single-PC resume request.
    Resume(ReconnectReason),
    /// A renegotiation, then the end of an outage (mode) if any.
    Publish(Option<&'static str>),
}

/// A browser promise in flight and the step that continues with its outcome.
pub(super) type Pending = Option<(Promise, Cont)>;

impl Engine {
    /// Begins a step: finishes it synchronously, or hands back the browser promise to wait
    /// for and what continues after it (by reference: the step's strings are dropped once,
    /// by the run loop).
    pub(super) fn begin(&mut self, then: &Then) -> Pending {
        match *then {
            Then::Nothing => None,
            Then::Join(rejoin) => {
                if rejoin {
                    self.prepare_rejoin();
                }
                self.open_join(rejoin)
            }
            Then::Recover(reason) => self.begin_recovery(reason),
            Then::Negotiate {
                run,
                ice_restart,
                recovered,
            } => {
                let offer = if run {
                    self.negotiate(ice_restart, recovered)
                } else {
                    None
                };
                if offer.is_none() {
                    self.recovered(recovered);
                }
                offer
            }
            #[cfg(feature = "sfu-client")]
            Then::AnswerOffer(ref sdp, id) => {
                let sub = self.subscriber.as_ref()?;
                let applied = sub.set_remote(RtcSdpType::Offer, sdp);
                Some((applied, Cont::OfferApplied(id)))
            }
            Then::AcceptAnswer(ref sdp) => match &self.publisher {
                // Ignored unless an offer of ours awaits its answer.
                Some(publisher) if publisher.has_local_offer() => {
                    let applied = publisher.set_remote(RtcSdpType::Answer, sdp);
                    Some((applied, Cont::AnswerApplied))
                }
                _ => self.after_answer(),
            },
            Then::Candidate(to_subscriber, ref json) => {
                let pc = if to_subscriber {
                    self.subscriber.as_mut()
                } else {
                    self.publisher.as_mut()
                }?;
                match pc.add_remote_candidate(json) {
                    Ok(added) => added.map(|p| (p, Cont::Candidate)),
                    Err(e) => {
                        self.emitter.error(e);
                        None
                    }
                }
            }
        }
    }

    /// Continues a step with the outcome of the promise it waited for.
    pub(super) fn resume(&mut self, cont: &Cont, outcome: Result<JsValue, SfuError>) -> Pending {
        match *cont {
            Cont::OfferCreated(purpose) => match (outcome, &self.publisher) {
                (Ok(offer), Some(publisher)) => {
                    let (set, sdp) = publisher.set_local(&offer);
                    Some((set, Cont::OfferSet(purpose, sdp)))
                }
                (outcome, _) => {
                    let error = outcome.err().unwrap_or(SfuError::NotConnected);
                    self.offer_failed(purpose, error)
                }
            },
            Cont::OfferSet(purpose, ref sdp) => match outcome {
                Ok(_) => self.offer_ready(purpose, sdp),
                Err(e) => self.offer_failed(purpose, e),
            },
            #[cfg(feature = "sfu-client")]
            Cont::OfferApplied(id) => match (outcome, &self.subscriber) {
                (Ok(_), Some(sub)) => Some((sub.create_answer(), Cont::AnswerCreated(id))),
                (outcome, _) => self.answered(outcome.map(|_| None)),
            },
            #[cfg(feature = "sfu-client")]
            Cont::AnswerCreated(id) => match (outcome, &self.subscriber) {
                (Ok(answer), Some(sub)) => {
                    let (set, sdp) = sub.set_local(&answer);
                    Some((set, Cont::AnswerSet(id, sdp)))
                }
                (outcome, _) => self.answered(outcome.map(|_| None)),
            },
            #[cfg(feature = "sfu-client")]
            Cont::AnswerSet(id, ref sdp) => {
                self.answered(outcome.map(|_| Some((sdp.as_str(), id))))
            }
            Cont::AnswerApplied => match outcome {
                Ok(_) => self.flush(false),
                Err(e) => {
                    self.emitter.error(e);
                    self.after_answer()
                }
            },
            Cont::Flushed(true) => {
                self.retry_pending_tracks();
                None
            }
            Cont::Flushed(false) => self.after_answer(),
            Cont::Candidate => {
                if let Err(e) = outcome {
                    self.emitter.error(e);
                }
                None
            }
        }
    }

    /// The end of answering a server offer: send the answer (sdp, id) or report the error,
    /// then apply the buffered candidates (after the answer, so it is not delayed).
    #[cfg(feature = "sfu-client")]
    fn answered(&mut self, answer: Result<Option<(&str, u32)>, SfuError>) -> Pending {
        match answer {
            Ok(Some((sdp, id))) => self.send(&super::proto::session_description("answer", sdp, id)),
            Ok(None) => {}
            Err(e) => self.emitter.error(e),
        }
        self.flush(true)
    }

    /// Applies the candidates buffered on one PC, then `Cont::Flushed`.
    fn flush(&mut self, subscriber: bool) -> Pending {
        let pc = if subscriber {
            self.subscriber.as_mut()
        } else {
            self.publisher.as_mut()
        };
        match pc.and_then(PeerTransport::flush_candidates) {
            Some(all) => Some((all, Cont::Flushed(subscriber))),
            None => self.resume(&Cont::Flushed(subscriber), Ok(JsValue::UNDEFINED)),
        }
    }

    /// After the server's answer: retry unresolved tracks, then the offer that was asked for
    /// while this one was in flight (or the ICE restart the join's ICE servers need).
    fn after_answer(&mut self) -> Pending {
        self.retry_pending_tracks();
        if self.renegotiate || self.pending_ice_restart {
            let restart = std::mem::take(&mut self.pending_ice_restart);
            return self.negotiate(restart, None);
        }
        None
    }
}
