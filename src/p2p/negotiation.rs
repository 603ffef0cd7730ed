//! The perfect-negotiation decisions of the mesh as pure functions (compat-spec §4, P3–P5).
//!
//! Roles follow the original client exactly so that old and new clients agree: the peer with
//! the lower user id is *polite*. Offers are answered from either side whenever there is no
//! collision, so legacy TypeScript clients (which offer from both ends) interoperate. On glare
//! the impolite side ignores the incoming offer and the polite side rolls its own back. Only the
//! impolite side restarts ICE, so the two ends never restart at once (P4); after
//! [`MAX_ICE_RESTARTS`] real restarts the connection is rebuilt. An unanswered offer is rolled
//! back and re-sent up to [`MAX_OFFER_RETRIES`] times (P5).

use crate::signal::UserId;

/// Real ICE restarts per peer before the connection is rebuilt (P4: the original managed one).
pub const MAX_ICE_RESTARTS: u32 = 3;
/// Re-sent offers after an offer timed out, before giving up on that peer (P5).
pub const MAX_OFFER_RETRIES: u32 = 3;
/// How long an offer may stay unanswered (P5: "about 10 s").
pub const OFFER_TIMEOUT_MS: u32 = 10_000;
/// How long ICE may stay 'disconnected' before a restart (compat-spec §4).
pub const DISCONNECTED_GRACE_MS: u32 = 5_000;
/// How long a new connection may go without reaching ICE 'connected' before it counts as ICE
/// trouble (restart; rebuild after [`MAX_ICE_RESTARTS`]). A loopback call connects in under
/// 0.5 s; a TURN relay over a slow network in a few seconds.
pub const ICE_PROGRESS_MS: u32 = 10_000;

/// `polite = own id < remote id` (compat-spec §4, same rule as the old clients).
pub fn is_polite(own: UserId, remote: UserId) -> bool {
    own < remote
}

/// Who offers first to a remote that may run the old TypeScript client (no `supports_sfu` in
/// its voice:participants / voice:user-joined entry, or a server that does not say): the old
/// schedule of compat-spec §4, so that the old client's own offer always comes first and is
/// answered, and the old client never meets our offer in a glare (its rollback path breaks).
/// Between two new clients (both advertised) the joiner offers at once instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyRole {
    /// We are in the channel and `remote` just joined (voice:user-joined).
    Member,
    /// We just joined; `remote` is entry `index` of voice:participants.
    Joiner { index: u32 },
}

/// How long to wait for the remote's own offer before offering ourselves (old schedule:
/// members 0 ms if polite else 100 ms; joiners (polite ? 200 : 500) + 150 ms per entry).
pub fn legacy_offer_delay_ms(own: UserId, remote: UserId, role: LegacyRole) -> u32 {
    let polite = is_polite(own, remote);
    match role {
        LegacyRole::Member => {
            if polite {
                0
            } else {
                100
            }
        }
        LegacyRole::Joiner { index } => {
            let base = if polite { 200 } else { 500 };
            base + 150 * index.min(1_000)
        }
    }
}

/// The browser's signalling state, reduced to what the decisions need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signaling {
    Stable,
    HaveLocalOffer,
    HaveRemoteOffer,
    Closed,
}

/// What to do with an incoming offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferDecision {
    /// Apply it and answer.
    Accept,
    /// Roll our own outstanding offer back, then apply it and answer (polite side on glare).
    RollbackThenAccept,
    /// Ignore it: we are impolite and our offer wins the glare.
    Ignore,
    /// The connection is closed: nothing to do.
    Drop,
}

/// Perfect negotiation's decision for a remote offer.
pub fn on_remote_offer(polite: bool, making_offer: bool, state: Signaling) -> OfferDecision {
    if state == Signaling::Closed {
        return OfferDecision::Drop;
    }
    let collision = making_offer || state != Signaling::Stable;
    match (collision, polite, state) {
        (false, _, _) => OfferDecision::Accept,
        (true, false, _) => OfferDecision::Ignore,
        (true, true, Signaling::HaveLocalOffer) => OfferDecision::RollbackThenAccept,
        (true, true, _) => OfferDecision::Accept,
    }
}

/// Whether a remote answer can be applied (only while our offer is outstanding).
pub fn answer_expected(state: Signaling) -> bool {
    state == Signaling::HaveLocalOffer
}

/// What to do about a connection whose ICE is unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestartDecision {
    /// Wait one more grace period ([`DISCONNECTED_GRACE_MS`]) for the other side's restart.
    LeaveToRemote,
    /// Restart ICE (an offer with iceRestart).
    Restart,
    /// Restarts did not help: close this connection and build a fresh one.
    Rebuild,
}

/// ICE stayed 'disconnected' past the grace period, went 'failed', or a restart did not
/// connect within [`ICE_PROGRESS_MS`] (`restarts` = turns taken since the connection was last
/// healthy, the remote's included). The impolite side restarts at every turn. The polite side
/// leaves the first turn to the remote and takes the next itself, so a remote that vanished
/// without voice:leave (and restarts nothing) is still restarted, then rebuilt, in bounded time.
pub fn on_ice_trouble(polite: bool, restarts: u32) -> RestartDecision {
    if restarts >= MAX_ICE_RESTARTS {
        RestartDecision::Rebuild
    } else if polite && restarts % 2 == 0 {
        RestartDecision::LeaveToRemote
    } else {
        RestartDecision::Restart
    }
}

/// How long after each ICE-trouble decision the watchdog looks again (a peer that is then still
/// not connected is in trouble once more).
pub fn next_ice_check_ms(decision: RestartDecision) -> Option<u32> {
    match decision {
        RestartDecision::LeaveToRemote => Some(DISCONNECTED_GRACE_MS),
        RestartDecision::Restart => Some(ICE_PROGRESS_MS),
        RestartDecision::Rebuild => None,
    }
}

/// Our offer went unanswered: `Some(next retry number)` to re-offer, `None` to give up.
pub fn on_offer_timeout(retries_done: u32) -> Option<u32> {
    (retries_done < MAX_OFFER_RETRIES).then_some(retries_done + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Signaling::*;

    #[test]
    fn lower_id_is_polite_on_both_ends() {
        assert!(is_polite(3, 7));
        assert!(!is_polite(7, 3));
    }

    #[test]
    fn offers_without_collision_are_answered_from_either_side() {
        assert_eq!(on_remote_offer(true, false, Stable), OfferDecision::Accept);
        assert_eq!(on_remote_offer(false, false, Stable), OfferDecision::Accept);
    }

    #[test]
    fn glare_is_won_by_the_impolite_side() {
        assert_eq!(on_remote_offer(false, true, Stable), OfferDecision::Ignore);
        assert_eq!(
            on_remote_offer(false, false, HaveLocalOffer),
            OfferDecision::Ignore
        );
        assert_eq!(
            on_remote_offer(true, false, HaveLocalOffer),
            OfferDecision::RollbackThenAccept
        );
        assert_eq!(on_remote_offer(true, true, Stable), OfferDecision::Accept);
        assert_eq!(on_remote_offer(true, false, Closed), OfferDecision::Drop);
    }

    #[test]
    fn answers_only_apply_to_an_outstanding_offer() {
        assert!(answer_expected(HaveLocalOffer));
        assert!(!answer_expected(Stable));
        assert!(!answer_expected(HaveRemoteOffer));
    }

    /// The longest a connection stays unhealthy before it is rebuilt, counted from ICE going
    /// `disconnected` (for a new connection: add [`ICE_PROGRESS_MS`] − [`DISCONNECTED_GRACE_MS`]).
    fn rebuild_bound_ms(polite: bool) -> u32 {
        let mut total = DISCONNECTED_GRACE_MS;
        let mut restarts = 0;
        loop {
            let decision = on_ice_trouble(polite, restarts);
            match next_ice_check_ms(decision) {
                Some(ms) => total += ms,
                None => return total,
            }
            restarts += 1;
        }
    }

    #[test]
    fn the_impolite_side_restarts_first_the_polite_one_every_other_turn_and_three_mean_rebuild() {
        use RestartDecision::*;
        let turns = |polite| {
            (0..4)
                .map(|r| on_ice_trouble(polite, r))
                .collect::<Vec<_>>()
        };
        assert_eq!(turns(false), [Restart, Restart, Restart, Rebuild]);
        assert_eq!(
            turns(true),
            [LeaveToRemote, Restart, LeaveToRemote, Rebuild]
        );
    }

    #[test]
    fn a_peer_that_stays_unhealthy_is_rebuilt_within_the_documented_bound() {
        // docs/ARCHITECTURE.md: 35 s (impolite) / 25 s (polite) after ICE went disconnected.
        assert_eq!(rebuild_bound_ms(false), 35_000);
        assert_eq!(rebuild_bound_ms(true), 25_000);
        assert_eq!(next_ice_check_ms(RestartDecision::Rebuild), None);
    }

    #[test]
    fn with_a_possibly_old_client_the_member_offers_first_and_the_joiner_on_the_old_schedule() {
        use LegacyRole::*;
        assert_eq!(legacy_offer_delay_ms(3, 7, Member), 0);
        assert_eq!(legacy_offer_delay_ms(7, 3, Member), 100);
        assert_eq!(legacy_offer_delay_ms(3, 7, Joiner { index: 0 }), 200);
        assert_eq!(legacy_offer_delay_ms(7, 3, Joiner { index: 0 }), 500);
        assert_eq!(legacy_offer_delay_ms(7, 3, Joiner { index: 2 }), 800);
        // Whatever the roles, the member's offer is due before the joiner's.
        for (a, b) in [(3, 7), (7, 3)] {
            assert!(
                legacy_offer_delay_ms(a, b, Member)
                    < legacy_offer_delay_ms(b, a, Joiner { index: 0 })
            );
        }
    }

    #[test]
    fn unanswered_offers_are_retried_then_given_up() {
        assert_eq!(on_offer_timeout(0), Some(1));
        assert_eq!(on_offer_timeout(2), Some(3));
        assert_eq!(on_offer_timeout(3), None);
    }
}
