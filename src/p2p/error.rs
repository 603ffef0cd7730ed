//! Typed errors of the P2P layer. Every variant has a stable machine-readable [`P2pError::code`]
//! that reaches JavaScript as `error.code`; the message is for people. Malformed signalling
//! from a peer (an answer for an unknown peer, bad SDP, a candidate before any offer, a frame
//! for another channel) becomes one of these as an error *event*: the call goes on.

use crate::signal::{ChannelId, UserId};

/// Everything that can go wrong in the mesh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum P2pError {
    /// An answer or ICE candidate arrived from a user we have no peer connection with.
    #[error("{kind} from user {user_id}, who has no peer connection")]
    UnknownPeer { user_id: UserId, kind: &'static str },
    /// An answer arrived while we had no offer outstanding to that user.
    #[error("answer from user {user_id} while no offer was outstanding")]
    UnexpectedAnswer { user_id: UserId },
    /// The browser refused a remote session description.
    #[error("bad session description from user {user_id}: {reason}")]
    BadSdp { user_id: UserId, reason: String },
    /// The browser refused a remote ICE candidate.
    #[error("bad ICE candidate from user {user_id}: {reason}")]
    BadCandidate { user_id: UserId, reason: String },
    /// A relayed frame named a channel other than the current call's.
    #[error("signalling from user {user_id} for channel {channel_id}, not the current call")]
    WrongChannel {
        user_id: UserId,
        channel_id: ChannelId,
    },
    /// A relayed frame was addressed to someone else.
    #[error("signalling from user {user_id} addressed to user {target}, not to us")]
    WrongTarget { user_id: UserId, target: UserId },
    /// A frame stayed above the server's 4096-byte limit even after trimming the SDP.
    #[error("signalling frame for user {user_id} is {size} bytes, over the 4096-byte limit")]
    FrameTooLarge { user_id: UserId, size: usize },
    /// The browser could not create a peer connection.
    #[error("could not create a peer connection: {0}")]
    PeerConnection(String),
    /// createOffer / createAnswer / setLocalDescription failed.
    #[error("negotiation with user {user_id} failed: {reason}")]
    Negotiation { user_id: UserId, reason: String },
    /// Our offer went unanswered for too long, every retry included (P5).
    #[error("user {user_id} never answered our offer")]
    OfferTimeout { user_id: UserId },
    /// ICE failed and the restarts did not help; the peer connection is being rebuilt (P4).
    #[error("ICE with user {user_id} failed after {restarts} restarts; rebuilding the connection")]
    IceFailed { user_id: UserId, restarts: u32 },
}

impl crate::error::JsErrorCode for P2pError {
    fn code(&self) -> &'static str {
        match self {
            P2pError::UnknownPeer { .. } => "p2p/unknown-peer",
            P2pError::UnexpectedAnswer { .. } => "p2p/unexpected-answer",
            P2pError::BadSdp { .. } => "p2p/bad-sdp",
            P2pError::BadCandidate { .. } => "p2p/bad-candidate",
            P2pError::WrongChannel { .. } => "p2p/wrong-channel",
            P2pError::WrongTarget { .. } => "p2p/wrong-target",
            P2pError::FrameTooLarge { .. } => "p2p/frame-too-large",
            P2pError::PeerConnection(_) => "p2p/peer-connection",
            P2pError::Negotiation { .. } => "p2p/negotiation",
            P2pError::OfferTimeout { .. } => "p2p/offer-timeout",
            P2pError::IceFailed { .. } => "p2p/ice-failed",
        }
    }
}

impl P2pError {
    /// The remote user the error is about, when there is one.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            P2pError::UnknownPeer { user_id, .. }
            | P2pError::UnexpectedAnswer { user_id }
            | P2pError::BadSdp { user_id, .. }
            | P2pError::BadCandidate { user_id, .. }
            | P2pError::WrongChannel { user_id, .. }
            | P2pError::WrongTarget { user_id, .. }
            | P2pError::FrameTooLarge { user_id, .. }
            | P2pError::Negotiation { user_id, .. }
            | P2pError::OfferTimeout { user_id }
            | P2pError::IceFailed { user_id, .. } => Some(*user_id),
            P2pError::PeerConnection(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::JsErrorCode;

    #[test]
    fn every_variant_has_a_distinct_p2p_code() {
        let all = [
            P2pError::UnknownPeer {
                user_id: 1,
                kind: "answer",
            },
            P2pError::UnexpectedAnswer { user_id: 1 },
            P2pError::BadSdp {
                user_id: 1,
                reason: "x".into(),
            },
            P2pError::BadCandidate {
                user_id: 1,
                reason: "x".into(),
            },
            P2pError::WrongChannel {
                user_id: 1,
                channel_id: 2,
            },
            P2pError::WrongTarget {
                user_id: 1,
                target: 3,
            },
            P2pError::FrameTooLarge {
                user_id: 1,
                size: 5000,
            },
            P2pError::PeerConnection("x".into()),
            P2pError::Negotiation {
                user_id: 1,
                reason: "x".into(),
            },
            P2pError::OfferTimeout { user_id: 1 },
            P2pError::IceFailed {
                user_id: 1,
                restarts: 3,
            },
        ];
        let mut codes: Vec<_> = all.iter().map(JsErrorCode::code).collect();
        assert!(codes.iter().all(|c| c.starts_with("p2p/")));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn messages_name_the_remote_user() {
        let e = P2pError::UnknownPeer {
            user_id: 42,
            kind: "answer",
        };
        assert_eq!(e.user_id(), Some(42));
        assert!(e.to_string().contains("42"));
        assert_eq!(P2pError::PeerConnection("no".into()).user_id(), None);
    }
}
