#![cfg(target_arch = "wasm32")]
//! Recovery paths of the P2P call in real Chromium against the real reference server:
//! a signalling socket dropped by the server (P12: the client re-joins by itself and audio
//! comes back both ways), a camera added mid-call (renegotiation through negotiationneeded,
//! with the offer trimmed under the server's 4 KB frame limit), and a ghost participant who
//! never answers (P5: the offer is rolled back and retried, then given up with an error
//! event, while the rest of the call keeps working).

use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "browser_p2p_support/mod.rs"]
mod support;

use support::*;

#[wasm_bindgen_test]
async fn a_dropped_socket_rejoins_by_itself_and_audio_comes_back_both_ways() {
    let (_, clients) = call_of(2, "drop").await;
    let (a, b) = (&clients[0], &clients[1]);
    b.must_hear(&[a.freq], 20_000).await;
    let t0 = now_ms();
    let updates_before = b.updates.count();
    post_json(
        "/api/dev/drop-connections",
        &format!(r#"{{"user_id":{}}}"#, a.user_id),
    )
    .await
    .expect("drop A's sockets");
    // From the lists B was given (A may be back before a poll of getParticipants would see
    // the gap): one of them, after the drop, no longer has A.
    wait_until("B to see A leave", 5_000, || {
        b.updates.calls.borrow()[updates_before..]
            .iter()
            .any(|list| {
                !js_sys::Array::from(list)
                    .iter()
                    .any(|p| ParticipantView::from_js(&p).user_id == a.user_id)
            })
    })
    .await;
    wait_until("B to see A back", 15_000, || {
        b.participant(a.user_id).is_some()
    })
    .await;
    let connected = |c: &Client| {
        let pcs = c.service.service().peer_connections();
        pcs.len() == 1 && pcs[0].1.connection_state() == web_sys::RtcPeerConnectionState::Connected
    };
    wait_until("a fresh connection on both sides", 15_000, || {
        connected(a) && connected(b)
    })
    .await;
    // B closed its old connection on user-left, so after one analysis window whatever B
    // hears comes through the new connection.
    b.probe().settle().await;
    b.must_hear(&[a.freq], 5_000).await;
    a.must_hear(&[b.freq], 5_000).await;
    console_log!(
        "audio back both ways {:.0} ms after the drop",
        now_ms() - t0
    );
    assert!(a.participant(b.user_id).is_some(), "A's list was resynced");
    for c in &clients {
        c.service.leave_channel();
    }
}

#[wasm_bindgen_test]
async fn a_camera_added_mid_call_reaches_the_other_side_by_renegotiation() {
    let (_, clients) = call_of(2, "cam").await;
    let (a, b) = (&clients[0], &clients[1]);
    b.must_hear(&[a.freq], 20_000).await;
    let on = wasm_bindgen_futures::JsFuture::from(a.service.toggle_video())
        .await
        .expect("toggleVideo resolves");
    assert_eq!(on.as_bool(), Some(true));
    assert!(state_flag(&a.service, "videoEnabled"));
    wait_until("B to see A's video flag", 5_000, || {
        b.participant(a.user_id).is_some_and(|p| p.is_video_enabled)
    })
    .await;
    let video_tracks = || {
        b.service
            .get_participants()
            .iter()
            .filter_map(|p| js_sys::Reflect::get(&p, &"stream".into()).ok())
            .filter_map(|s| s.dyn_into::<web_sys::MediaStream>().ok())
            .map(|s| s.get_video_tracks().length())
            .sum::<u32>()
    };
    for _ in 0..100 {
        if video_tracks() == 1 {
            break;
        }
        sleep_ms(50).await;
    }
    assert_eq!(
        video_tracks(),
        1,
        "A's camera track never arrived at B; errors A {:?} B {:?}; A's connection {:?}; {}",
        a.errors.codes(),
        b.errors.codes(),
        a.service
            .service()
            .peer_connections()
            .iter()
            .map(|(_, pc)| (pc.signaling_state(), pc.connection_state()))
            .collect::<Vec<_>>(),
        describe_transceivers(a, b)
    );
    assert!(
        a.errors.codes().is_empty(),
        "no error at A: {:?}",
        a.errors.codes()
    );
    b.must_hear(&[a.freq], 2_000).await; // audio survived the renegotiation
    let off = wasm_bindgen_futures::JsFuture::from(a.service.toggle_video()).await;
    assert_eq!(off.ok().and_then(|v| v.as_bool()), Some(false));
    for c in &clients {
        c.service.leave_channel();
    }
}

fn describe_transceivers(a: &Client, b: &Client) -> String {
    let dump = |c: &Client| {
        c.service
            .service()
            .peer_connections()
            .iter()
            .map(|(_, pc)| {
                let sdp = pc.local_description().map(|d| d.sdp()).unwrap_or_default();
                let lines: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
                format!(
                    "{} transceivers, m-lines {lines:?}",
                    pc.get_transceivers().length()
                )
            })
            .collect::<Vec<_>>()
    };
    let local = a
        .service
        .get_local_stream()
        .map(|s| (s.get_audio_tracks().length(), s.get_video_tracks().length()));
    format!(
        "A local stream (audio, video) {local:?}, tone stream video {}; A: {:?}; B: {:?}",
        a.tone.stream.get_video_tracks().length(),
        dump(a),
        dump(b)
    )
}

#[wasm_bindgen_test]
async fn an_unanswered_offer_to_a_ghost_is_retried_then_reported_while_the_call_works() {
    let channel = unique_channel();
    let (token, ghost_id) = login("ghost").await;
    let url = format!(
        "{}/?token={}",
        ws_url(),
        String::from(js_sys::encode_uri_component(&token))
    );
    let ghost = RawSocket::new(&url);
    ghost.opened().await.expect("ghost socket opens");
    ghost.send(&format!(
        r#"{{"type":"voice:join","payload":{{"channel_id":{channel}}}}}"#
    ));
    sleep_ms(200).await;
    let config = js_sys::Object::new();
    js_sys::Reflect::set(&config, &"offerTimeoutMs".into(), &JsValue::from(300)).expect("set");
    let mut a = Client::with_config("caller", VOICE_FREQS[0], config.into()).await;
    let mut b = Client::new("answerer", VOICE_FREQS[1]).await;
    a.join(channel).await;
    b.join(channel).await;
    let t0 = now_ms();
    wait_until("A to give up on the ghost", 10_000, || {
        a.errors.codes().iter().any(|c| c == "p2p/offer-timeout")
    })
    .await;
    console_log!(
        "gave up on the ghost after {:.0} ms (3 retries of 300 ms)",
        now_ms() - t0
    );
    assert!(a.participant(ghost_id).is_some(), "the ghost stays listed");
    a.must_hear(&[b.freq], 5_000).await;
    b.must_hear(&[a.freq], 5_000).await;
    ghost.close();
    a.service.leave_channel();
    b.service.leave_channel();
}
