#![cfg(target_arch = "wasm32")]
//! Browser tests of the SFU client (`SfuClient`) in headless Chromium against the real
//! livekit-server, with LiveKit tokens minted by the reference back end: two clients with
//! distinct tone "microphones" hear each other, a mute silences and flags the speaker, and
//! leave releases the socket, both peer connections and every playing element.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Headers, MediaStreamTrack, Request, RequestInit, Response};

use sohbet_rtc::sfu::SfuClient;

mod common;
use common::audio::{EnergyProbe, ToneSource, PROBE_FFT_SIZE, VOICE_FREQS};
use common::net::dev_login;
use common::{http_url, unique_channel_id, unique_name, wait_until};

wasm_bindgen_test_configure!(run_in_browser);

fn js(context: &str) -> impl Fn(JsValue) -> String + '_ {
    move |e| format!("{context}: {e:?}")
}

/// `POST /api/voice/channels/:id/sfu-token` with the user's bearer token → (url, token).
async fn sfu_token(user_token: &str, channel: u64) -> Result<(String, String), String> {
    let init = RequestInit::new();
    init.set_method("POST");
    let headers = Headers::new().map_err(js("Headers"))?;
    headers
        .set("Authorization", &format!("Bearer {user_token}"))
        .map_err(js("header"))?;
    init.set_headers(&headers);
    let url = format!("{}/api/voice/channels/{channel}/sfu-token", http_url());
    let request = Request::new_with_str_and_init(&url, &init).map_err(js("Request"))?;
    let window = web_sys::window().ok_or("no window")?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(js("fetch sfu-token"))?
        .dyn_into()
        .map_err(js("Response"))?;
    let text = JsFuture::from(response.text().map_err(js("text"))?)
        .await
        .map_err(js("body"))?
        .as_string()
        .unwrap_or_default();
    if !response.ok() {
        return Err(format!("sfu-token HTTP {}: {text}", response.status()));
    }
    let reply: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let field = |k: &str| {
        reply[k]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("no {k} in {reply}"))
    };
    Ok((field("url")?, field("token")?))
}

struct Member {
    client: SfuClient,
    probe: EnergyProbe,
    tone: ToneSource,
    user_id: u64,
}

async fn join(name: &str, channel: u64, freq: f32) -> Result<Member, String> {
    let user = dev_login(&unique_name(name)).await?;
    let (url, token) = sfu_token(&user.token, channel).await?;
    let client = SfuClient::new(JsValue::UNDEFINED).map_err(js("SfuClient::new"))?;
    JsFuture::from(client.connect(url, token).map_err(js("connect"))?)
        .await
        .map_err(js("join"))?;
    let tone = ToneSource::start(freq);
    let track: MediaStreamTrack = tone.stream.get_audio_tracks().get(0).unchecked_into();
    JsFuture::from(client.publish(track))
        .await
        .map_err(js("publish"))?;
    let analyser = client.output_analyser(PROBE_FFT_SIZE).map_err(js("tap"))?;
    let rate = analyser.context().sample_rate();
    Ok(Member {
        client,
        probe: EnergyProbe::new(analyser, rate),
        tone,
        user_id: user.id,
    })
}

fn stat(client: &SfuClient, key: &str) -> JsValue {
    js_sys::Reflect::get(&client.stats(), &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn sees_muted(viewer: &SfuClient, user_id: u64) -> Option<bool> {
    let list: js_sys::Array = viewer.participants().unchecked_into();
    list.iter().find_map(|p| {
        let id = js_sys::Reflect::get(&p, &"userId".into()).ok()?.as_f64()?;
        (id as u64 == user_id)
            .then(|| js_sys::Reflect::get(&p, &"isMuted".into()).ok()?.as_bool())
            .flatten()
    })
}

#[wasm_bindgen_test]
async fn two_sfu_clients_hear_each_other_and_not_themselves() -> Result<(), String> {
    let channel = unique_channel_id();
    let a = join("sfu-a", channel, VOICE_FREQS[0]).await?;
    let b = join("sfu-b", channel, VOICE_FREQS[1]).await?;
    let (fa, fb) = (a.tone.freq_hz, b.tone.freq_hz);
    wait_until("a hears b", 20_000, || a.probe.hears(fb)).await?;
    wait_until("b hears a", 20_000, || b.probe.hears(fa)).await?;
    a.probe.settle().await; // let the onset splatter of b's tone leave the analysis window
    assert!(
        !a.probe.hears(fa),
        "a hears itself: {}",
        a.probe.describe(&[fa, fb])
    );
    assert_eq!(sees_muted(&b.client, a.user_id), Some(false));
    JsFuture::from(a.client.leave())
        .await
        .map_err(js("leave"))?;
    JsFuture::from(b.client.leave())
        .await
        .map_err(js("leave"))?;
    Ok(())
}

#[wasm_bindgen_test]
async fn a_muted_sfu_client_goes_silent_and_leave_releases_everything() -> Result<(), String> {
    let channel = unique_channel_id();
    let a = join("sfu-mute-a", channel, VOICE_FREQS[2]).await?;
    let b = join("sfu-mute-b", channel, VOICE_FREQS[3]).await?;
    let fa = a.tone.freq_hz;
    wait_until("b hears a", 20_000, || b.probe.hears(fa)).await?;
    a.client.set_muted(true);
    wait_until("b sees a muted", 10_000, || {
        sees_muted(&b.client, a.user_id) == Some(true)
    })
    .await?;
    wait_until("b stops hearing a", 5_000, || !b.probe.hears(fa)).await?;
    b.probe.settle().await;
    assert!(!b.probe.hears(fa), "a muted but b still hears it");
    a.client.set_muted(false);
    wait_until("b hears a again", 10_000, || b.probe.hears(fa)).await?;
    JsFuture::from(a.client.leave())
        .await
        .map_err(js("leave"))?;
    wait_until("a leaves b's list", 10_000, || {
        sees_muted(&b.client, a.user_id).is_none()
    })
    .await?;
    assert_eq!(
        stat(&a.client, "state").as_string().as_deref(),
        Some("closed")
    );
    assert_eq!(stat(&a.client, "socketOpen").as_bool(), Some(false));
    assert_eq!(stat(&a.client, "openPeerConnections").as_f64(), Some(0.0));
    assert_eq!(stat(&a.client, "graphElements").as_f64(), Some(0.0));
    wait_until("b's element for a removed", 5_000, || {
        stat(&b.client, "graphElements").as_f64() == Some(0.0)
    })
    .await?;
    JsFuture::from(b.client.leave())
        .await
        .map_err(js("leave"))?;
    Ok(())
}
