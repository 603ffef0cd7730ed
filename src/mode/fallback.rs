//! When a voice routed to a new transport has stalled there: the rule behind the mesh as a
//! per-voice fallback. During a gradual or opportunistic switch, and while the old transport
//! is kept for its grace period afterwards, the service measures every voice on the new
//! transport; a voice routed there that stays silent for [`FALLBACK_AFTER_MS`] while it is not
//! silent everywhere (heard on the old transport, or not arrived on the new one) goes back to
//! the old one until it is heard on the new one (`Switch::cross`). So an SFU copy that stalls,
//! or a voice that crossed while quiet before its new copy played, is not heard as silence
//! while the mesh is still there. The mesh still closes when its grace period ends: each side
//! of a mesh connection closes on its own clock, so keeping ours longer would not keep the
//! other side's. Pure.

use crate::signal::messages::UserId;

/// How long a voice must be silent on the SFU (and not silent everywhere) before it plays from
/// the mesh again. Longer than the lead the mesh copy has at the start of each sentence (the
/// SFU adds a hop), so speech onsets never flip a voice.
pub const FALLBACK_AFTER_MS: u64 = 300;

/// Since when each voice routed to the transport being measured (the SFU after a switch up,
/// either one during a gradual switch) has been silent there while not silent everywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Stalls(Vec<(UserId, u64)>);

impl Stalls {
    /// Of `candidates` (voices routed to the measured transport), those silent there and not
    /// silent everywhere for [`FALLBACK_AFTER_MS`] by `now`; the others' clocks run on, or
    /// restart once they are heard there or silent everywhere.
    pub(super) fn expired(
        &mut self,
        flowing: &[UserId],
        quiet: &[UserId],
        candidates: impl Iterator<Item = UserId>,
        now: u64,
    ) -> Vec<UserId> {
        let before = std::mem::take(&mut self.0);
        let mut expired = Vec::new();
        for user_id in candidates {
            if flowing.contains(&user_id) || quiet.contains(&user_id) {
                continue;
            }
            let since = before
                .iter()
                .find(|(u, _)| *u == user_id)
                .map_or(now, |(_, since)| *since);
            if now.saturating_sub(since) >= FALLBACK_AFTER_MS {
                expired.push(user_id);
            } else {
                self.0.push((user_id, since));
            }
        }
        expired
    }
}
