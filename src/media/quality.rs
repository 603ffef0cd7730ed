//! Pure connection-quality classifier (compat-spec §4 "quality"): per-peer inputs (the peer
//! connection's state and the inbound-audio `packetsLost` / `packetsReceived` counters, or a
//! stats error) → [`Quality`] with the original thresholds (loss < 0.02 good, < 0.05 medium,
//! else poor), the original overall rule, and a [`QualityTracker`] that reports only changes
//! (pitfall P6: the original fired the callback from every poll of every peer).
//!
//! Two ways to get a loss rate:
//! - [`LossCounters::cumulative_rate`] — lost / received since the connection started, exactly
//!   as the original client computed it. It reacts ever more slowly as a call gets longer.
//! - [`LossDeltas`] — the loss over the last poll interval (the delta between two polls of the
//!   same peer). **Callers should use this one**: it reflects the network now, recovers when
//!   the network does, and falls back to the cumulative rate on a peer's first poll or when
//!   the counters restart (new receiver after renegotiation).

use crate::vec_map::VecMap;

/// Loss rate below which a peer is good.
pub const GOOD_LOSS: f64 = 0.02;
/// Loss rate below which a peer is medium (at or above: poor).
pub const MEDIUM_LOSS: f64 = 0.05;

/// Connection quality as the app's `onConnectionQuality` callback receives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    Good,
    Medium,
    Poor,
}

impl Quality {
    /// `"good"`, `"medium"` or `"poor"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Good => "good",
            Quality::Medium => "medium",
            Quality::Poor => "poor",
        }
    }
}

/// `RTCPeerConnection.connectionState`, parsed from its string form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

impl PeerState {
    /// Parses a `connectionState` string; anything unknown counts as `Failed` (poor), the
    /// original's "any other state".
    pub fn parse(s: &str) -> Self {
        match s {
            "new" => PeerState::New,
            "connecting" => PeerState::Connecting,
            "connected" => PeerState::Connected,
            "disconnected" => PeerState::Disconnected,
            "closed" => PeerState::Closed,
            _ => PeerState::Failed,
        }
    }
}

/// Cumulative inbound-audio counters of one peer (`RTCInboundRtpStreamStats`).
/// `packets_lost` is signed because RTCP may report negative loss (duplicates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LossCounters {
    pub packets_lost: i64,
    pub packets_received: u64,
}

impl LossCounters {
    /// lost / received since the start (the original formula); negative loss counts as 0.
    /// `None` when no packet has been counted at all (no data yet).
    pub fn cumulative_rate(&self) -> Option<f64> {
        rate(
            self.packets_lost.max(0) as f64,
            self.packets_received as f64,
        )
    }
}

fn rate(lost: f64, received: f64) -> Option<f64> {
    if lost <= 0.0 && received <= 0.0 {
        return None;
    }
    if received <= 0.0 {
        return Some(1.0);
    }
    Some(lost / received)
}

/// What the stats poll produced for one peer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatsSample {
    /// A loss rate (from [`LossCounters::cumulative_rate`] or [`LossDeltas::observe`]);
    /// `None` when there was no inbound audio to measure.
    Loss(Option<f64>),
    /// `getStats()` failed.
    Error,
}

/// Classifies a loss rate: < 0.02 good, < 0.05 medium, otherwise (or not a number) poor.
pub fn classify_loss(rate: f64) -> Quality {
    if rate < GOOD_LOSS {
        Quality::Good
    } else if rate < MEDIUM_LOSS {
        Quality::Medium
    } else {
        Quality::Poor
    }
}

/// One peer's quality. Connected: by loss rate (a stats error or no audio measured yet →
/// medium). New or connecting → medium. Disconnected, failed, closed → poor.
pub fn classify_peer(state: PeerState, stats: StatsSample) -> Quality {
    match state {
        PeerState::Connected => match stats {
            StatsSample::Loss(Some(r)) => classify_loss(r),
            StatsSample::Loss(None) | StatsSample::Error => Quality::Medium,
        },
        PeerState::New | PeerState::Connecting => Quality::Medium,
        PeerState::Disconnected | PeerState::Failed | PeerState::Closed => Quality::Poor,
    }
}

/// The call's overall quality: poor if any peer is poor or fewer than half are good; else
/// medium if any is medium; else good. No peers → good.
pub fn overall<I: IntoIterator<Item = Quality>>(peers: I) -> Quality {
    let (mut total, mut good, mut medium, mut poor) = (0usize, 0usize, 0usize, 0usize);
    for q in peers {
        total += 1;
        match q {
            Quality::Good => good += 1,
            Quality::Medium => medium += 1,
            Quality::Poor => poor += 1,
        }
    }
    if total == 0 {
        Quality::Good
    } else if poor > 0 || good * 2 < total {
        Quality::Poor
    } else if medium > 0 {
        Quality::Medium
    } else {
        Quality::Good
    }
}

/// Remembers each peer's last counters and turns the next poll into the loss over the
/// interval between the two polls.
#[derive(Debug, Clone)]
pub struct LossDeltas<K> {
    last: VecMap<K, LossCounters>,
}

impl<K: Ord> Default for LossDeltas<K> {
    fn default() -> Self {
        Self {
            last: VecMap::new(),
        }
    }
}

impl<K: Ord> LossDeltas<K> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `now` for `peer` and returns the loss rate since its previous poll. On the
    /// first poll, or when `packets_received` went backwards (the counters restarted), it is
    /// the cumulative rate of `now`. `None` when no packet arrived or was lost in the interval.
    pub fn observe(&mut self, peer: K, now: LossCounters) -> Option<f64> {
        let prev = self.last.insert(peer, now);
        match prev {
            Some(p) if now.packets_received >= p.packets_received => {
                let lost = now.packets_lost.saturating_sub(p.packets_lost).max(0) as f64;
                rate(lost, (now.packets_received - p.packets_received) as f64)
            }
            _ => now.cumulative_rate(),
        }
    }

    /// Forgets a peer (it left, or its connection was replaced).
    pub fn forget(&mut self, peer: &K) {
        self.last.remove(peer);
    }

    /// Forgets every peer (leave).
    pub fn clear(&mut self) {
        self.last.clear();
    }

    /// Number of peers remembered.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// True when no peer is remembered.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

/// Remembers the last overall quality reported and lets only changes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QualityTracker {
    last: Option<Quality>,
}

impl QualityTracker {
    /// A tracker that has reported nothing yet: its first update is always reported.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker that assumes `q` was already shown (e.g. the UI's initial 'good').
    pub fn with_initial(q: Quality) -> Self {
        Self { last: Some(q) }
    }

    /// The last value reported, if any.
    pub fn current(&self) -> Option<Quality> {
        self.last
    }

    /// Returns `Some(q)` when `q` differs from the last value reported, else `None`.
    pub fn update(&mut self, q: Quality) -> Option<Quality> {
        if self.last == Some(q) {
            None
        } else {
            self.last = Some(q);
            Some(q)
        }
    }

    /// Forgets the last value (leave), so the next call's first value is reported.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Quality::{Good, Medium, Poor};

    fn counters(lost: i64, received: u64) -> LossCounters {
        LossCounters {
            packets_lost: lost,
            packets_received: received,
        }
    }

    #[test]
    fn loss_thresholds_are_2_and_5_percent() {
        let table = [
            (0.0, Good),
            (0.0199, Good),
            (0.02, Medium),
            (0.0499, Medium),
            (0.05, Poor),
            (0.5, Poor),
            (f64::NAN, Poor),
        ];
        for (rate, want) in table {
            assert_eq!(classify_loss(rate), want, "rate {rate}");
        }
    }

    #[test]
    fn peer_quality_follows_state_then_loss() {
        let loss = |l, r| StatsSample::Loss(counters(l, r).cumulative_rate());
        let table = [
            ("connected", loss(1, 1000), Good),
            ("connected", loss(30, 1000), Medium),
            ("connected", loss(80, 1000), Poor),
            ("connected", loss(-5, 1000), Good),
            ("connected", loss(0, 0), Medium),
            ("connected", loss(3, 0), Poor),
            ("connected", StatsSample::Error, Medium),
            ("new", loss(0, 1000), Medium),
            ("connecting", StatsSample::Error, Medium),
            ("disconnected", loss(0, 1000), Poor),
            ("failed", loss(0, 1000), Poor),
            ("closed", loss(0, 1000), Poor),
            ("bogus", loss(0, 1000), Poor),
        ];
        for (state, stats, want) in table {
            assert_eq!(
                classify_peer(PeerState::parse(state), stats),
                want,
                "{state} {stats:?}"
            );
        }
    }

    #[test]
    fn overall_is_poor_if_any_poor_or_fewer_than_half_good() {
        let table: [(&[Quality], Quality); 8] = [
            (&[], Good),
            (&[Good], Good),
            (&[Good, Good, Good], Good),
            (&[Good, Medium], Medium),
            (&[Good, Medium, Medium], Poor),
            (&[Good, Good, Medium, Medium], Medium),
            (&[Good, Good, Good, Poor], Poor),
            (&[Medium], Poor),
        ];
        for (peers, want) in table {
            assert_eq!(overall(peers.iter().copied()), want, "{peers:?}");
        }
    }

    #[test]
    fn delta_loss_reflects_the_last_interval_not_the_whole_call() {
        let mut d = LossDeltas::new();
        // First poll: cumulative (10 lost / 100 received = poor).
        assert_eq!(d.observe(1u64, counters(10, 100)), Some(0.1));
        // Next 1000 packets arrive clean: delta says good, cumulative would still say medium.
        let now = counters(10, 1100);
        assert_eq!(d.observe(1, now), Some(0.0));
        assert_eq!(classify_loss(now.cumulative_rate().unwrap_or(1.0)), Good);
        // A bad interval after a long clean call: delta sees it, cumulative hides it.
        let now = counters(70, 2100);
        let delta = d.observe(1, now);
        assert_eq!(delta, Some(0.06));
        assert_eq!(classify_loss(delta.unwrap_or(0.0)), Poor);
        assert_eq!(classify_loss(now.cumulative_rate().unwrap_or(1.0)), Medium);
        // Nothing in the interval: no data.
        assert_eq!(d.observe(1, now), None);
    }

    #[test]
    fn delta_falls_back_to_cumulative_when_counters_restart_and_peers_are_separate() {
        let mut d = LossDeltas::new();
        d.observe(7u64, counters(0, 5000));
        assert_eq!(d.observe(7, counters(1, 100)), Some(0.01));
        assert_eq!(d.observe(8, counters(5, 100)), Some(0.05));
        assert_eq!(d.len(), 2);
        d.forget(&7);
        assert_eq!(d.observe(7, counters(2, 200)), Some(0.01));
        d.clear();
        assert!(d.is_empty());
        // Extreme counters do not overflow.
        d.observe(9, counters(i64::MIN, 0));
        assert_eq!(d.observe(9, counters(i64::MAX, 1)), Some(i64::MAX as f64));
    }

    #[test]
    fn tracker_reports_only_changes() {
        let mut t = QualityTracker::new();
        let seq = [Good, Good, Medium, Medium, Medium, Poor, Good, Good];
        let reported: Vec<_> = seq.iter().filter_map(|&q| t.update(q)).collect();
        assert_eq!(reported, vec![Good, Medium, Poor, Good]);
        assert_eq!(t.current(), Some(Good));
        let mut shown = QualityTracker::with_initial(Good);
        assert_eq!(shown.update(Good), None);
        shown.reset();
        assert_eq!(shown.update(Good), Some(Good));
    }

    #[test]
    fn quality_is_shown_as_the_app_strings() {
        for (q, s) in [(Good, "good"), (Medium, "medium"), (Poor, "poor")] {
            assert_eq!(q.as_str(), s);
        }
    }
}
