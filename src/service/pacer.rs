//! Spacing of our outgoing relay frames (offers, answers, ICE candidates) for the deployed C++
//! server. It takes each read of a socket as exactly one frame and drops whatever else the same
//! read held (compat-spec §2.2d, P2): ICE candidates leave a browser about 1 ms apart, so about
//! half of them used to be lost, and a connection whose useful candidates were among them never
//! connects. Against that server (its voice:participants carries no `mode`) our frames leave at
//! least [`CPP_FRAME_GAP_MS`] apart, in order; against the reference server, at once.
//!
//! [`Pacer`] is the pure rule (time comes in as `now`), tested natively. Frames that must wait
//! queue up behind one timer, which runs exactly while the queue is not empty: each frame
//! leaves when the timer fires, and the next is due one gap after that real send. Spacing is measured from when a frame really left, never from when it
//! was planned to: timers that fire late (a busy main thread) would otherwise fire together and
//! send their frames together, which is exactly what the server loses.

/// The spacing between two of our frames when the server reads one frame per read: well above
/// the time that server needs to take one frame off the socket, and short enough that a join's
/// burst (an answer and a few candidates per peer) is out within a few hundred milliseconds.
pub const CPP_FRAME_GAP_MS: f64 = 20.0;

/// Frames waiting for their turn. With a gap of 0 (the default) frames are not paced.
#[derive(Debug, Clone, PartialEq)]
pub struct Pacer<T> {
    gap_ms: f64,
    /// When the next frame may leave (one gap after the last one left).
    next_at: f64,
    /// Oldest first (a handful of frames at most: a Vec is enough). While it is not empty a
    /// timer is running that calls [`Pacer::fire`].
    queue: Vec<T>,
}

impl<T> Default for Pacer<T> {
    fn default() -> Self {
        Pacer {
            gap_ms: 0.0,
            next_at: f64::NEG_INFINITY,
            queue: Vec::new(),
        }
    }
}

/// What the caller does now: send a frame at once, and/or start a timer that calls
/// [`Pacer::fire`] after `wait_ms`.
#[derive(Debug, PartialEq)]
pub struct Step<T> {
    pub send: Option<T>,
    pub wait_ms: Option<f64>,
}

impl<T> Pacer<T> {
    /// Sets the minimum spacing between frames (0: none; frames already queued still leave
    /// in order).
    pub fn set_gap(&mut self, gap_ms: f64) {
        self.gap_ms = gap_ms.max(0.0);
    }

    /// A frame is ready at `now`.
    pub fn push(&mut self, now: f64, frame: T) -> Step<T> {
        let idle = self.queue.is_empty();
        if idle && now >= self.next_at {
            self.next_at = now + self.gap_ms;
            return Step {
                send: Some(frame),
                wait_ms: None,
            };
        }
        self.queue.push(frame);
        // The first frame to wait starts the timer; later ones wait behind it.
        Step {
            send: None,
            wait_ms: idle.then(|| self.wait(now)),
        }
    }

    /// The timer started by an earlier step fired at `now`: the next frame leaves if its
    /// slot has come (timers may fire a little early), and the timer runs again if more wait.
    pub fn fire(&mut self, now: f64) -> Step<T> {
        let send = if now >= self.next_at && !self.queue.is_empty() {
            self.next_at = now + self.gap_ms;
            Some(self.queue.remove(0))
        } else {
            None
        };
        Step {
            send,
            wait_ms: (!self.queue.is_empty()).then(|| self.wait(now)),
        }
    }

    /// Frames still waiting.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// How long the timer waits for the next frame's turn.
    fn wait(&self, now: f64) -> f64 {
        (self.next_at - now).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// Runs a burst through the pacer with a timer that fires `late_ms` after it was due,
    /// and returns when each frame left.
    fn send_times(gap: f64, ready: &[f64], late_ms: f64) -> Vec<(u32, f64)> {
        let mut pacer = Pacer::default();
        pacer.set_gap(gap);
        let mut sent = Vec::new();
        let mut timer: Option<f64> = None;
        let mut pending: VecDeque<(f64, u32)> = ready.iter().copied().zip(0..).collect();
        loop {
            let next_ready = pending.front().map(|&(at, _)| at);
            let (now, step) = match (next_ready, timer) {
                (Some(r), t) if t.is_none_or(|t| r <= t) => {
                    let (at, id) = pending.pop_front().expect("a frame is ready");
                    (at, pacer.push(at, id))
                }
                (_, Some(t)) => {
                    timer = None;
                    (t, pacer.fire(t))
                }
                _ => break,
            };
            if let Some(id) = step.send {
                sent.push((id, now));
            }
            if let Some(wait) = step.wait_ms {
                timer = Some(now + wait + late_ms);
            }
        }
        sent
    }

    #[test]
    fn without_a_gap_every_frame_leaves_at_once() {
        assert_eq!(
            send_times(0.0, &[0.0, 0.5, 0.5], 0.0),
            vec![(0, 0.0), (1, 0.5), (2, 0.5)]
        );
    }

    #[test]
    fn with_a_gap_a_burst_leaves_in_order_one_gap_apart() {
        // An answer and three candidates within 3 ms: sent 0, 20, 40 and 60 ms after the first.
        assert_eq!(
            send_times(CPP_FRAME_GAP_MS, &[100.0, 101.0, 102.0, 103.0], 0.0),
            vec![(0, 100.0), (1, 120.0), (2, 140.0), (3, 160.0)]
        );
    }

    #[test]
    fn timers_that_fire_late_never_send_two_frames_closer_than_the_gap() {
        // A main thread that delays every timer by 50 ms: the frames come later, but each
        // still leaves a full gap after the one before it.
        let sent = send_times(20.0, &[0.0, 1.0, 2.0, 3.0, 4.0], 50.0);
        assert_eq!(
            sent.iter().map(|s| s.0).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        for pair in sent.windows(2) {
            assert!(pair[1].1 - pair[0].1 >= 20.0, "{sent:?}");
        }
    }

    #[test]
    fn a_frame_after_a_quiet_spell_waits_for_nothing() {
        let mut pacer = Pacer::default();
        pacer.set_gap(20.0);
        assert_eq!(pacer.push(0.0, 'a').send, Some('a'));
        let step = pacer.push(5.0, 'b');
        assert_eq!((step.send, step.wait_ms), (None, Some(15.0)));
        assert_eq!(pacer.fire(20.0).send, Some('b'));
        assert_eq!(
            pacer.push(500.0, 'c').send,
            Some('c'),
            "the gap has long passed"
        );
        assert_eq!(pacer.push(501.0, 'd').wait_ms, Some(19.0));
        assert_eq!(pacer.queued(), 1);
    }

    #[test]
    fn a_timer_that_fires_early_runs_again_and_sends_nothing_yet() {
        let mut pacer = Pacer::default();
        pacer.set_gap(20.0);
        pacer.push(0.0, 1);
        pacer.push(1.0, 2);
        let early = pacer.fire(19.5);
        assert_eq!((early.send, early.wait_ms), (None, Some(0.5)));
        assert_eq!(pacer.fire(20.0).send, Some(2));
    }

    #[test]
    fn pacing_can_be_switched_off_again_and_queued_frames_keep_their_order() {
        let mut pacer = Pacer::default();
        pacer.set_gap(20.0);
        pacer.push(0.0, 1);
        pacer.push(1.0, 2);
        pacer.set_gap(0.0);
        assert_eq!(pacer.push(2.0, 3).send, None, "behind frame 2");
        let step = pacer.fire(20.0);
        assert_eq!((step.send, step.wait_ms), (Some(2), Some(0.0)));
        assert_eq!(pacer.fire(20.0).send, Some(3));
        assert_eq!(pacer.push(21.0, 4).send, Some(4));
    }
}
