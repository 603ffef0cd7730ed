//! Pure speaking detection and change gating (pitfalls P7 and P8).
//!
//! [`SpeakingDetector`] turns one participant's audio level (0..1, the analyser's mean
//! frequency byte / 255) at time `now_ms` into a speaking flag with hysteresis and a hold
//! time: it turns on above `on_threshold` (default 0.02, above ambient noise, where the original
//! used 0.01), stays on while the level is at least `off_threshold`, and turns off only
//! `hold_ms` (default 300 ms) after the level last reached `off_threshold`. It has no mute input
//! on purpose: the original gated REMOTE peers by the LOCAL mute state (P8). A muted remote
//! peer sends silence and so stops speaking by itself; for the self entry the caller passes
//! level 0 while the local microphone is muted.
//!
//! [`ChangeGate`] sits between the per-frame analysis loop and the app's participant callback:
//! it lets a snapshot through only when a speaking flag changed, a level moved by more than
//! `level_step`, or a participant appeared or went away — and at most once per
//! `min_interval_ms` (default 100 ms, ≤ 10 Hz), instead of 60 Hz × N (P7).

use crate::vec_map::VecMap;

/// Thresholds and hold time of a [`SpeakingDetector`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpeakingConfig {
    /// Level above which a silent participant starts speaking (default 0.02).
    pub on_threshold: f32,
    /// Level at or above which a speaking participant keeps speaking (default 0.012).
    pub off_threshold: f32,
    /// How long speaking lasts after the level last reached `off_threshold` (default 300 ms).
    pub hold_ms: u64,
}

impl Default for SpeakingConfig {
    fn default() -> Self {
        Self {
            on_threshold: 0.02,
            off_threshold: 0.012,
            hold_ms: 300,
        }
    }
}

/// Clamps a level into 0..=1; anything not a number counts as silence.
pub fn sanitize_level(level: f32) -> f32 {
    if level.is_nan() {
        0.0
    } else {
        level.clamp(0.0, 1.0)
    }
}

/// Speaking state of one participant.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakingDetector {
    cfg: SpeakingConfig,
    speaking: bool,
    last_voice_ms: u64,
}

impl Default for SpeakingDetector {
    fn default() -> Self {
        Self::new(SpeakingConfig::default())
    }
}

impl SpeakingDetector {
    /// A silent detector. An `off_threshold` above `on_threshold` is lowered to it (no
    /// hysteresis rather than an inverted one); thresholds are clamped into 0..=1.
    pub fn new(cfg: SpeakingConfig) -> Self {
        let on = sanitize_level(cfg.on_threshold);
        let off = sanitize_level(cfg.off_threshold).min(on);
        Self {
            cfg: SpeakingConfig {
                on_threshold: on,
                off_threshold: off,
                hold_ms: cfg.hold_ms,
            },
            speaking: false,
            last_voice_ms: 0,
        }
    }

    /// Whether the participant is speaking after the last update.
    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// Feeds one level measured at `now_ms`; returns the speaking flag.
    pub fn update(&mut self, level: f32, now_ms: u64) -> bool {
        let level = sanitize_level(level);
        if level > self.cfg.on_threshold || (self.speaking && level >= self.cfg.off_threshold) {
            self.speaking = true;
            self.last_voice_ms = now_ms;
        } else if self.speaking && now_ms.saturating_sub(self.last_voice_ms) >= self.cfg.hold_ms {
            self.speaking = false;
        }
        self.speaking
    }

    /// Back to silent (the participant's stream was replaced or removed).
    pub fn reset(&mut self) {
        self.speaking = false;
        self.last_voice_ms = 0;
    }
}

/// What the app sees of one participant's audio: the speaking flag and the level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelSnapshot {
    pub speaking: bool,
    pub level: f32,
}

/// Rate limit and significance filter for participant-level notifications.
#[derive(Debug, Clone)]
pub struct ChangeGate<K> {
    min_interval_ms: u64,
    level_step: f32,
    last_emit_ms: Option<u64>,
    emitted: VecMap<K, LevelSnapshot>,
}

impl<K: Ord + Clone> Default for ChangeGate<K> {
    fn default() -> Self {
        Self::new(100, 0.05)
    }
}

impl<K: Ord + Clone> ChangeGate<K> {
    /// At most one emission per `min_interval_ms`; a level counts as changed when it moved
    /// by more than `level_step` from the last emitted value.
    pub fn new(min_interval_ms: u64, level_step: f32) -> Self {
        Self {
            min_interval_ms,
            level_step: sanitize_level(level_step),
            last_emit_ms: None,
            emitted: VecMap::new(),
        }
    }

    fn differs(&self, key: &K, snap: &LevelSnapshot) -> bool {
        match self.emitted.get(key) {
            None => true,
            Some(old) => {
                old.speaking != snap.speaking
                    || (sanitize_level(snap.level) - old.level).abs() > self.level_step
            }
        }
    }

    /// Offers the current snapshot of every participant at `now_ms`. Returns true when the
    /// app should be notified now; the snapshot then becomes the new reference. A change
    /// that arrives too soon is not lost: it is compared again on the next offer and emitted
    /// once the interval has passed, if it still stands.
    pub fn offer<I>(&mut self, now_ms: u64, snapshots: I) -> bool
    where
        I: IntoIterator<Item = (K, LevelSnapshot)>,
    {
        let current: VecMap<K, LevelSnapshot> = snapshots.into_iter().collect();
        let changed =
            current.len() != self.emitted.len() || current.iter().any(|(k, s)| self.differs(k, s));
        if !changed {
            return false;
        }
        let due = match self.last_emit_ms {
            None => true,
            Some(t) => now_ms < t || now_ms - t >= self.min_interval_ms,
        };
        if !due {
            return false;
        }
        self.last_emit_ms = Some(now_ms);
        let mut current = current;
        for s in current.values_mut() {
            s.level = sanitize_level(s.level);
        }
        self.emitted = current;
        true
    }

    /// Marks an emission made for another reason (join, mute, volume) at `now_ms`, so the
    /// gate's interval also covers it. The reference snapshot is unchanged.
    pub fn note_external_emit(&mut self, now_ms: u64) {
        self.last_emit_ms = Some(now_ms);
    }

    /// Forgets everything (leave).
    pub fn reset(&mut self) {
        self.last_emit_ms = None;
        self.emitted.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `(level, t)` pairs and returns the flag after each.
    fn feed(d: &mut SpeakingDetector, seq: &[(f32, u64)]) -> Vec<bool> {
        seq.iter().map(|&(l, t)| d.update(l, t)).collect()
    }

    #[test]
    fn ambient_noise_below_the_on_threshold_is_not_speech() {
        let mut d = SpeakingDetector::default();
        // 0.011..0.019: above the original 0.01 gate, below ours.
        let noise: Vec<(f32, u64)> = (0..120)
            .map(|i| (0.011 + (i % 9) as f32 * 0.001, i * 16))
            .collect();
        assert!(feed(&mut d, &noise).iter().all(|s| !s));
    }

    #[test]
    fn speech_turns_on_at_once_and_holds_300ms_after_falling_silent() {
        let mut d = SpeakingDetector::default();
        let got = feed(
            &mut d,
            &[
                (0.0, 0),
                (0.08, 16),  // speech
                (0.005, 32), // silence starts; hold from 16
                (0.0, 200),
                (0.0, 315),
                (0.0, 316), // 300 ms after the last voiced frame
                (0.0, 400),
            ],
        );
        assert_eq!(got, vec![false, true, true, true, true, false, false]);
    }

    #[test]
    fn levels_between_off_and_on_keep_speech_alive_but_do_not_start_it() {
        let mut d = SpeakingDetector::default();
        // 0.015 is between off (0.012) and on (0.02).
        assert!(!d.update(0.015, 0));
        assert!(d.update(0.05, 100));
        let tail: Vec<(f32, u64)> = (1..=50).map(|i| (0.015, 100 + i * 20)).collect();
        assert!(
            feed(&mut d, &tail).iter().all(|&s| s),
            "soft speech stays on"
        );
        assert!(d.update(0.0, 1100 + 299));
        assert!(!d.update(0.0, 1100 + 300));
    }

    #[test]
    fn short_pauses_between_words_do_not_flicker() {
        let mut d = SpeakingDetector::default();
        // 10 words of 120 ms speech with 150 ms gaps, frames every 16 ms.
        let mut flags = Vec::new();
        for t in (0..2700u64).step_by(16) {
            let voiced = t % 270 < 120;
            flags.push(d.update(if voiced { 0.1 } else { 0.002 }, t));
        }
        let first_on = flags.iter().position(|&s| s).unwrap_or(usize::MAX);
        assert_eq!(first_on, 0);
        assert!(flags.iter().all(|&s| s), "no off flicker inside a sentence");
        let transitions = flags.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(transitions, 0);
    }

    #[test]
    fn bad_levels_and_inverted_config_never_panic() {
        let mut d = SpeakingDetector::new(SpeakingConfig {
            on_threshold: 0.01,
            off_threshold: 0.5,
            hold_ms: 0,
        });
        assert!(!d.update(f32::NAN, 0));
        assert!(d.update(f32::INFINITY, 1));
        assert!(!d.update(-3.0, 2));
        assert!(d.update(0.3, u64::MAX));
        assert!(
            !d.update(0.0, 0),
            "clock going back with hold 0 still ends speech"
        );
        d.reset();
        assert!(!d.is_speaking());
    }

    fn snap(speaking: bool, level: f32) -> LevelSnapshot {
        LevelSnapshot { speaking, level }
    }

    #[test]
    fn gate_emits_only_on_change_and_at_most_every_100ms() {
        let mut g = ChangeGate::default();
        // 60 fps for 2 s with a level wandering by less than the step: one emission.
        let mut emits = 0;
        for i in 0..120u64 {
            let level = 0.30 + (i % 5) as f32 * 0.01;
            if g.offer(i * 16, [(1u64, snap(true, level))]) {
                emits += 1;
            }
        }
        assert_eq!(emits, 1);
        // A speaking change at 60 fps every frame for 1 s: ≤ 10 emissions.
        let mut times = Vec::new();
        for i in 0..60u64 {
            let t = 2000 + i * 16;
            if g.offer(t, [(1u64, snap(i % 2 == 0, 0.3))]) {
                times.push(t);
            }
        }
        assert!(!times.is_empty() && times.len() <= 10, "{times:?}");
        assert!(times.windows(2).all(|w| w[1] - w[0] >= 100));
    }

    #[test]
    fn gate_delivers_a_change_blocked_by_the_rate_limit_later() {
        let mut g = ChangeGate::default();
        assert!(g.offer(0, [(1u64, snap(false, 0.0))]));
        assert!(!g.offer(50, [(1, snap(true, 0.2))]), "too soon");
        assert!(!g.offer(99, [(1, snap(true, 0.2))]));
        assert!(g.offer(100, [(1, snap(true, 0.2))]), "delivered once due");
        // A change that reverts before it is due is never emitted.
        assert!(!g.offer(150, [(1, snap(false, 0.2))]), "too soon");
        assert!(!g.offer(160, [(1, snap(true, 0.2))]), "reverted");
        assert!(
            !g.offer(400, [(1, snap(true, 0.2))]),
            "nothing left to report"
        );
    }

    #[test]
    fn gate_notices_participants_joining_and_leaving() {
        let mut g = ChangeGate::default();
        assert!(g.offer(0, [(1u64, snap(false, 0.0))]));
        assert!(g.offer(200, [(1, snap(false, 0.0)), (2, snap(false, 0.0))]));
        assert!(g.offer(400, [(2, snap(false, 0.0))]));
        assert!(g.offer(600, [(3, snap(false, 0.0))]), "swap at same size");
        assert!(!g.offer(800, [(3, snap(false, 0.04))]), "below the step");
        assert!(g.offer(900, [(3, snap(false, 0.06))]), "above the step");
        g.note_external_emit(1000);
        assert!(!g.offer(1050, [(3, snap(true, 0.06))]));
        assert!(g.offer(1100, [(3, snap(true, 0.06))]));
        g.reset();
        assert!(g.offer(1101, [(3, snap(true, 0.06))]));
    }
}
