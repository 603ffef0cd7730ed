#![cfg(target_arch = "wasm32")]
//! P2P mesh in real headless Chromium against the real reference server: several clients in
//! one page, each with its own `WebRtcService`, its own WebSocket and its own oscillator voice
//! at a distinct frequency. "Hears" means measured energy at that voice's frequency at the
//! receiver's audio OUTPUT (an FFT tap on the call's master bus).

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "browser_p2p_support/mod.rs"]
mod support;

use support::*;

#[wasm_bindgen_test]
async fn two_clients_list_and_hear_each_other() {
    let (_, clients) = call_of(2, "duo").await;
    everyone_lists_and_hears_everyone(&clients).await;
    // Reported on change only; while the connection is still being set up it may read
    // 'poor'/'medium' (compat-spec §4 overall rule), then 'good' on loopback.
    wait_until("the connection quality to read 'good'", 8_000, || {
        clients[0]
            .quality
            .calls
            .borrow()
            .last()
            .and_then(|q| q.as_string())
            .as_deref()
            == Some("good")
    })
    .await;
    for c in &clients {
        assert_eq!(c.peer_count(), 1, "{} has one peer connection", c.name);
        assert!(
            c.participants()[0].has_stream,
            "the participant carries its stream"
        );
        assert!(
            c.errors.codes().is_empty(),
            "no errors: {:?}",
            c.errors.codes()
        );
    }
    for c in &clients {
        c.service.leave_channel();
    }
}

#[wasm_bindgen_test]
async fn three_clients_list_and_hear_each_other() {
    let (_, clients) = call_of(3, "trio").await;
    everyone_lists_and_hears_everyone(&clients).await;
    for c in &clients {
        assert_eq!(c.peer_count(), 2, "{} has two peer connections", c.name);
        assert!(
            c.errors.codes().is_empty(),
            "no errors: {:?}",
            c.errors.codes()
        );
    }
    for c in &clients {
        c.service.leave_channel();
    }
}

#[wasm_bindgen_test]
async fn muting_is_seen_by_others_and_silences_that_voice_until_unmuted() {
    let (_, clients) = call_of(2, "mute").await;
    let (a, b) = (&clients[0], &clients[1]);
    b.must_hear(&[a.freq], 20_000).await;
    wait_until("B to see A speaking", 5_000, || {
        b.participant(a.user_id)
            .is_some_and(|p| p.is_speaking && p.audio_level > 0.0)
    })
    .await;
    // Speaking updates reach the app only on change, at most ~10 Hz (P7): a steady tone
    // produces next to no participant callbacks.
    let before = b.updates.count();
    sleep_ms(2_000).await;
    let calls = b.updates.count() - before;
    console_log!("{calls} participant callbacks in 2 s of steady speech");
    assert!(
        calls <= 20,
        "{calls} participant callbacks in 2 s (over 10 Hz)"
    );
    assert!(a.service.toggle_mute(), "toggleMute returns the new state");
    assert!(state_flag(&a.service, "muted"));
    wait_until("B to see A muted", 5_000, || {
        b.participant(a.user_id).is_some_and(|p| p.is_muted)
    })
    .await;
    let ms = b.must_not_hear(&[a.freq], 5_000).await;
    console_log!(
        "A's voice fell silent at B {:.0} ms after B saw the mute",
        ms
    );
    a.must_hear(&[b.freq], 2_000).await; // B still reaches A
    assert!(!a.service.toggle_mute());
    wait_until("B to see A unmuted", 5_000, || {
        b.participant(a.user_id).is_some_and(|p| !p.is_muted)
    })
    .await;
    b.must_hear(&[a.freq], 5_000).await;
    for c in &clients {
        c.service.leave_channel();
    }
}

#[wasm_bindgen_test]
async fn volume_zero_silences_only_that_voice_and_deafen_silences_everyone() {
    let (_, clients) = call_of(3, "vol").await;
    let (a, b, c) = (&clients[0], &clients[1], &clients[2]);
    a.must_hear(&[b.freq, c.freq], 20_000).await;
    let updates_before = a.updates.count();
    a.service.set_participant_volume(b.user_id as f64, 0.0);
    assert_eq!(
        a.service.get_participant_volume(b.user_id as f64),
        0.0,
        "0 reads back 0"
    );
    assert_eq!(a.service.get_participant_volume(c.user_id as f64), 1.0);
    a.must_not_hear(&[b.freq], 3_000).await;
    a.probe().settle().await;
    assert!(
        a.hears(c.freq),
        "C stays audible: {}",
        a.probe().describe(&[b.freq, c.freq])
    );
    wait_until(
        "a participant callback after setParticipantVolume",
        2_000,
        || a.updates.count() > updates_before,
    )
    .await;
    a.service.set_participant_volume(b.user_id as f64, 1.0);
    a.must_hear(&[b.freq, c.freq], 3_000).await;

    assert!(a.service.toggle_deafen(), "deafened");
    assert!(
        state_flag(&a.service, "muted"),
        "deafening while unmuted also mutes"
    );
    a.must_not_hear(&[b.freq, c.freq], 3_000).await;
    b.must_not_hear(&[a.freq], 5_000).await;
    assert!(!a.service.toggle_deafen(), "undeafened");
    assert!(
        state_flag(&a.service, "muted"),
        "undeafening does not unmute"
    );
    a.must_hear(&[b.freq, c.freq], 3_000).await;
    for c in &clients {
        c.service.leave_channel();
    }
}

#[wasm_bindgen_test]
async fn a_leaver_is_dropped_by_the_others_and_releases_everything() {
    let elements_before = audio_elements();
    let (_, mut clients) = call_of(3, "leave").await;
    everyone_lists_and_hears_everyone(&clients).await;
    let leaver = clients.remove(2);
    let pcs: Vec<_> = leaver.service.service().peer_connections();
    assert_eq!(pcs.len(), 2);
    let nodes = leaver
        .service
        .service()
        .with_graph(|g| (g.node_count(), g.element_count()));
    assert!(
        nodes.is_some_and(|(n, e)| n > 0 && e == 2),
        "graph in use: {nodes:?}"
    );

    leaver.service.leave_channel();
    leaver.service.leave_channel(); // khave calls it twice: harmless
    for c in &clients {
        wait_until(&format!("{} to drop the leaver", c.name), 5_000, || {
            c.participant(leaver.user_id).is_none() && c.peer_count() == 1
        })
        .await;
        c.must_not_hear(&[leaver.freq], 5_000).await;
    }
    for (_, pc) in &pcs {
        assert_eq!(
            pc.connection_state(),
            web_sys::RtcPeerConnectionState::Closed
        );
    }
    assert_eq!(leaver.peer_count(), 0);
    assert!(leaver
        .service
        .service()
        .with_graph(|g| g.node_count())
        .is_none());
    assert!(leaver.participants().is_empty());
    assert!(leaver.service.get_local_stream().is_none());
    wait_until("the leaver's participant callback with []", 2_000, || {
        leaver
            .updates
            .calls
            .borrow()
            .last()
            .is_some_and(|l| js_sys::Array::from(l).length() == 0)
    })
    .await;
    for c in &clients {
        c.service.leave_channel();
    }
    assert_eq!(
        audio_elements(),
        elements_before,
        "no <audio> element left behind"
    );
}

#[wasm_bindgen_test]
async fn leaving_during_the_microphone_prompt_leaves_no_live_track_and_sends_no_join() {
    js_sys::eval(
        "window.__captured = []; const md = navigator.mediaDevices; \
         if (!md.__wrapped) { const orig = md.getUserMedia.bind(md); md.__wrapped = true; \
           md.getUserMedia = async (c) => { window.__pending = (window.__pending || 0) + 1; \
           const s = await orig(c); await new Promise(r => setTimeout(r, 300)); \
           window.__captured.push(s); window.__pending -= 1; return s; }; }",
    )
    .expect("wrap getUserMedia");
    let (channel, clients) = call_of(1, "watch").await;
    let watcher = &clients[0];
    let (token, user_id) = login("prompt").await;
    let (late, late_socket) = service_with_own_socket(token, wasm_bindgen::JsValue::UNDEFINED);
    let join = late.join_channel(channel, user_id as f64, Some(true)); // uses getUserMedia
    let join = wasm_bindgen_futures::JsFuture::from(join);
    let pending = || {
        js_sys::eval("window.__pending")
            .ok()
            .and_then(|v| v.as_f64())
            == Some(1.0)
    };
    let outcome = futures::join!(join, async {
        wait_until("the microphone request to be pending", 5_000, pending).await;
        late.leave_channel(); // while the capture is pending
    })
    .0;
    let code = outcome
        .err()
        .and_then(|e| js_sys::Reflect::get(&e, &"code".into()).ok())
        .and_then(|c| c.as_string());
    assert_eq!(code.as_deref(), Some("service/join-aborted"));
    let live = js_sys::eval(
        "window.__captured.flatMap(s => s.getTracks()).filter(t => t.readyState === 'live').length",
    )
    .ok()
    .and_then(|v| v.as_f64());
    let captured = js_sys::eval("window.__captured.length")
        .ok()
        .and_then(|v| v.as_f64());
    assert_eq!(captured, Some(1.0), "the microphone was really requested");
    assert_eq!(live, Some(0.0), "the captured track was stopped");
    sleep_ms(1_000).await;
    assert!(
        watcher.participant(user_id).is_none(),
        "no voice:join reached the room"
    );
    assert!(late.get_local_stream().is_none());
    late_socket.disconnect();
    watcher.service.leave_channel();
}

#[wasm_bindgen_test]
async fn a_service_over_the_apps_own_socket_object_hears_and_unhooks_on_drop() {
    use sohbet_rtc::facade::WebRtcService;
    use sohbet_rtc::signal::transport::SignalingClient;
    use wasm_bindgen::JsValue;
    use wasm_bindgen_futures::JsFuture;

    let (channel, clients) = call_of(1, "host").await;
    let host = &clients[0];
    let (token, user_id) = login("appsock").await;
    // The app's `websocketService`: one socket per tab, shared with the voice engine (P17).
    let app_socket = SignalingClient::new(ws_url().into());
    JsFuture::from(app_socket.connect(token))
        .await
        .expect("app socket opens");
    let app_socket = JsValue::from(app_socket);
    let handlers = || {
        prop(&call(&app_socket, "stats"), "handlers")
            .as_f64()
            .unwrap_or(-1.0)
    };
    assert_eq!(handlers(), 0.0);
    let service = WebRtcService::new(app_socket.clone(), JsValue::UNDEFINED).expect("constructs");
    assert!(
        handlers() > 0.0,
        "the voice engine listens on the app's socket"
    );
    let tone = ToneSource::start(VOICE_FREQS[3]);
    service.set_local_stream(Some(Clone::clone(&tone.stream)));
    JsFuture::from(service.join_channel(channel, user_id as f64, None))
        .await
        .expect("joins over the app socket");
    let probe = service
        .service()
        .with_graph(EnergyProbe::on_graph)
        .expect("graph")
        .expect("tap");
    probe
        .wait_until_hears(&[host.freq], 20_000)
        .await
        .expect("hears the host");
    host.must_hear(&[VOICE_FREQS[3]], 20_000).await;
    service.leave_channel();
    drop(service);
    assert_eq!(handlers(), 0.0, "every handler it registered was removed");
    host.service.leave_channel();
}

#[wasm_bindgen_test]
async fn mute_is_reset_by_a_rejoin_and_deafen_also_covers_peers_who_join_later() {
    let (channel, mut clients) = call_of(2, "p10").await;
    clients[0].must_hear(&[clients[1].freq], 20_000).await;
    // P10: mute, leave, join again: the new call starts unmuted and is heard.
    assert!(clients[0].service.toggle_mute());
    clients[0].service.leave_channel();
    assert!(
        !state_flag(&clients[0].service, "muted"),
        "leave resets mute"
    );
    clients[0].join(channel).await;
    assert!(!state_flag(&clients[0].service, "muted"));
    clients[1].must_hear(&[clients[0].freq], 20_000).await;

    // Deafen now; a third person joins afterwards and must not be heard either.
    assert!(clients[0].service.toggle_deafen());
    let mut late = Client::new("p10late", VOICE_FREQS[2]).await;
    late.join(channel).await;
    let a = &clients[0];
    wait_until("A's connection to the late joiner", 15_000, || {
        a.service
            .service()
            .peer_connections()
            .iter()
            .filter(|(_, pc)| pc.connection_state() == web_sys::RtcPeerConnectionState::Connected)
            .count()
            == 2
    })
    .await;
    late.must_hear(&[clients[1].freq], 10_000).await; // the late joiner's audio works
    sleep_ms(500).await;
    a.probe().settle().await;
    assert!(
        !a.hears(late.freq) && !a.hears(clients[1].freq),
        "deafened A hears nobody: {}",
        a.probe().describe(&[late.freq, clients[1].freq])
    );
    assert!(!a.service.toggle_deafen());
    a.must_hear(&[late.freq, clients[1].freq], 5_000).await;
    late.service.leave_channel();
    for c in &clients {
        c.service.leave_channel();
    }
}
