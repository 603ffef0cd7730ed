//! Audio test helpers for the browser suites: a [`ToneSource`] is a test client's
//! "microphone" (a sine oscillator at its own frequency), and an [`EnergyProbe`] measures what
//! a receiver actually HEARS at its output, per frequency, from an FFT of the audio graph's
//! master bus. Together they prove that person A hears person B (and not C) in real Chromium.
//!
//! Frequencies: give each voice its own entry of [`VOICE_FREQS`] (150 Hz apart). With the
//! default probe (fftSize 8192 at 48 kHz, ≈ 5.9 Hz per bin, Blackman window, main lobe about
//! ±3 bins) eight voices are far apart, and each sits well inside Opus's band.
//!
//! Thresholds: a frequency is *heard* when the loudest bin within ±[`SEARCH_BINS`] bins of it
//! is at least [`HEAR_ABOVE_FLOOR_DB`] above the spectrum's median (the noise floor) AND above
//! [`HEAR_MIN_DBFS`] absolute. A tone at the default level sits near −20 dBFS and its neighbours
//! 150 Hz away stay below −115 dBFS; digital silence reads as −∞ (reported as
//! [`SILENCE_DB`]), so both margins are wide. An onset or an abrupt cut splatters energy over
//! all bins for one analysis window (≈ 171 ms): call [`EnergyProbe::settle`] after a change
//! before asserting that other frequencies are silent.

#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use sohbet_rtc::media::{AudioGraph, MediaError};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AnalyserNode, AudioContext, GainNode, MediaStream, OscillatorNode, OscillatorType,
    RtcPeerConnection, RtcPeerConnectionIceEvent, RtcSdpType, RtcSessionDescriptionInit,
    RtcTrackEvent,
};

/// One distinct frequency per test voice (Hz), 150 Hz apart.
pub const VOICE_FREQS: [f32; 8] = [300.0, 450.0, 600.0, 750.0, 900.0, 1050.0, 1200.0, 1350.0];
/// The probe's FFT size (≈ 5.9 Hz bins at 48 kHz).
pub const PROBE_FFT_SIZE: u32 = 8192;
/// Bins searched either side of a frequency.
pub const SEARCH_BINS: usize = 3;
/// How far above the median floor a peak must be to count as heard.
pub const HEAR_ABOVE_FLOOR_DB: f32 = 25.0;
/// The absolute level a peak must exceed to count as heard.
pub const HEAR_MIN_DBFS: f32 = -70.0;
/// The value reported for a bin holding no signal at all (the analyser says −∞).
pub const SILENCE_DB: f32 = -200.0;
/// Default oscillator gain of a [`ToneSource`] (≈ −20 dBFS in the probe; level ≈ 0.03 in a 256-point speaking analyser, above the
/// default speaking threshold 0.02 — a pure tone lights only a few of the 128 bins).
pub const TONE_LEVEL: f32 = 0.5;

/// A test client's microphone: oscillator → gain → `MediaStreamAudioDestinationNode`, in its
/// own `AudioContext`. Dropping a `ToneSource` stops the oscillator and closes its context.
pub struct ToneSource {
    pub ctx: AudioContext,
    pub osc: OscillatorNode,
    pub gain: GainNode,
    pub stream: MediaStream,
    pub freq_hz: f32,
}

impl ToneSource {
    /// The contract form used by the P2P and SFU suites: `(context, oscillator, stream)`.
    /// The caller keeps the context and oscillator alive for as long as the tone must sound.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(freq_hz: f32) -> (AudioContext, OscillatorNode, MediaStream) {
        let tone = ToneSource::start(freq_hz);
        // `Clone::clone`: `MediaStream::clone()` would be the JS method that copies the tracks.
        let stream = Clone::clone(&tone.stream);
        let parts = (tone.ctx.clone(), tone.osc.clone(), stream);
        std::mem::forget(tone); // ownership of the running nodes passes to the caller
        parts
    }

    /// Starts a sine at `freq_hz` with gain [`TONE_LEVEL`]. Panics (test helper) if the
    /// browser refuses to create the nodes.
    pub fn start(freq_hz: f32) -> ToneSource {
        let ctx = AudioContext::new().expect("test AudioContext");
        let osc = ctx.create_oscillator().expect("oscillator");
        osc.set_type(OscillatorType::Sine);
        osc.frequency().set_value(freq_hz);
        let gain = ctx.create_gain().expect("gain");
        gain.gain().set_value(TONE_LEVEL);
        let dest = web_sys::MediaStreamAudioDestinationNode::new(&ctx).expect("stream destination");
        osc.connect_with_audio_node(&gain).expect("connect osc");
        gain.connect_with_audio_node(&dest).expect("connect gain");
        osc.start().expect("start oscillator");
        let _ = ctx.resume();
        ToneSource {
            stream: dest.stream(),
            ctx,
            osc,
            gain,
            freq_hz,
        }
    }

    /// Silences (0) or restores ([`TONE_LEVEL`]) the tone without touching the stream.
    pub fn set_sounding(&self, on: bool) {
        self.gain
            .gain()
            .set_value(if on { TONE_LEVEL } else { 0.0 });
    }
}

impl Drop for ToneSource {
    fn drop(&mut self) {
        let _ = self.osc.stop();
        let _ = self.ctx.close();
    }
}

/// Measures received energy per frequency at a receiver's output (an analyser tap).
pub struct EnergyProbe {
    analyser: AnalyserNode,
    sample_rate: f32,
    scratch: RefCell<Vec<f32>>,
}

impl EnergyProbe {
    /// Taps the graph's master output (what the user hears) with a [`PROBE_FFT_SIZE`] analyser.
    pub fn on_graph(graph: &mut AudioGraph) -> Result<EnergyProbe, MediaError> {
        let analyser = graph.tap_output(PROBE_FFT_SIZE)?;
        Ok(EnergyProbe::new(analyser, graph.context().sample_rate()))
    }

    /// Wraps any analyser (e.g. one tapped elsewhere) at the given sample rate.
    pub fn new(analyser: AnalyserNode, sample_rate: f32) -> EnergyProbe {
        analyser.set_smoothing_time_constant(0.0);
        EnergyProbe {
            analyser,
            sample_rate,
            scratch: RefCell::new(Vec::new()),
        }
    }

    /// Width of one FFT bin in Hz.
    pub fn bin_hz(&self) -> f32 {
        self.sample_rate / self.analyser.fft_size() as f32
    }

    /// The current spectrum in dBFS, −∞ replaced by [`SILENCE_DB`].
    pub fn spectrum(&self) -> Vec<f32> {
        let mut bins = self.scratch.borrow_mut();
        bins.resize(self.analyser.frequency_bin_count() as usize, 0.0);
        self.analyser.get_float_frequency_data(&mut bins);
        bins.iter()
            .map(|v| if v.is_finite() { *v } else { SILENCE_DB })
            .collect()
    }

    /// How far (dB) the peak near `freq_hz` stands above the noise floor; 0 for silence.
    pub fn energy_at(&self, freq_hz: f32) -> f32 {
        let spectrum = self.spectrum();
        (peak_near(&spectrum, freq_hz, self.bin_hz()) - median(&spectrum)).max(0.0)
    }

    /// True when `freq_hz` is clearly audible at the output (see the module thresholds).
    pub fn hears(&self, freq_hz: f32) -> bool {
        let spectrum = self.spectrum();
        let peak = peak_near(&spectrum, freq_hz, self.bin_hz());
        peak > HEAR_MIN_DBFS && peak - median(&spectrum) >= HEAR_ABOVE_FLOOR_DB
    }

    /// A readable line for assertion messages: level and margin at each frequency.
    pub fn describe(&self, freqs: &[f32]) -> String {
        let spectrum = self.spectrum();
        let peak = |f: f32| peak_near(&spectrum, f, self.bin_hz());
        let parts: Vec<String> = freqs
            .iter()
            .map(|f| format!("{f} Hz: {:.1}", peak(*f)))
            .collect();
        format!("floor {:.1} dBFS; {}", median(&spectrum), parts.join(", "))
    }

    /// The length of one analysis window in ms (≈ 171 ms for 8192 points at 48 kHz).
    pub fn window_ms(&self) -> f64 {
        f64::from(self.analyser.fft_size()) * 1000.0 / f64::from(self.sample_rate)
    }

    /// Waits one analysis window (+ 30 ms). A tone's onset (or an abrupt cut) splatters energy
    /// across the whole spectrum for one window, so call this after `wait_until_hears` before
    /// asserting that OTHER frequencies are silent.
    pub async fn settle(&self) {
        sleep_ms(self.window_ms() as u32 + 30).await;
    }

    /// Polls (every 20 ms) until every frequency in `freqs` is heard; returns the time it took
    /// in ms, or an error describing the spectrum after `timeout_ms`.
    pub async fn wait_until_hears(&self, freqs: &[f32], timeout_ms: u32) -> Result<f64, String> {
        let heard = wait_for(timeout_ms, || freqs.iter().all(|f| self.hears(*f))).await;
        let spectrum = self.describe(freqs);
        heard.ok_or_else(|| format!("not all of {freqs:?} heard in {timeout_ms} ms: {spectrum}"))
    }

    /// Polls until none of `freqs` is heard; returns the time it took in ms.
    pub async fn wait_until_silent(&self, freqs: &[f32], timeout_ms: u32) -> Result<f64, String> {
        let silent = wait_for(timeout_ms, || freqs.iter().all(|f| !self.hears(*f))).await;
        let spectrum = self.describe(freqs);
        silent.ok_or_else(|| format!("{freqs:?} still heard after {timeout_ms} ms: {spectrum}"))
    }
}

/// The loudest value within ±[`SEARCH_BINS`] bins of `freq_hz`.
pub fn peak_near(spectrum_db: &[f32], freq_hz: f32, bin_hz: f32) -> f32 {
    if spectrum_db.is_empty() || bin_hz <= 0.0 {
        return SILENCE_DB;
    }
    let centre = (freq_hz / bin_hz).round() as usize;
    let lo = centre.saturating_sub(SEARCH_BINS);
    let hi = (centre + SEARCH_BINS).min(spectrum_db.len() - 1);
    if lo > hi {
        return SILENCE_DB;
    }
    let window = &spectrum_db[lo..=hi];
    window.iter().fold(SILENCE_DB, |max, v| max.max(*v))
}

/// The median of a spectrum (the noise floor estimate).
pub fn median(values: &[f32]) -> f32 {
    if values.is_empty() {
        return SILENCE_DB;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.total_cmp(b));
    sorted[sorted.len() / 2]
}

/// `performance.now()` in ms.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// Resolves after `ms` milliseconds (a `setTimeout` promise).
pub async fn sleep_ms(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
                resolve.unchecked_ref(),
                ms as i32,
            );
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Polls `done` every 20 ms for up to `timeout_ms`; returns the time it took (ms), or `None`.
pub async fn wait_for(timeout_ms: u32, mut done: impl FnMut() -> bool) -> Option<f64> {
    let start = now_ms();
    loop {
        let elapsed = now_ms() - start;
        if done() {
            return Some(elapsed);
        }
        if elapsed > f64::from(timeout_ms) {
            return None;
        }
        sleep_ms(20).await;
    }
}

/// Number of `<audio>` elements in the page (`document.querySelectorAll("audio").length`).
pub fn audio_elements_in_dom() -> u32 {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return 0;
    };
    let list = js_sys::Reflect::get(&document, &"querySelectorAll".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .and_then(|f| f.call1(&document, &"audio".into()).ok());
    list.and_then(|l| js_number(&l, "length")).unwrap_or(0.0) as u32
}

/// Negative control for the P14 workaround: `stream` → source → probe in a fresh context,
/// with NO media element. Keep the returned context alive while probing.
pub fn webaudio_only_probe(stream: &MediaStream) -> (AudioContext, EnergyProbe) {
    let ctx = AudioContext::new().expect("AudioContext");
    let source = ctx.create_media_stream_source(stream).expect("source");
    let analyser = ctx.create_analyser().expect("analyser");
    analyser.set_fft_size(PROBE_FFT_SIZE);
    source.connect_with_audio_node(&analyser).expect("connect");
    let probe = EnergyProbe::new(analyser, ctx.sample_rate());
    (ctx, probe)
}

/// Dispatches a synthetic `name` event (e.g. "keydown") on the document.
pub fn dispatch_document_event(name: &str) {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let event = web_sys::Event::new(name).expect("event");
    let dispatch = js_sys::Reflect::get(&document, &"dispatchEvent".into()).expect("fn");
    let dispatch: js_sys::Function = dispatch.unchecked_into();
    dispatch.call1(&document, &event).expect("dispatch");
}

/// `pc.connectionState` as a string ("new", "connecting", "connected", ...).
pub fn connection_state(pc: &RtcPeerConnection) -> String {
    js_sys::Reflect::get(pc, &"connectionState".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

/// Reads `obj[key]` as a number (for stats and other plain JS objects in tests).
pub fn js_number(obj: &JsValue, key: &str) -> Option<f64> {
    js_sys::Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_f64())
}

/// A real WebRTC link inside one page: `stream` → pc1 → pc2; the stream pc2 receives is a
/// genuine remote stream (what a P2P peer would deliver). Closes both connections on drop.
pub struct Loopback {
    pub pc1: RtcPeerConnection,
    pub pc2: RtcPeerConnection,
    remote: Rc<RefCell<Option<MediaStream>>>,
    _closures: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for Loopback {
    fn drop(&mut self) {
        for pc in [&self.pc1, &self.pc2] {
            pc.set_onicecandidate(None);
            pc.set_ontrack(None);
            pc.close();
        }
    }
}

fn trickle(from: &RtcPeerConnection, to: &RtcPeerConnection) -> Closure<dyn FnMut(JsValue)> {
    let to = to.clone();
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        let ev: RtcPeerConnectionIceEvent = ev.unchecked_into();
        if let Some(c) = ev.candidate() {
            let _ = to.add_ice_candidate_with_opt_rtc_ice_candidate(Some(&c));
        }
    });
    from.set_onicecandidate(Some(closure.as_ref().unchecked_ref()));
    closure
}

async fn local_sdp(
    pc: &RtcPeerConnection,
    kind: RtcSdpType,
    promise: js_sys::Promise,
) -> RtcSessionDescriptionInit {
    let desc = JsFuture::from(promise).await.expect("create sdp");
    let sdp = js_sys::Reflect::get(&desc, &"sdp".into())
        .expect("sdp")
        .as_string()
        .expect("sdp string");
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&init))
        .await
        .expect("set local");
    init
}

impl Loopback {
    /// Connects the pair (offer/answer in-page, trickled candidates) with `stream`'s audio.
    pub async fn connect(stream: &MediaStream) -> Loopback {
        let pc1 = RtcPeerConnection::new().expect("pc1");
        let pc2 = RtcPeerConnection::new().expect("pc2");
        let remote = Rc::new(RefCell::new(None));
        let slot = remote.clone();
        let on_track = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let ev: RtcTrackEvent = ev.unchecked_into();
            if let Ok(s) = ev.streams().get(0).dyn_into::<MediaStream>() {
                *slot.borrow_mut() = Some(s);
            }
        });
        pc2.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        let closures = vec![trickle(&pc1, &pc2), trickle(&pc2, &pc1), on_track];
        for track in stream.get_audio_tracks().iter() {
            pc1.add_track_0(&track.unchecked_into(), stream);
        }
        let offer = local_sdp(&pc1, RtcSdpType::Offer, pc1.create_offer()).await;
        JsFuture::from(pc2.set_remote_description(&offer))
            .await
            .expect("pc2 remote");
        let answer = local_sdp(&pc2, RtcSdpType::Answer, pc2.create_answer()).await;
        JsFuture::from(pc1.set_remote_description(&answer))
            .await
            .expect("pc1 remote");
        Loopback {
            pc1,
            pc2,
            remote,
            _closures: closures,
        }
    }

    /// Waits up to `timeout_ms` for pc2's `ontrack` and returns the remote stream.
    pub async fn remote_stream(&self, timeout_ms: u32) -> Option<MediaStream> {
        wait_for(timeout_ms, || self.remote.borrow().is_some()).await?;
        self.remote.borrow().clone()
    }
}
