//! Browser tests of the media layer in real headless Chromium (no network needed): the audio
//! graph is proven by what comes OUT of it — an FFT of the master bus — with test tones as the
//! "remote" voices; the hidden-element workaround is proven with a real WebRTC loopback (two
//! RTCPeerConnections in the page); local capture uses Chromium's fake microphone.
#![cfg(target_arch = "wasm32")]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::audio::{now_ms, sleep_ms, EnergyProbe, Loopback, ToneSource, VOICE_FREQS};
use sohbet_rtc::media::quality::{Quality, QualityTracker};
use sohbet_rtc::media::speaking::SpeakingConfig;
use sohbet_rtc::media::{AudioGraph, Bus, LevelEntry, LevelMonitor, LocalMedia, QualityMonitor};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{MediaStreamTrackState, RtcPeerConnection};

wasm_bindgen_test_configure!(run_in_browser);

const HEAR_MS: u32 = 3000;
const A: f32 = VOICE_FREQS[0];
const B: f32 = VOICE_FREQS[1];

fn graph_with_probe() -> (AudioGraph, EnergyProbe) {
    let mut graph = AudioGraph::new().expect("audio graph");
    graph.resume();
    let probe = EnergyProbe::on_graph(&mut graph).expect("output tap");
    (graph, probe)
}

/// Number of `<audio>` elements in the page (`document.querySelectorAll("audio").length`).
fn audio_elements_in_dom() -> u32 {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("document");
    let query = js_sys::Reflect::get(&document, &"querySelectorAll".into()).expect("qsa");
    let query: js_sys::Function = query.unchecked_into();
    let list = query.call1(&document, &"audio".into()).expect("node list");
    let length = js_sys::Reflect::get(&list, &"length".into()).expect("length");
    length.as_f64().unwrap_or(0.0) as u32
}

#[wasm_bindgen_test]
async fn attached_tone_is_heard_at_the_output_and_silence_is_not() {
    let (mut graph, probe) = graph_with_probe();
    let tone = ToneSource::start(A);
    graph.attach(1, Bus::P2p, &tone.stream).expect("attach");
    probe
        .wait_until_hears(&[A], HEAR_MS)
        .await
        .expect("tone A heard");
    probe.settle().await;
    assert!(
        !probe.hears(B),
        "nobody plays B: {}",
        probe.describe(&[A, B])
    );
    let (ea, eb) = (probe.energy_at(A), probe.energy_at(B));
    assert!(
        ea > eb + 40.0,
        "A stands far above B: {ea:.1} vs {eb:.1} dB"
    );
}

#[wasm_bindgen_test]
async fn zero_volume_silences_one_participant_while_the_other_stays_audible() {
    let (mut graph, probe) = graph_with_probe();
    let (ta, tb) = (ToneSource::start(A), ToneSource::start(B));
    graph.attach(1, Bus::P2p, &ta.stream).expect("attach 1");
    graph.attach(2, Bus::P2p, &tb.stream).expect("attach 2");
    probe
        .wait_until_hears(&[A, B], HEAR_MS)
        .await
        .expect("both heard");

    graph.set_volume(1, 0.0);
    assert_eq!(graph.volume(1), 0.0, "a stored 0 reads back as 0 (P9)");
    assert_eq!(graph.volume(2), 1.0, "unset volume reads as 1.0");
    probe
        .wait_until_silent(&[A], HEAR_MS)
        .await
        .expect("A silenced");
    assert!(probe.hears(B), "B still heard: {}", probe.describe(&[B]));

    graph.set_volume(1, 7.5);
    assert_eq!(graph.volume(1), 1.0, "volume is clamped to 1");
    probe
        .wait_until_hears(&[A, B], HEAR_MS)
        .await
        .expect("A back");
}

#[wasm_bindgen_test]
async fn volume_set_before_the_stream_arrives_applies_when_it_is_attached() {
    let (mut graph, probe) = graph_with_probe();
    let (ta, tb) = (ToneSource::start(A), ToneSource::start(B));
    graph.set_volume(1, 0.0);
    graph.attach(1, Bus::P2p, &ta.stream).expect("attach 1");
    graph.attach(2, Bus::P2p, &tb.stream).expect("attach 2");
    probe
        .wait_until_hears(&[B], HEAR_MS)
        .await
        .expect("B heard");
    sleep_ms(200).await;
    assert!(
        !probe.hears(A),
        "A muted in advance: {}",
        probe.describe(&[A])
    );
}

#[wasm_bindgen_test]
async fn deafen_silences_everyone_including_later_peers_and_undeafen_restores() {
    let (mut graph, probe) = graph_with_probe();
    let (ta, tb) = (ToneSource::start(A), ToneSource::start(B));
    graph.attach(1, Bus::P2p, &ta.stream).expect("attach 1");
    probe
        .wait_until_hears(&[A], HEAR_MS)
        .await
        .expect("A heard");

    graph.set_deafened(true);
    graph
        .attach(2, Bus::Sfu, &tb.stream)
        .expect("attach 2 while deafened");
    probe
        .wait_until_silent(&[A], HEAR_MS)
        .await
        .expect("A silent");
    sleep_ms(200).await;
    assert!(
        !probe.hears(B),
        "peer attached while deafened is silent too (P10)"
    );

    graph.set_deafened(false);
    probe
        .wait_until_hears(&[A, B], HEAR_MS)
        .await
        .expect("both back");
    assert_eq!(graph.volume(1), 1.0, "deafen does not touch stored volumes");
}

#[wasm_bindgen_test]
async fn bus_gains_route_p2p_and_sfu_voices_independently() {
    let (mut graph, probe) = graph_with_probe();
    let (ta, tb) = (ToneSource::start(A), ToneSource::start(B));
    graph.attach(1, Bus::P2p, &ta.stream).expect("attach p2p");
    graph.attach(2, Bus::Sfu, &tb.stream).expect("attach sfu");
    probe
        .wait_until_hears(&[A, B], HEAR_MS)
        .await
        .expect("both heard");

    graph.set_bus_gain(Bus::P2p, 0.0, 0);
    probe
        .wait_until_silent(&[A], HEAR_MS)
        .await
        .expect("P2P bus muted");
    assert!(probe.hears(B), "SFU bus unaffected");

    graph.set_bus_gain(Bus::P2p, 1.0, 300);
    graph.set_bus_gain(Bus::Sfu, 0.0, 300);
    let took = probe
        .wait_until_silent(&[B], HEAR_MS)
        .await
        .expect("SFU faded out");
    assert!(
        probe.hears(A),
        "P2P faded back in: {}",
        probe.describe(&[A])
    );
    assert!(
        took >= 100.0,
        "a 300 ms ramp is not instantaneous (took {took} ms)"
    );
    assert_eq!(graph.bus_gain(Bus::P2p), 1.0);
}

#[wasm_bindgen_test]
async fn detach_and_reattach_free_nodes_and_hidden_audio_elements() {
    let (mut graph, _probe) = graph_with_probe();
    let (ta, tb) = (ToneSource::start(A), ToneSource::start(B));
    let tap_nodes = graph.node_count();
    let before = audio_elements_in_dom();
    graph.attach(1, Bus::P2p, &ta.stream).expect("attach 1");
    graph.attach(2, Bus::P2p, &tb.stream).expect("attach 2");
    assert_eq!(graph.element_count(), 2);
    assert_eq!(
        audio_elements_in_dom(),
        before + 2,
        "one hidden <audio> per remote stream"
    );

    graph
        .attach(1, Bus::P2p, &tb.stream)
        .expect("re-attach replaces");
    assert_eq!(
        graph.element_count(),
        2,
        "re-attach does not add an element"
    );
    assert_eq!(graph.node_count(), tap_nodes + 6);

    graph.detach(1, Bus::P2p);
    graph.detach(2, Bus::P2p);
    graph.detach(2, Bus::P2p);
    assert_eq!(graph.element_count(), 0);
    assert_eq!(graph.node_count(), tap_nodes);
    assert_eq!(
        audio_elements_in_dom(),
        before,
        "no <audio> left in the DOM after detach"
    );
}

#[wasm_bindgen_test]
async fn close_twice_is_harmless_removes_everything_and_refuses_new_streams() {
    let (mut graph, _probe) = graph_with_probe();
    let tone = ToneSource::start(A);
    let before = audio_elements_in_dom();
    graph.attach(1, Bus::P2p, &tone.stream).expect("attach");
    assert_eq!(audio_elements_in_dom(), before + 1);
    graph.close();
    graph.close();
    assert!(graph.is_closed());
    assert_eq!((graph.element_count(), graph.node_count()), (0, 0));
    assert_eq!(
        audio_elements_in_dom(),
        before,
        "close removes the elements"
    );
    let err = graph
        .attach(2, Bus::P2p, &tone.stream)
        .expect_err("closed graph refuses");
    assert_eq!(err.code(), "media_graph_closed");
    sleep_ms(100).await;
    assert_eq!(graph.context().state(), web_sys::AudioContextState::Closed);
}

#[wasm_bindgen_test]
async fn levels_are_high_for_a_sounding_participant_and_near_zero_for_a_silent_one() {
    let (mut graph, probe) = graph_with_probe();
    let (ta, tb) = (ToneSource::start(A), ToneSource::start(B));
    tb.set_sounding(false);
    graph.attach(1, Bus::P2p, &ta.stream).expect("attach 1");
    graph.attach(2, Bus::Sfu, &tb.stream).expect("attach 2");
    probe
        .wait_until_hears(&[A], HEAR_MS)
        .await
        .expect("A heard");
    sleep_ms(300).await;
    let levels = graph.levels();
    let level = |id| levels.iter().find(|(u, _)| *u == id).map(|(_, l)| *l);
    let (la, lb) = (level(1).expect("user 1"), level(2).expect("user 2"));
    let on = SpeakingConfig::default().on_threshold;
    assert!(
        la > on,
        "sounding level {la} is above the speaking threshold {on}"
    );
    assert!(lb < 0.005, "silent level {lb}");
    graph.set_volume(1, 0.0);
    sleep_ms(200).await;
    let still = graph.levels()[0].1;
    assert!(
        still > on,
        "volume 0 does not hide who is speaking ({still})"
    );
}

#[wasm_bindgen_test]
async fn fake_microphone_capture_gives_a_live_audio_track_and_stop_ends_it() {
    let mut local = LocalMedia::capture(true)
        .await
        .expect("fake device capture");
    let tracks = local.audio_tracks();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].ready_state(), MediaStreamTrackState::Live);
    assert!(
        local.video_track().is_none(),
        "audio-only capture has no video"
    );
    local.set_audio_enabled(false);
    assert!(!tracks[0].enabled() && !local.audio_live());
    local.set_audio_enabled(true);
    assert!(local.audio_live());

    let camera = local.add_camera().await.expect("fake camera");
    assert_eq!(local.video_track().map(|t| t.id()), Some(camera.id()));
    local.stop();
    local.stop();
    assert_eq!(tracks[0].ready_state(), MediaStreamTrackState::Ended);
    assert_eq!(camera.ready_state(), MediaStreamTrackState::Ended);
}

#[wasm_bindgen_test]
async fn a_borrowed_stream_keeps_its_tracks_but_a_camera_we_added_is_stopped_on_drop() {
    let tone = ToneSource::start(A);
    let mut local = LocalMedia::from_stream(Clone::clone(&tone.stream));
    let track = local.audio_tracks().pop().expect("tone track");
    let camera = local.add_camera().await.expect("fake camera");
    drop(local);
    assert_eq!(track.ready_state(), MediaStreamTrackState::Live);
    assert_eq!(camera.ready_state(), MediaStreamTrackState::Ended);
    let owned = LocalMedia::from_stream_owned(Clone::clone(&tone.stream));
    drop(owned);
    assert_eq!(track.ready_state(), MediaStreamTrackState::Ended);
}

#[wasm_bindgen_test]
async fn a_real_remote_webrtc_stream_is_heard_through_the_graph() {
    let (mut graph, probe) = graph_with_probe();
    let tone = ToneSource::start(B);
    let link = Loopback::connect(&tone.stream).await;
    let remote = link
        .remote_stream(2000)
        .await
        .expect("ontrack delivered a remote stream");
    graph.attach(7, Bus::P2p, &remote).expect("attach remote");
    let took = probe
        .wait_until_hears(&[B], 8000)
        .await
        .expect("remote tone heard");
    web_sys::console::log_1(&format!("BENCH loopback_remote_audio_ms={took:.0}").into());
    assert_eq!(graph.element_count(), 1);
    graph.detach(7, Bus::P2p);
    probe
        .wait_until_silent(&[B], HEAR_MS)
        .await
        .expect("silent after detach");
}

/// A level report and the time (ms) it arrived.
type TimedReport = (f64, Vec<LevelEntry>);

#[wasm_bindgen_test]
async fn level_monitor_reports_speaking_for_a_tone_not_for_silence_and_only_on_change() {
    let graph = Rc::new(RefCell::new(AudioGraph::new().expect("graph")));
    graph.borrow().resume();
    let (loud, quiet) = (ToneSource::start(A), ToneSource::start(B));
    quiet.set_sounding(false);
    graph
        .borrow_mut()
        .attach(1, Bus::P2p, &loud.stream)
        .expect("attach 1");
    graph
        .borrow_mut()
        .attach(2, Bus::Sfu, &quiet.stream)
        .expect("attach 2");
    let reports: Rc<RefCell<Vec<TimedReport>>> = Rc::default();
    let sink = Rc::clone(&reports);
    let mut monitor = LevelMonitor::for_graph(Rc::clone(&graph), move |r| {
        sink.borrow_mut().push((now_ms(), r))
    })
    .expect("monitor");
    let speaking = |id: u64| {
        let r = reports.borrow();
        r.last()
            .and_then(|(_, e)| e.iter().find(|(u, _, _)| *u == id).map(|e| e.1))
    };
    let start = now_ms();
    while speaking(1) != Some(true) && now_ms() - start < 3000.0 {
        sleep_ms(20).await;
    }
    assert_eq!(speaking(1), Some(true), "a loud tone is speaking");
    assert_eq!(speaking(2), Some(false), "a silent stream is not speaking");

    let steady = reports.borrow().len();
    sleep_ms(1000).await;
    assert_eq!(
        reports.borrow().len(),
        steady,
        "no callback while nothing changes"
    );

    loud.set_sounding(false);
    let start = now_ms();
    while speaking(1) != Some(false) && now_ms() - start < 3000.0 {
        sleep_ms(20).await;
    }
    assert_eq!(
        speaking(1),
        Some(false),
        "speaking ends after silence + hold"
    );
    let times: Vec<f64> = reports.borrow().iter().map(|(t, _)| *t).collect();
    assert!(
        times.windows(2).all(|w| w[1] - w[0] >= 95.0),
        "≤ 10 Hz: {times:?}"
    );

    monitor.stop();
    assert!(!monitor.is_running());
    let after = reports.borrow().len();
    loud.set_sounding(true);
    sleep_ms(500).await;
    assert_eq!(reports.borrow().len(), after, "no callback after stop");
}

fn connection_state(pc: &RtcPeerConnection) -> String {
    let state = js_sys::Reflect::get(pc, &"connectionState".into()).expect("state");
    state.as_string().unwrap_or_default()
}

#[wasm_bindgen_test]
async fn quality_monitor_reports_good_once_for_a_clean_link_and_poor_when_it_closes() {
    let tone = ToneSource::start(A);
    let link = Loopback::connect(&tone.stream).await;
    let start = now_ms();
    while connection_state(&link.pc2) != "connected" && now_ms() - start < 5000.0 {
        sleep_ms(20).await;
    }
    assert_eq!(connection_state(&link.pc2), "connected");
    sleep_ms(500).await; // let some audio packets arrive
    let peers = vec![(1u64, link.pc2.clone())];
    let reports: Rc<RefCell<Vec<Quality>>> = Rc::default();
    let sink = Rc::clone(&reports);
    let monitor = QualityMonitor::with_period(
        200,
        QualityTracker::new(),
        move || peers.clone(),
        move |q| sink.borrow_mut().push(q),
    )
    .expect("quality monitor");
    sleep_ms(1200).await;
    assert_eq!(
        *reports.borrow(),
        vec![Quality::Good],
        "one report while all stays good"
    );

    link.pc2.close();
    sleep_ms(600).await;
    assert_eq!(*reports.borrow(), vec![Quality::Good, Quality::Poor]);
    drop(monitor);
}
