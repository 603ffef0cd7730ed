//! `AudioGraph`: the one `AudioContext` of a call and the routing of all remote audio.
//!
//! ```text
//! remote stream ─ source ─┬─ gain (volume × deafen) ─ bus gain (P2P | SFU) ─ master ─ destination
//!                         └─ analyser (fftSize 256, speaking level)            └─ test taps
//! ```
//! Each attached (user, bus) also gets ONE hidden, muted `<audio>` element playing the same
//! stream: Chromium renders a remote WebRTC stream that only feeds Web Audio as silence
//! (compat-spec P14). A switch between P2P and SFU is a change of bus gains, never of elements,
//! so it can be atomic or a short ramp (H6). Everything is released by `detach`/`close`/drop.

use crate::vec_map::VecMap;

use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AnalyserNode, AudioContext, AudioContextState, GainNode, HtmlAudioElement, MediaStream,
    MediaStreamAudioSourceNode,
};

use super::error::{describe, MediaError};
use super::nodes::{
    analyser_node, connect, disconnect, gain_node, hidden_element, mean_level, remove_element,
};

/// Analyser size used for speaking detection (128 frequency bins), as in the original.
pub const LEVEL_FFT_SIZE: u32 = 256;

/// The two input buses feeding the one output (H6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bus {
    /// Streams from the P2P mesh.
    P2p,
    /// Streams from the LiveKit SFU.
    Sfu,
}

impl Bus {
    /// The other transport's bus.
    pub fn other(self) -> Bus {
        match self {
            Bus::P2p => Bus::Sfu,
            Bus::Sfu => Bus::P2p,
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Bus::P2p => 0,
            Bus::Sfu => 1,
        }
    }
}

/// Audio nodes per attached remote stream: source, volume gain, route gain, analyser.
pub const NODES_PER_STREAM: usize = 4;

/// The nodes and element of one attached remote stream: source → gain (volume × deafen) →
/// route (1 while this bus carries the user, 0 otherwise; ramped on a switch) → bus, and
/// source → analyser (speaking detection sees both copies whatever the route).
pub(super) struct Voice {
    source: MediaStreamAudioSourceNode,
    gain: GainNode,
    pub(super) route: GainNode,
    pub(super) analyser: AnalyserNode,
    element: Option<HtmlAudioElement>,
}

impl Voice {
    fn release(self) {
        disconnect(&self.source);
        disconnect(&self.gain);
        disconnect(&self.route);
        disconnect(&self.analyser);
        if let Some(element) = self.element {
            remove_element(&element);
        }
    }
}

/// The audio graph of one call. Create it synchronously at the start of join (P14).
pub struct AudioGraph {
    pub(super) ctx: AudioContext,
    master: GainNode,
    buses: [GainNode; 2],
    pub(super) voices: VecMap<(u64, Bus), Voice>,
    /// The bus that carries users without a route of their own (see `routes.rs`).
    pub(super) primary: Bus,
    /// Users switched to a bus of their own during a migration.
    pub(super) routes: VecMap<u64, Bus>,
    /// Analyser-only taps of local capture (speaking detection for the self tile).
    locals: VecMap<u64, (MediaStreamAudioSourceNode, AnalyserNode)>,
    taps: Vec<AnalyserNode>,
    volumes: VecMap<u64, f32>,
    deafened: bool,
    closed: bool,
}

impl AudioGraph {
    /// Creates the context, the master gain and both buses (each at gain 1).
    pub fn new() -> Result<AudioGraph, MediaError> {
        let ctx = AudioContext::new().map_err(|e| MediaError::NoAudioContext(describe(&e)))?;
        let wired = (|| {
            let master = gain_node(&ctx, 1.0)?;
            connect(&master, &ctx.destination())?;
            let (p2p, sfu) = (gain_node(&ctx, 1.0)?, gain_node(&ctx, 1.0)?);
            connect(&p2p, &master)?;
            connect(&sfu, &master)?;
            Ok((master, p2p, sfu))
        })();
        // A failed build must not leak the context (browsers cap how many can be open).
        let (master, p2p, sfu) = wired.inspect_err(|_| {
            let _ = ctx.close();
        })?;
        Ok(AudioGraph {
            ctx,
            master,
            buses: [p2p, sfu],
            voices: VecMap::new(),
            primary: Bus::P2p,
            routes: VecMap::new(),
            locals: VecMap::new(),
            taps: Vec::new(),
            volumes: VecMap::new(),
            deafened: false,
            closed: false,
        })
    }

    /// The call's `AudioContext`.
    pub fn context(&self) -> &AudioContext {
        &self.ctx
    }

    /// Routes a remote stream of `user_id` into `bus`. Re-attaching the same (user, bus)
    /// replaces the previous nodes and element. The stream must contain an audio track.
    pub fn attach(
        &mut self,
        user_id: u64,
        bus: Bus,
        stream: &MediaStream,
    ) -> Result<(), MediaError> {
        if self.closed {
            return Err(MediaError::Closed);
        }
        self.detach(user_id, bus);
        let source = self
            .ctx
            .create_media_stream_source(stream)
            .map_err(|e| MediaError::AudioNode(describe(&e)))?;
        let voice = Voice {
            gain: gain_node(&self.ctx, self.effective_gain(user_id))?,
            route: gain_node(&self.ctx, 0.0)?,
            analyser: analyser_node(&self.ctx, LEVEL_FFT_SIZE)?,
            element: None,
            source,
        };
        let wired = connect(&voice.source, &voice.analyser)
            .and_then(|_| connect(&voice.source, &voice.gain))
            .and_then(|_| connect(&voice.gain, &voice.route))
            .and_then(|_| connect(&voice.route, &self.buses[bus.index()]))
            .and_then(|_| hidden_element(stream));
        match wired {
            Ok(element) => {
                self.voices.insert(
                    (user_id, bus),
                    Voice {
                        element: Some(element),
                        ..voice
                    },
                );
                // This copy's route, and the other copy's now that there are two.
                self.apply_routes(Some(user_id), 0);
                Ok(())
            }
            Err(err) => {
                voice.release();
                Err(err)
            }
        }
    }

    /// Removes the nodes and the hidden element of (user, bus). No-op if not attached.
    /// The stored volume is kept (P9: it survives reconnects).
    pub fn detach(&mut self, user_id: u64, bus: Bus) {
        if let Some(voice) = self.voices.remove(&(user_id, bus)) {
            voice.release();
            // A copy left alone is heard.
            self.apply_routes(Some(user_id), 0);
        }
    }

    /// Detaches `user_id` from both buses and forgets its local analyser.
    pub fn detach_user(&mut self, user_id: u64) {
        self.detach(user_id, Bus::P2p);
        self.detach(user_id, Bus::Sfu);
        self.detach_local(user_id);
    }

    /// True when (user, bus) is attached.
    pub fn is_attached(&self, user_id: u64, bus: Bus) -> bool {
        self.voices.contains_key(&(user_id, bus))
    }

    /// Adds an analyser-only tap on a LOCAL capture so `levels()` also reports the local user.
    /// Nothing is routed to the output (no echo) and no element is created.
    pub fn attach_local(&mut self, user_id: u64, stream: &MediaStream) -> Result<(), MediaError> {
        if self.closed {
            return Err(MediaError::Closed);
        }
        self.detach_local(user_id);
        let source = self
            .ctx
            .create_media_stream_source(stream)
            .map_err(|e| MediaError::AudioNode(describe(&e)))?;
        let analyser = analyser_node(&self.ctx, LEVEL_FFT_SIZE)?;
        if let Err(err) = connect(&source, &analyser) {
            disconnect(&source);
            return Err(err);
        }
        self.locals.insert(user_id, (source, analyser));
        Ok(())
    }

    /// Removes the local analyser tap of `user_id`, if any.
    pub fn detach_local(&mut self, user_id: u64) {
        if let Some((source, analyser)) = self.locals.remove(&user_id) {
            disconnect(&source);
            disconnect(&analyser);
        }
    }

    /// Stores the volume (clamped to 0..=1; NaN counts as 0) and applies it to every attached
    /// stream of that user now, and to streams attached later.
    pub fn set_volume(&mut self, user_id: u64, volume: f32) {
        let volume = if volume.is_nan() {
            0.0
        } else {
            volume.clamp(0.0, 1.0)
        };
        self.volumes.insert(user_id, volume);
        self.apply_gains();
    }

    /// The stored volume of `user_id`, or 1.0 if none was set. A stored 0 reads back as 0 (P9).
    pub fn volume(&self, user_id: u64) -> f32 {
        self.volumes.get(&user_id).copied().unwrap_or(1.0)
    }

    /// Silences (or restores) every remote stream, including streams attached later (P10).
    pub fn set_deafened(&mut self, deafened: bool) {
        self.deafened = deafened;
        self.apply_gains();
    }

    /// True while deafened.
    pub fn is_deafened(&self) -> bool {
        self.deafened
    }

    /// Sets a bus gain (clamped to 0..=1), linearly over `ramp_ms` (0 = at once).
    pub fn set_bus_gain(&self, bus: Bus, gain: f32, ramp_ms: u32) {
        let gain = if gain.is_nan() {
            0.0
        } else {
            gain.clamp(0.0, 1.0)
        };
        let param = self.buses[bus.index()].gain();
        let now = self.ctx.current_time();
        let _ = param.cancel_scheduled_values(now);
        if ramp_ms == 0 {
            param.set_value(gain);
            return;
        }
        let _ = param.set_value_at_time(param.value(), now);
        let _ = param.linear_ramp_to_value_at_time(gain, now + f64::from(ramp_ms) / 1000.0);
    }

    /// Moves the output from one bus to the other with a linear cross-fade over `ramp_ms`
    /// (H6: 2000 ms). Both ramps start at the same audio time, so a participant present on
    /// both buses never drops out (no gap). The two copies are not sample-aligned, so mid-fade
    /// they can partly cancel at some frequencies (browser test: a pure tone dips by up to
    /// ~25 dB for a few ms, still clearly audible). `from == to` just brings that bus to 1.
    pub fn crossfade(&self, from: Bus, to: Bus, ramp_ms: u32) {
        self.set_bus_gain(to, 1.0, ramp_ms);
        if from != to {
            self.set_bus_gain(from, 0.0, ramp_ms);
        }
    }

    /// The current value of a bus gain (mid-ramp values included).
    pub fn bus_gain(&self, bus: Bus) -> f32 {
        self.buses[bus.index()].gain().value()
    }

    /// Per-user audio level 0..=1 (mean FFT byte / 255), the maximum over buses and the local
    /// tap, sorted by user id.
    pub fn levels(&self) -> Vec<(u64, f32)> {
        let mut out: Vec<(u64, f32)> = Vec::new();
        let analysers = self
            .voices
            .iter()
            .map(|((id, _), v)| (*id, &v.analyser))
            .chain(self.locals.iter().map(|(id, (_, a))| (*id, a)));
        // Kept sorted while built (no sort call): each id once, at its place.
        for (id, analyser) in analysers {
            let level = mean_level(analyser);
            match out.binary_search_by_key(&id, |(u, _)| *u) {
                Ok(i) => out[i].1 = out[i].1.max(level),
                Err(i) => out.insert(i, (id, level)),
            }
        }
        out
    }

    /// Adds an analyser on the master output (what the user hears) for tests and benchmarks.
    /// `fft_size` must be a power of two in 32..=32768. Released by `close`.
    pub fn tap_output(&mut self, fft_size: u32) -> Result<AnalyserNode, MediaError> {
        if self.closed {
            return Err(MediaError::Closed);
        }
        let tap = analyser_node(&self.ctx, fft_size)?;
        connect(&self.master, &tap)?;
        self.taps.push(tap.clone());
        Ok(tap)
    }

    /// Asks the context to start (autoplay); errors are ignored. See [`AudioGraph::resume_async`].
    pub fn resume(&self) {
        if let Ok(promise) = self.ctx.resume() {
            crate::browser::detach(promise);
        }
    }

    /// Resumes the context and resolves when the browser has allowed (or refused) it.
    pub fn resume_async(&self) -> impl std::future::Future<Output = Result<(), MediaError>> {
        let promise = self.ctx.resume();
        async move {
            let promise = promise.map_err(|e| MediaError::NoAudioContext(describe(&e)))?;
            JsFuture::from(promise)
                .await
                .map(|_| ())
                .map_err(|e| MediaError::NoAudioContext(describe(&e)))
        }
    }

    /// True when the context is running, i.e. audio can actually be heard (`canPlayAudio`).
    pub fn is_running(&self) -> bool {
        !self.closed && self.ctx.state() == AudioContextState::Running
    }

    /// Number of hidden `<audio>` elements the graph currently owns.
    pub fn element_count(&self) -> usize {
        self.voices.values().filter(|v| v.element.is_some()).count()
    }

    /// Number of per-stream nodes (4 per remote stream, 2 per local tap, 1 per output tap).
    /// The fixed master and bus gains are not counted, so an empty graph reports 0.
    pub fn node_count(&self) -> usize {
        self.voices.len() * NODES_PER_STREAM + self.locals.len() * 2 + self.taps.len()
    }

    /// Disconnects everything, removes the elements and closes the context. Idempotent.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        for (_, voice) in self.voices.take_all() {
            voice.release();
        }
        for (_, (source, analyser)) in self.locals.take_all() {
            disconnect(&source);
            disconnect(&analyser);
        }
        for tap in self.taps.drain(..) {
            disconnect(&tap);
        }
        for bus in &self.buses {
            disconnect(bus);
        }
        disconnect(&self.master);
        if let Ok(promise) = self.ctx.close() {
            crate::browser::detach(promise);
        }
    }

    /// True after `close`.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn effective_gain(&self, user_id: u64) -> f32 {
        if self.deafened {
            0.0
        } else {
            self.volume(user_id)
        }
    }

    fn apply_gains(&self) {
        for ((id, _), voice) in &self.voices {
            voice.gain.gain().set_value(self.effective_gain(*id));
        }
    }
}

impl Drop for AudioGraph {
    fn drop(&mut self) {
        self.close();
    }
}
