//! Spacing of our outgoing relay frames (offers, answers, ICE candidates) for the deployed C++
//! server. It takes each read of a socket as exactly one frame and drops whatever else the same
//! read held (compat-spec §2.2d, P2): ICE candidates leave a browser about 1 ms apart, so about
//! half of them used to be lost, and a connection whose useful candidates were among them never
//! connects. Against that server (its voice:participants carries no `mode`) our frames leave at
//! least [`CPP_FRAME_GAP_MS`] apart, in order; against the reference server, at once.
//!
//! [`PaceClock`] is the pure rule (time comes in as `now`), tested natively: it hands each frame
//! its slot, and the service sends the frame from a timer at that slot. Timers with later
//! deadlines fire later, so frames keep their order.

/// The spacing between two of our frames when the server reads one frame per read: well above
/// the time that server needs to take one frame off the socket, and short enough that a join's
/// burst (an answer and a few candidates per peer) is out within a few hundred milliseconds.
pub const CPP_FRAME_GAP_MS: f64 = 20.0;

/// The next free slot for a frame. With a gap of 0 (the default) frames are not paced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PaceClock {
    gap_ms: f64,
    next_at: f64,
}

impl PaceClock {
    /// Sets the minimum spacing between frames (0: none).
    pub fn set_gap(&mut self, gap_ms: f64) {
        self.gap_ms = gap_ms.max(0.0);
    }

    /// A frame is ready at `now`: `None` to send it at once (no pacing), or how many ms to wait
    /// for its slot (possibly 0: then still after the frames given earlier slots).
    pub fn slot(&mut self, now: f64) -> Option<f64> {
        if self.gap_ms <= 0.0 {
            return None;
        }
        let at = now.max(self.next_at);
        self.next_at = at + self.gap_ms;
        Some(at - now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_gap_every_frame_leaves_at_once() {
        let mut clock = PaceClock::default();
        assert_eq!(clock.slot(0.0), None);
        assert_eq!(clock.slot(0.5), None);
    }

    #[test]
    fn with_a_gap_a_burst_leaves_in_order_one_gap_apart() {
        let mut clock = PaceClock::default();
        clock.set_gap(CPP_FRAME_GAP_MS);
        // An answer and three candidates within 3 ms: slots 0, 20, 40 and 60 ms after the first.
        let sent_at: Vec<f64> = [100.0, 101.0, 102.0, 103.0]
            .iter()
            .map(|&now| now + clock.slot(now).unwrap_or(f64::NAN))
            .collect();
        assert_eq!(sent_at, vec![100.0, 120.0, 140.0, 160.0]);
    }

    #[test]
    fn a_frame_after_a_quiet_spell_waits_for_nothing() {
        let mut clock = PaceClock::default();
        clock.set_gap(20.0);
        assert_eq!(clock.slot(0.0), Some(0.0));
        assert_eq!(clock.slot(5.0), Some(15.0));
        assert_eq!(clock.slot(500.0), Some(0.0), "the gap has long passed");
        assert_eq!(clock.slot(501.0), Some(19.0));
    }

    #[test]
    fn pacing_can_be_switched_off_again() {
        let mut clock = PaceClock::default();
        clock.set_gap(20.0);
        clock.slot(0.0);
        clock.set_gap(0.0);
        assert_eq!(clock.slot(1.0), None);
    }
}
