//! The per-socket inbound frame limit (issue 13 §1), with `governor`'s GCRA limiters: a
//! socket may send `frames_per_sec` frames a second with bursts of `frame_burst`. A frame
//! over the rate is discarded, and the first of each run of discarded frames earns the
//! sender a voice:error `rate-limited`; every discarded frame also spends one of
//! `excess_frames` strikes (refilled at a tenth of the frame rate), and a socket out of
//! strikes is closed with 1008. So the sender of the excess is the one throttled and then
//! dropped, never the receiver.

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::limits::Limits;

/// What to do with one inbound frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Handle it.
    Allow,
    /// Discard it; `notify` for the first of a run (send voice:error rate-limited once).
    Discard { notify: bool },
    /// Discard it and close the socket (1008).
    Close,
}

/// One socket's inbound limiter.
pub struct FrameLimiter {
    frames: DefaultDirectRateLimiter,
    strikes: DefaultDirectRateLimiter,
    in_excess: bool,
    frames_per_sec: u32,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl FrameLimiter {
    pub fn new(limits: &Limits) -> Self {
        let frames = Quota::per_second(nonzero(limits.frames_per_sec))
            .allow_burst(nonzero(limits.frame_burst));
        let strikes = Quota::per_second(nonzero(limits.frames_per_sec / 10))
            .allow_burst(nonzero(limits.excess_frames));
        FrameLimiter {
            frames: RateLimiter::direct(frames),
            strikes: RateLimiter::direct(strikes),
            in_excess: false,
            frames_per_sec: limits.frames_per_sec,
        }
    }

    /// The configured sustained rate (for the voice:error text).
    pub fn frames_per_sec(&self) -> u32 {
        self.frames_per_sec
    }

    /// Accounts for one inbound frame.
    pub fn check(&mut self) -> Verdict {
        if self.frames.check().is_ok() {
            self.in_excess = false;
            return Verdict::Allow;
        }
        if self.strikes.check().is_err() {
            return Verdict::Close;
        }
        let notify = !self.in_excess;
        self.in_excess = true;
        Verdict::Discard { notify }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(frames_per_sec: u32, frame_burst: u32, excess_frames: u32) -> Limits {
        Limits {
            frames_per_sec,
            frame_burst,
            excess_frames,
            ..Limits::default()
        }
    }

    #[test]
    fn a_burst_passes_then_excess_is_discarded_then_the_socket_is_closed() {
        let mut limiter = FrameLimiter::new(&limits(1, 5, 3));
        for _ in 0..5 {
            assert_eq!(limiter.check(), Verdict::Allow);
        }
        assert_eq!(limiter.check(), Verdict::Discard { notify: true });
        assert_eq!(limiter.check(), Verdict::Discard { notify: false });
        assert_eq!(limiter.check(), Verdict::Discard { notify: false });
        assert_eq!(limiter.check(), Verdict::Close);
    }
}
