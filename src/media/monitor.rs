//! `LevelMonitor`: the ONE level/speaking timer of a call.
//!
//! Every `period_ms` (default 50 ms; `setInterval`, not `requestAnimationFrame`, so it keeps
//! working in background tabs) it reads the per-participant levels (normally
//! [`AudioGraph::levels`]), runs each through the pure [`SpeakingDetector`] (threshold,
//! hysteresis, hold time), and offers the snapshot to the pure [`ChangeGate`]. The callback
//! receives `Vec<(user_id, speaking, level)>` (sorted by user id) only when something changed,
//! at most every 100 ms (≤ 10 Hz) — instead of the original 60 Hz × N re-renders (P7).
//! Dropping the monitor (or [`LevelMonitor::stop`]) clears the timer and frees its closure.

use crate::vec_map::VecMap;
use std::cell::RefCell;
use std::rc::Rc;

use super::error::{describe, MediaError};
use super::graph::AudioGraph;
use super::speaking::{ChangeGate, LevelSnapshot, SpeakingConfig, SpeakingDetector};
use crate::browser::{now_ms, Interval};

/// One entry of a level report: `(user_id, speaking, level 0..=1)`.
pub type LevelEntry = (u64, bool, f32);

/// Timing and thresholds of a [`LevelMonitor`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LevelMonitorConfig {
    /// How often the levels are sampled (default 50 ms).
    pub period_ms: u32,
    /// Minimum time between two callbacks (default 100 ms, i.e. ≤ 10 Hz).
    pub min_interval_ms: u64,
    /// A level change smaller than this is not reported on its own (default 0.05).
    pub level_step: f32,
    /// Speaking thresholds and hold time.
    pub speaking: SpeakingConfig,
}

impl Default for LevelMonitorConfig {
    fn default() -> Self {
        LevelMonitorConfig {
            period_ms: 50,
            min_interval_ms: 100,
            level_step: 0.05,
            speaking: SpeakingConfig::default(),
        }
    }
}

type LevelSource = Box<dyn FnMut() -> Vec<(u64, f32)>>;
type LevelCallback = Box<dyn FnMut(Vec<LevelEntry>)>;

/// Detector state shared with the timer closure.
struct State {
    cfg: LevelMonitorConfig,
    source: LevelSource,
    detectors: VecMap<u64, SpeakingDetector>,
    gate: ChangeGate<u64>,
}

impl State {
    /// One sample: returns the report to deliver, if the gate lets one through.
    fn sample(&mut self, now: u64) -> Option<Vec<LevelEntry>> {
        let levels = (self.source)();
        self.detectors
            .retain(|id, _| levels.iter().any(|(user, _)| user == id));
        let mut report: Vec<LevelEntry> = levels
            .into_iter()
            .map(|(id, level)| {
                let speaking_cfg = self.cfg.speaking;
                let detector = self
                    .detectors
                    .get_or_insert_with(id, || SpeakingDetector::new(speaking_cfg));
                (id, detector.update(level, now), level)
            })
            .collect();
        sort_by_id(&mut report);
        let snapshots = report.iter().map(|(id, speaking, level)| {
            (
                *id,
                LevelSnapshot {
                    speaking: *speaking,
                    level: *level,
                },
            )
        });
        self.gate.offer(now, snapshots).then_some(report)
    }
}

/// Stable insertion sort by user id (a report holds a handful of entries, usually sorted
/// already: [`AudioGraph::levels`] is).
fn sort_by_id(report: &mut [LevelEntry]) {
    for i in 1..report.len() {
        let mut j = i;
        while j > 0 && report[j - 1].0 > report[j].0 {
            report.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The level/speaking timer of one call.
pub struct LevelMonitor {
    timer: Option<Interval>,
    state: Rc<RefCell<State>>,
}

impl LevelMonitor {
    /// Samples `levels` with the default config and calls `on_change` on changes (≤ 10 Hz).
    pub fn start(
        levels: impl FnMut() -> Vec<(u64, f32)> + 'static,
        on_change: impl FnMut(Vec<LevelEntry>) + 'static,
    ) -> Result<LevelMonitor, MediaError> {
        LevelMonitor::with_config(LevelMonitorConfig::default(), levels, on_change)
    }

    /// Monitors a shared audio graph. A graph that is busy (borrowed) during a tick is
    /// skipped for that tick, never a panic; a closed graph reports nobody.
    pub fn for_graph(
        graph: Rc<RefCell<AudioGraph>>,
        on_change: impl FnMut(Vec<LevelEntry>) + 'static,
    ) -> Result<LevelMonitor, MediaError> {
        let mut last = Vec::new();
        LevelMonitor::start(
            move || {
                if let Ok(g) = graph.try_borrow() {
                    last = if g.is_closed() {
                        Vec::new()
                    } else {
                        g.levels()
                    };
                }
                last.clone()
            },
            on_change,
        )
    }

    /// Full control over timing and thresholds.
    pub fn with_config(
        cfg: LevelMonitorConfig,
        levels: impl FnMut() -> Vec<(u64, f32)> + 'static,
        on_change: impl FnMut(Vec<LevelEntry>) + 'static,
    ) -> Result<LevelMonitor, MediaError> {
        let state = Rc::new(RefCell::new(State {
            cfg,
            source: Box::new(levels),
            detectors: VecMap::new(),
            gate: ChangeGate::new(cfg.min_interval_ms, cfg.level_step),
        }));
        let callback: Rc<RefCell<LevelCallback>> = Rc::new(RefCell::new(Box::new(on_change)));
        let tick_state = Rc::clone(&state);
        let timer = Interval::new(cfg.period_ms, move || {
            let now = now_ms().max(0.0) as u64;
            // The state borrow ends before the callback runs, so the callback may do anything.
            let report = match tick_state.try_borrow_mut() {
                Ok(mut s) => s.sample(now),
                Err(_) => None,
            };
            if let (Some(report), Ok(mut cb)) = (report, callback.try_borrow_mut()) {
                cb(report);
            }
        })
        .map_err(|e| MediaError::Dom(describe(&e)))?;
        Ok(LevelMonitor {
            timer: Some(timer),
            state,
        })
    }

    /// Tells the gate that the app was just notified for another reason (join, mute, volume),
    /// so the ≤ 10 Hz budget covers that notification too.
    pub fn note_external_emit(&self) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            s.gate.note_external_emit(now_ms().max(0.0) as u64);
        }
    }

    /// Forgets all detector and gate state: the next sample is reported in full.
    pub fn reset(&self) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            s.detectors.clear();
            s.gate.reset();
        }
    }

    /// Stops the timer and frees its closure. Idempotent.
    pub fn stop(&mut self) {
        self.timer = None;
    }

    /// True until stopped or dropped.
    pub fn is_running(&self) -> bool {
        self.timer.as_ref().is_some_and(Interval::is_active)
    }
}
