#![cfg(all(target_arch = "wasm32", feature = "bench"))]
//! P2P benchmarks (not tests: they print numbers and never fail on speed), in real headless
//! Chromium against the real reference server. Run:
//! `wasm-pack test --headless --chrome --features bench -- --test bench_p2p`; every result is a
//! line `BENCH name=value` for `scripts/bench_merge.mjs --stdin`.
//!
//! - `p2p_first_audio_ms_median` / `_p95`: joinChannel of the second client → the first
//!   remote audio it can measure at its own output, over 24 fresh two-person calls;
//! - `p2p_7th_joiner_hears_all_ms`: the 7th joiner of a 6-person mesh, joinChannel → it hears
//!   all six voices;
//! - `p2p_floor_first_audio_ms_median`: the floor under the first: in the same page, two bare
//!   `RTCPeerConnection`s exchange offer, answer and candidates directly (no server, no
//!   library), the same tone, the same 2048-point analyser and polling; creating the two
//!   connections → the tone measured at the receiver (`p2p_first_audio_vs_floor` = the ratio);
//! - `p2p_7th_joiner_floor_ms`: its floor: beside the same six-person call, six bare pairs of
//!   connections set up at once, until all six tones are measured;
//! - `p2p_memory_per_peer_bytes`: JS heap (`performance.memory.usedJSHeapSize`) plus wasm
//!   memory growth across building that 7-person mesh, divided by its 42 peer connections.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "browser_p2p_support/mod.rs"]
mod support;

use support::*;

/// A short FFT (2048 points ≈ 43 ms at 48 kHz) so detection adds little to the timing.
const FAST_FFT: u32 = 2048;
const RUNS: usize = 24;

fn bench(name: &str, value: f64) {
    let line = format!("BENCH {name}={value:.0}");
    console_log!("{line}");
}

fn fast_probe(c: &Client) -> EnergyProbe {
    c.service
        .service()
        .with_graph(|g| {
            let rate = g.context().sample_rate();
            g.tap_output(FAST_FFT).map(|a| EnergyProbe::new(a, rate))
        })
        .expect("a call graph")
        .expect("an output tap")
}

/// Polls every ~2 ms until `probe` hears all `freqs`; returns `now_ms()` at that moment.
async fn heard_at(probe: &EnergyProbe, freqs: &[f32], timeout_ms: f64) -> Option<f64> {
    let start = now_ms();
    while now_ms() - start < timeout_ms {
        if freqs.iter().all(|f| probe.hears(*f)) {
            return Some(now_ms());
        }
        sleep_ms(2).await;
    }
    None
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

async fn join(c: &Client, channel: f64) {
    JsFuture::from(
        c.service
            .join_channel(channel, c.user_id as f64, Some(true)),
    )
    .await
    .unwrap_or_else(|e| panic!("{} could not join: {e:?}", c.name));
}

fn memory_bytes() -> f64 {
    let heap = js_sys::eval("performance.memory ? performance.memory.usedJSHeapSize : 0")
        .ok()
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
    let wasm = wasm_bindgen::memory()
        .dyn_ref::<js_sys::WebAssembly::Memory>()
        .map(|m| js_sys::ArrayBuffer::from(m.buffer()).byte_length() as f64)
        .unwrap_or(0.0);
    heap + wasm
}

// The floor: a two-person call with nothing but the browser in between.
#[wasm_bindgen(inline_js = r#"
export function floorCall(stream, ctx) {
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  let ready;
  const bReady = new Promise((r) => { ready = r; });
  a.onicecandidate = (e) => { if (e.candidate) bReady.then(() => b.addIceCandidate(e.candidate)).catch(() => {}); };
  b.onicecandidate = (e) => { if (e.candidate) a.addIceCandidate(e.candidate).catch(() => {}); };
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2048;
  const el = document.createElement('audio');
  el.muted = true;
  let source = null;
  b.ontrack = (e) => {
    el.srcObject = e.streams[0];
    el.play().catch(() => {});
    source = ctx.createMediaStreamSource(e.streams[0]);
    source.connect(analyser);
  };
  for (const t of stream.getTracks()) a.addTrack(t, stream);
  (async () => {
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    ready();
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
  })().catch((e) => console.error(`floor call: ${e}`));
  return { analyser, close() { source?.disconnect(); el.srcObject = null; a.close(); b.close(); } };
}
"#)]
extern "C" {
    type FloorCall;
    #[wasm_bindgen(js_name = floorCall)]
    fn floor_call(stream: &web_sys::MediaStream, ctx: &web_sys::AudioContext) -> FloorCall;
    #[wasm_bindgen(method, getter)]
    fn analyser(this: &FloorCall) -> web_sys::AnalyserNode;
    #[wasm_bindgen(method)]
    fn close(this: &FloorCall);
}

/// The benches run one after the other (tests of one file would otherwise share the page).
#[wasm_bindgen_test]
async fn bench_p2p() {
    let ours = first_audio_of_a_two_person_call().await;
    let floor = floor_first_audio().await;
    if let (Some(ours), Some(floor)) = (ours, floor) {
        console_log!("BENCH p2p_first_audio_vs_floor={:.2}", ours / floor);
    }
    seventh_joiner_and_memory_per_peer().await;
}

/// `p2p_floor_first_audio_ms_median` over [`RUNS`] bare calls; returns it.
async fn floor_first_audio() -> Option<f64> {
    let tone = ToneSource::start(VOICE_FREQS[0]);
    let ctx = web_sys::AudioContext::new().expect("an AudioContext");
    let mut samples = Vec::new();
    for run in 0..RUNS {
        let t0 = now_ms();
        let call = floor_call(&tone.stream, &ctx);
        let probe = EnergyProbe::new(call.analyser(), ctx.sample_rate());
        match heard_at(&probe, &[VOICE_FREQS[0]], 10_000.0).await {
            Some(t) => samples.push(t - t0),
            None => console_log!("floor run {run}: no audio within 10 s"),
        }
        call.close();
        sleep_ms(100).await;
    }
    let _ = ctx.close();
    samples.sort_by(|x, y| x.total_cmp(y));
    console_log!("floor first-audio samples (ms): {samples:?}");
    let median = (!samples.is_empty()).then(|| percentile(&samples, 50.0));
    if let Some(m) = median {
        bench("p2p_floor_first_audio_ms_median", m);
    }
    median
}

/// The 7th joiner's floor: in the same page, beside the same six-person call, six bare pairs
/// of `RTCPeerConnection`s set up at once (as the joiner sets up six connections); from their
/// creation until all six tones are measured (`p2p_7th_joiner_floor_ms`, median of 5).
async fn six_bare_calls_beside(call: &[Client]) {
    let tone = ToneSource::start(VOICE_FREQS[7]);
    let ctx = web_sys::AudioContext::new().expect("an AudioContext");
    let mut samples = Vec::new();
    for _ in 0..5 {
        let t0 = now_ms();
        let calls: Vec<FloorCall> = (0..call.len())
            .map(|_| floor_call(&tone.stream, &ctx))
            .collect();
        let probes: Vec<EnergyProbe> = calls
            .iter()
            .map(|c| EnergyProbe::new(c.analyser(), ctx.sample_rate()))
            .collect();
        let mut heard = vec![false; probes.len()];
        while now_ms() - t0 < 10_000.0 && heard.iter().any(|h| !h) {
            for (h, p) in heard.iter_mut().zip(&probes) {
                *h = *h || p.hears(VOICE_FREQS[7]);
            }
            sleep_ms(2).await;
        }
        if heard.iter().all(|h| *h) {
            samples.push(now_ms() - t0);
        }
        calls.iter().for_each(FloorCall::close);
        sleep_ms(300).await;
    }
    let _ = ctx.close();
    samples.sort_by(|x, y| x.total_cmp(y));
    console_log!("six bare calls beside the six-person call (ms): {samples:?}");
    if !samples.is_empty() {
        bench("p2p_7th_joiner_floor_ms", percentile(&samples, 50.0));
    }
}

/// `p2p_first_audio_ms_median` / `_p95` over [`RUNS`] calls; returns the median.
async fn first_audio_of_a_two_person_call() -> Option<f64> {
    let a = Client::new("bench-a", VOICE_FREQS[0]).await;
    let b = Client::new("bench-b", VOICE_FREQS[1]).await;
    let mut samples = Vec::new();
    for run in 0..RUNS {
        let channel = unique_channel();
        join(&a, channel).await;
        let t0 = now_ms();
        join(&b, channel).await;
        let joined = now_ms() - t0;
        let probe = fast_probe(&b);
        let (mut connected, mut stream) = (None, None);
        let (mut listed, mut offered_to_a, mut b_has_pc) = (None, None, None);
        let mut b_local_offer = None;
        let start = now_ms();
        let mut heard = None;
        while now_ms() - start < 10_000.0 && heard.is_none() {
            let pcs = b.service.service().peer_connections();
            if connected.is_none()
                && pcs.iter().any(|(_, pc)| {
                    pc.connection_state() == web_sys::RtcPeerConnectionState::Connected
                })
            {
                connected = Some(now_ms() - t0);
            }
            if listed.is_none() && !b.participants().is_empty() {
                listed = Some(now_ms() - t0);
            }
            if b_has_pc.is_none() && !b.service.service().peer_connections().is_empty() {
                b_has_pc = Some(now_ms() - t0);
            }
            if b_local_offer.is_none() && pcs.iter().any(|(_, pc)| pc.local_description().is_some())
            {
                b_local_offer = Some(now_ms() - t0);
            }
            if offered_to_a.is_none() && !a.service.service().peer_connections().is_empty() {
                offered_to_a = Some(now_ms() - t0);
            }
            if stream.is_none() && b.participants().iter().any(|p| p.has_stream) {
                stream = Some(now_ms() - t0);
            }
            if probe.hears(a.freq) {
                heard = Some(now_ms());
            }
            sleep_ms(1).await;
        }
        if run < 3 {
            console_log!(
                "run {run}: joined {joined:.1} ms, listed {listed:?}, B pc {b_has_pc:?}, B local offer {b_local_offer:?}, offer at A {offered_to_a:?}, remote stream {stream:?}, connected {connected:?}"
            );
        }
        match heard {
            Some(t) => samples.push(t - t0),
            None => console_log!("run {run}: no audio within 10 s"),
        }
        a.service.leave_channel();
        b.service.leave_channel();
        sleep_ms(100).await;
    }
    samples.sort_by(|x, y| x.total_cmp(y));
    console_log!("first-audio samples (ms): {samples:?}");
    if samples.is_empty() {
        return None;
    }
    bench("p2p_first_audio_ms_median", percentile(&samples, 50.0));
    bench("p2p_first_audio_ms_p95", percentile(&samples, 95.0));
    bench("p2p_first_audio_runs", samples.len() as f64);
    Some(percentile(&samples, 50.0))
}

async fn seventh_joiner_and_memory_per_peer() {
    sleep_ms(500).await;
    let before = memory_bytes();
    let (channel, six) = call_of(6, "six").await;
    for c in &six {
        c.must_hear(
            &six.iter()
                .filter(|o| o.user_id != c.user_id)
                .map(|o| o.freq)
                .collect::<Vec<_>>(),
            20_000,
        )
        .await;
    }
    let seventh = Client::new("seventh", VOICE_FREQS[6]).await;
    let t0 = now_ms();
    join(&seventh, channel).await;
    let joined = now_ms() - t0;
    let probe = fast_probe(&seventh);
    // Where the time goes: when each of its connections reached `connected`, and when each
    // voice was first measured, relative to joinChannel.
    let (mut connected, mut heard) = (Vec::new(), vec![None; six.len()]);
    let (mut polls, mut longest_poll_gap, mut last) = (0, 0.0_f64, now_ms());
    while now_ms() - t0 < 20_000.0 && heard.iter().any(Option::is_none) {
        let now = now_ms() - t0;
        polls += 1;
        longest_poll_gap = longest_poll_gap.max(now_ms() - last);
        last = now_ms();
        for (id, pc) in seventh.service.service().peer_connections() {
            let up = pc.connection_state() == web_sys::RtcPeerConnectionState::Connected;
            if up && !connected.iter().any(|(u, _)| *u == id) {
                connected.push((id, now));
            }
        }
        for (slot, c) in heard.iter_mut().zip(&six) {
            if slot.is_none() && probe.hears(c.freq) {
                *slot = Some(now);
            }
        }
        sleep_ms(2).await;
    }
    let connected: Vec<String> = connected.iter().map(|(_, t)| format!("{t:.0}")).collect();
    let heard_ms: Vec<String> = heard.iter().map(|t| format!("{t:.0?}")).collect();
    console_log!(
        "7th joiner: joinChannel resolved at {joined:.0} ms, {polls} polls (longest gap \
         {longest_poll_gap:.0} ms), connections up at [{}] ms, voices first heard at [{}] ms",
        connected.join(", "),
        heard_ms.join(", ")
    );
    if let Some(all) = heard.iter().copied().collect::<Option<Vec<f64>>>() {
        bench(
            "p2p_7th_joiner_hears_all_ms",
            all.into_iter().fold(0.0, f64::max),
        );
    }
    sleep_ms(1_000).await;
    let peers: usize = six.iter().map(|c| c.peer_count()).sum::<usize>() + seventh.peer_count();
    let after = memory_bytes();
    console_log!("memory before {before} after {after} bytes, {peers} peer connections");
    if peers > 0 && after > before {
        bench("p2p_memory_per_peer_bytes", (after - before) / peers as f64);
    }
    seventh.service.leave_channel();
    sleep_ms(500).await;
    six_bare_calls_beside(&six).await;
    for c in &six {
        c.service.leave_channel();
    }
}
