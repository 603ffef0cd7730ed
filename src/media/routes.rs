//! Which bus carries each remote user (H6): the per-voice route gains of the [`AudioGraph`]. A
//! migration between the mesh and the SFU is a change of routes, never of elements: the whole
//! call at once (`route_all`), or one voice at a time as its copy on the other bus starts
//! flowing (`route_user`), each with a short linear cross-fade. A user with a copy on one bus
//! only is heard there whatever the route (a joiner who is on the SFU alone is never muted);
//! the route chooses between two copies.

use super::graph::{AudioGraph, Bus};
use super::nodes::mean_level;

impl AudioGraph {
    /// The bus that carries `user_id` now.
    pub fn routed_bus(&self, user_id: u64) -> Bus {
        self.routes.get(&user_id).copied().unwrap_or(self.primary)
    }

    /// Routes every user (and every stream attached later) to `bus`, over `ramp_ms`.
    pub fn route_all(&mut self, bus: Bus, ramp_ms: u32) {
        self.primary = bus;
        self.routes.clear();
        self.apply_routes(None, ramp_ms);
    }

    /// Routes one user to `bus` over `ramp_ms`, leaving everyone else where they are.
    pub fn route_user(&mut self, user_id: u64, bus: Bus, ramp_ms: u32) {
        self.routes.insert(user_id, bus);
        self.apply_routes(Some(user_id), ramp_ms);
    }

    /// The level (0..=1) of `user_id`'s stream on `bus`, whatever its route; `None` when no
    /// stream of that user is attached there.
    pub fn voice_level(&self, user_id: u64, bus: Bus) -> Option<f32> {
        self.voices
            .get(&(user_id, bus))
            .map(|voice| mean_level(&voice.analyser))
    }

    /// 1 when `user_id`'s copy on `bus` is the one to hear, else 0.
    pub(super) fn route_gain(&self, user_id: u64, bus: Bus) -> f32 {
        if self.routed_bus(user_id) == bus || !self.voices.contains_key(&(user_id, bus.other())) {
            1.0
        } else {
            0.0
        }
    }

    pub(super) fn apply_routes(&self, only: Option<u64>, ramp_ms: u32) {
        let now = self.ctx.current_time();
        for ((id, bus), voice) in &self.voices {
            if only.is_some_and(|u| u != *id) {
                continue;
            }
            let target = self.route_gain(*id, *bus);
            let param = voice.route.gain();
            let _ = param.cancel_scheduled_values(now);
            if ramp_ms == 0 {
                param.set_value(target);
            } else {
                let _ = param.set_value_at_time(param.value(), now);
                let _ =
                    param.linear_ramp_to_value_at_time(target, now + f64::from(ramp_ms) / 1000.0);
            }
        }
    }
}
