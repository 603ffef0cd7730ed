//! Pure reconnect back-off policy for the signalling socket (and anything else that retries):
//! an exponential schedule with a cap, an optional attempt limit (after which it gives up) and
//! optional deterministic jitter from a seeded generator (no `rand`, no clock). Presets:
//! [`Backoff::signalling`] (250 ms first retry, doubling to an 8 s cap, never gives up — far
//! better than a fixed 2 s first wait) and [`Backoff::legacy`] (1, 2, 4, 8, 16 s then stop — the
//! old `websocket-service.ts` schedule, compat-spec 2.1). Hosts own the timers; this only says
//! how long to wait.

/// A pluggable retry schedule (design.md "Lessons" 7).
pub trait BackoffPolicy {
    /// The wait before the next attempt, or `None` to give up. Each call counts one attempt.
    fn next_delay_ms(&mut self) -> Option<u32>;
    /// Back to the first step (call after a successful connection).
    fn reset(&mut self);
}

/// Exponential back-off: attempt `n` (from 0) waits `min(max_ms, initial_ms · factor^n)`,
/// then jitter (if any) takes off up to `jitter_percent` % of that, so the cap always holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial_ms: u32,
    max_ms: u32,
    factor: u32,
    max_attempts: Option<u32>,
    jitter_percent: u8,
    seed: u64,
    rng: u64,
    attempt: u32,
}

impl Backoff {
    /// A doubling schedule from `initial_ms` capped at `max_ms`, unlimited attempts, no
    /// jitter. `initial_ms` is raised to at least 1 and `max_ms` to at least `initial_ms`.
    pub fn exponential(initial_ms: u32, max_ms: u32) -> Self {
        let initial_ms = initial_ms.max(1);
        Self {
            initial_ms,
            max_ms: max_ms.max(initial_ms),
            factor: 2,
            max_attempts: None,
            jitter_percent: 0,
            seed: 0,
            rng: 0,
            attempt: 0,
        }
    }

    /// Signalling reconnect: 250, 500, 1000, 2000, 4000, 8000, 8000, … ms, never gives up.
    pub fn signalling() -> Self {
        Self::exponential(250, 8_000)
    }

    /// The old client's schedule: 1, 2, 4, 8, 16 s, then gives up.
    pub fn legacy() -> Self {
        Self::exponential(1_000, 16_000).with_max_attempts(Some(5))
    }

    /// Growth factor per attempt (at least 1; 1 gives a constant delay).
    pub fn with_factor(mut self, factor: u32) -> Self {
        self.factor = factor.max(1);
        self
    }

    /// Give up after this many attempts (`None`: never give up).
    pub fn with_max_attempts(mut self, max_attempts: Option<u32>) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Deterministic jitter: each delay is reduced by a pseudo-random share of up to
    /// `percent` % (clamped to 100), drawn from a generator seeded with `seed` — e.g. a user
    /// id, so that many clients dropped together do not retry in lockstep. The generator keeps
    /// running across [`BackoffPolicy::reset`]; the same seed and call sequence always give the
    /// same delays.
    pub fn with_jitter(mut self, percent: u8, seed: u64) -> Self {
        self.jitter_percent = percent.min(100);
        self.seed = seed;
        self.rng = seed;
        self
    }

    /// Attempts counted since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// True once the attempt limit is used up.
    pub fn is_exhausted(&self) -> bool {
        matches!(self.max_attempts, Some(max) if self.attempt >= max)
    }

    /// The un-jittered delay of attempt `n` (0-based), saturating at the cap.
    pub fn base_delay_ms(&self, n: u32) -> u32 {
        let mut delay = u64::from(self.initial_ms);
        for _ in 0..n {
            delay = delay.saturating_mul(u64::from(self.factor));
            if delay >= u64::from(self.max_ms) {
                return self.max_ms;
            }
        }
        // `delay` ≤ max_ms here, which fits in u32.
        u32::try_from(delay).unwrap_or(self.max_ms).min(self.max_ms)
    }

    /// splitmix64: a tiny, well-mixed deterministic generator.
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn jittered(&mut self, delay: u32) -> u32 {
        if self.jitter_percent == 0 {
            return delay;
        }
        let span = u64::from(delay) * u64::from(self.jitter_percent) / 100;
        if span == 0 {
            return delay;
        }
        let cut = self.next_random() % (span + 1);
        // cut ≤ span ≤ delay, so this cannot underflow.
        delay - u32::try_from(cut).unwrap_or(0)
    }
}

impl BackoffPolicy for Backoff {
    fn next_delay_ms(&mut self) -> Option<u32> {
        if self.is_exhausted() {
            return None;
        }
        let base = self.base_delay_ms(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        Some(self.jittered(base))
    }

    fn reset(&mut self) {
        self.attempt = 0;
    }
}

impl Backoff {
    /// Same as [`BackoffPolicy::next_delay_ms`], callable without importing the trait.
    pub fn next_delay_ms(&mut self) -> Option<u32> {
        BackoffPolicy::next_delay_ms(self)
    }

    /// Same as [`BackoffPolicy::reset`], callable without importing the trait.
    pub fn reset(&mut self) {
        BackoffPolicy::reset(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(b: &mut Backoff, n: usize) -> Vec<Option<u32>> {
        (0..n).map(|_| b.next_delay_ms()).collect()
    }

    #[test]
    fn signalling_retries_fast_first_then_doubles_to_an_8s_cap_forever() {
        let mut b = Backoff::signalling();
        let got = take(&mut b, 9);
        let want = [250, 500, 1000, 2000, 4000, 8000, 8000, 8000, 8000];
        assert_eq!(got, want.iter().map(|&d| Some(d)).collect::<Vec<_>>());
        for _ in 0..10_000 {
            assert_eq!(b.next_delay_ms(), Some(8000));
        }
        assert!(!b.is_exhausted());
    }

    #[test]
    fn legacy_waits_1_2_4_8_16_seconds_then_gives_up() {
        let mut b = Backoff::legacy();
        let got = take(&mut b, 7);
        let want = [
            Some(1000),
            Some(2000),
            Some(4000),
            Some(8000),
            Some(16000),
            None,
            None,
        ];
        assert_eq!(got, want);
        assert!(b.is_exhausted());
        assert_eq!(b.attempts(), 5);
    }

    #[test]
    fn reset_after_a_successful_connection_starts_over() {
        let mut b = Backoff::legacy();
        take(&mut b, 6);
        b.reset();
        assert_eq!(b.attempts(), 0);
        assert_eq!(b.next_delay_ms(), Some(1000));
    }

    #[test]
    fn jitter_is_deterministic_per_seed_within_bounds_and_differs_between_seeds() {
        let run = |seed| take(&mut Backoff::signalling().with_jitter(30, seed), 20);
        let a = run(7);
        assert_eq!(a, run(7));
        assert_ne!(a, run(8));
        let plain = take(&mut Backoff::signalling(), 20);
        for (j, p) in a.iter().zip(&plain) {
            let (j, p) = (j.unwrap_or(0), p.unwrap_or(0));
            assert!(j <= p && j >= p - p * 30 / 100, "{j} vs {p}");
        }
        assert!(a.iter().zip(&plain).any(|(j, p)| j != p));
    }

    #[test]
    fn huge_factor_and_many_attempts_saturate_at_the_cap() {
        let mut b = Backoff::exponential(0, 0).with_factor(u32::MAX);
        assert_eq!(take(&mut b, 3), vec![Some(1), Some(1), Some(1)]);
        let mut b = Backoff::exponential(3, u32::MAX).with_factor(1000);
        assert_eq!(b.base_delay_ms(100), u32::MAX);
        assert_eq!(b.base_delay_ms(1), 3000);
        let mut full = Backoff::exponential(u32::MAX, 1).with_jitter(100, 1);
        for _ in 0..100 {
            assert!(full.next_delay_ms().is_some());
        }
        b.reset();
        assert_eq!(b.next_delay_ms(), Some(3));
    }

    #[test]
    fn constant_schedule_with_factor_one_and_zero_attempts_gives_up_at_once() {
        let mut b = Backoff::exponential(500, 10_000).with_factor(1);
        assert_eq!(take(&mut b, 3), vec![Some(500); 3]);
        let mut none = Backoff::signalling().with_max_attempts(Some(0));
        assert_eq!(none.next_delay_ms(), None);
    }
}
