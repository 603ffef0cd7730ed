//! Helpers of the P2P browser suites (`tests/browser_p2p*.rs`, `tests/bench_p2p.rs`): a test
//! [`Client`] is one person in the call — a dev login on the real reference server, its own
//! `WebRtcService` over its own built-in WebSocket, its own oscillator "microphone" at a
//! distinct frequency, and an energy probe on its audio output, so tests can ask who hears
//! whom. Also raw REST helpers and the recorders for callbacks.

#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use sohbet_rtc::facade::WebRtcService;
use sohbet_rtc::signal::transport::{SignalingClient, WsClient};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[path = "../common/audio.rs"]
pub mod audio;

pub use audio::{sleep_ms, EnergyProbe, ToneSource, VOICE_FREQS};

#[wasm_bindgen(module = "/tests/browser_p2p_support/legacy.js")]
extern "C" {
    /// A bare voice:* WebSocket (legacy.js), for sending hand-made frames.
    pub type RawSocket;
    #[wasm_bindgen(constructor)]
    pub fn new(url: &str) -> RawSocket;
    #[wasm_bindgen(method, catch)]
    pub async fn opened(this: &RawSocket) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method)]
    pub fn send(this: &RawSocket, text: &str);
    #[wasm_bindgen(method)]
    pub fn close(this: &RawSocket);
}

thread_local! {
    static CPP_SERVER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, [`http_url`] and [`ws_url`] name the reference server started in its
/// C++-compatible mode (`--cpp-quirks`: coalesced frames lost, trailing braces, lean
/// participants), so a test runs against what is deployed. Tests run one at a time.
pub struct CppServer;

impl CppServer {
    pub fn select() -> CppServer {
        CPP_SERVER.with(|c| c.set(true));
        CppServer
    }
}

impl Drop for CppServer {
    fn drop(&mut self) {
        CPP_SERVER.with(|c| c.set(false));
    }
}

fn cpp() -> bool {
    CPP_SERVER.with(|c| c.get())
}

/// The reference server's REST base.
pub fn http_url() -> &'static str {
    match cpp() {
        true => option_env!("SOHBET_CPP_HTTP_URL").unwrap_or("http://127.0.0.1:18090"),
        false => option_env!("SOHBET_HTTP_URL").unwrap_or("http://127.0.0.1:18080"),
    }
    .trim_end_matches('/')
}

/// A `WebRtcService` over a new built-in `SignalingClient` that starts connecting with `token`
/// (joinChannel waits for the socket to open, P18), as the package's `webrtcService` does; with
/// a handle on that socket (to close it).
pub fn service_with_own_socket(token: String, config: JsValue) -> (WebRtcService, WsClient) {
    let socket = SignalingClient::new(ws_url().into());
    // A failure surfaces as joinChannel's not-connected error.
    let _ = socket.connect(token);
    let handle = socket.transport();
    let service =
        WebRtcService::new(socket.into(), config).expect("a SignalingClient is a valid socket");
    (service, handle)
}

/// The reference server's voice socket base.
pub fn ws_url() -> &'static str {
    match cpp() {
        true => option_env!("SOHBET_CPP_WS_URL").unwrap_or("ws://127.0.0.1:18091"),
        false => option_env!("SOHBET_WS_URL").unwrap_or("ws://127.0.0.1:18081"),
    }
    .trim_end_matches('/')
}

/// `obj[key]` (undefined when missing).
pub fn prop(obj: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `obj[name]()` (undefined when it is not a function or throws).
pub fn call(obj: &JsValue, name: &str) -> JsValue {
    prop(obj, name)
        .dyn_into::<js_sys::Function>()
        .ok()
        .and_then(|f| f.call0(obj).ok())
        .unwrap_or(JsValue::UNDEFINED)
}

/// A boolean of `service.state()`, as the singleton's `is…Status` getters read it.
pub fn state_flag(service: &WebRtcService, key: &str) -> bool {
    prop(&service.state(), key).as_bool() == Some(true)
}

pub fn now_ms() -> f64 {
    audio::now_ms()
}

/// A random channel id no other run uses (rooms need not exist beforehand).
pub fn unique_channel() -> f64 {
    (100_000 + (js_sys::Math::random() * 899_999.0) as u64) as f64
}

/// `POST <http>/path` with a JSON body; returns the parsed JSON reply.
pub async fn post_json(path: &str, body: &str) -> Result<JsValue, String> {
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(body));
    let headers = web_sys::Headers::new().map_err(|e| format!("{e:?}"))?;
    headers
        .set("Content-Type", "application/json")
        .map_err(|e| format!("{e:?}"))?;
    init.set_headers(&headers);
    let url = format!("{}{}", http_url(), path);
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_str_and_init(&url, &init))
        .await
        .map_err(|e| format!("fetch {url}: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a Response")?;
    let json = resp.json().map_err(|e| format!("{e:?}"))?;
    JsFuture::from(json).await.map_err(|e| format!("{e:?}"))
}

/// Dev login: `(token, user id)`.
pub async fn login(name: &str) -> (String, u64) {
    let reply = post_json("/api/dev/login", &format!(r#"{{"username":"{name}"}}"#))
        .await
        .unwrap_or_else(|e| panic!("dev login failed (is the reference server up?): {e}"));
    let token = js_sys::Reflect::get(&reply, &"token".into())
        .ok()
        .and_then(|t| t.as_string())
        .expect("token in login reply");
    let user = js_sys::Reflect::get(&reply, &"user".into()).expect("user in login reply");
    let id = audio::js_number(&user, "id").expect("user.id") as u64;
    (token, id)
}

/// Polls `cond` every 20 ms; Err after `timeout_ms`, naming `what`.
pub async fn wait_until(what: &str, timeout_ms: u32, mut cond: impl FnMut() -> bool) -> f64 {
    let start = now_ms();
    loop {
        if cond() {
            return now_ms() - start;
        }
        if now_ms() - start > f64::from(timeout_ms) {
            panic!("timed out after {timeout_ms} ms waiting for {what}");
        }
        sleep_ms(20).await;
    }
}

/// The first payload argument of every service event of one type.
#[derive(Clone, Default)]
pub struct Recorder {
    pub calls: Rc<RefCell<Vec<JsValue>>>,
}

impl Recorder {
    pub fn count(&self) -> usize {
        self.calls.borrow().len()
    }

    /// The `code` fields of recorded `{code, message}` objects.
    pub fn codes(&self) -> Vec<String> {
        self.calls
            .borrow()
            .iter()
            .filter_map(|v| js_sys::Reflect::get(v, &"code".into()).ok()?.as_string())
            .collect()
    }
}

/// One person in the call.
pub struct Client {
    pub name: String,
    pub user_id: u64,
    pub freq: f32,
    pub tone: ToneSource,
    pub service: WebRtcService,
    pub probe: Option<EnergyProbe>,
    pub errors: Recorder,
    pub updates: Recorder,
    pub quality: Recorder,
    /// The service's `onEvent` listener, routing `(type, payload)` to the recorders above.
    _listener: Closure<dyn FnMut(JsValue, JsValue)>,
    /// The client's own socket (closed when the client is dropped).
    pub socket: WsClient,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.socket.disconnect();
    }
}

impl Client {
    /// Logs in, opens its own socket, and prepares a tone at `freq` as its microphone.
    pub async fn new(name: &str, freq: f32) -> Client {
        Client::with_config(name, freq, JsValue::UNDEFINED).await
    }

    /// Like [`Client::new`], with a `WebRTCConfig` object.
    pub async fn with_config(name: &str, freq: f32, config: JsValue) -> Client {
        let (token, user_id) = login(name).await;
        let (service, socket) = service_with_own_socket(token, config);
        let tone = ToneSource::start(freq);
        service.set_local_stream(Some(Clone::clone(&tone.stream)));
        let (errors, updates, quality) = <(Recorder, Recorder, Recorder)>::default();
        let routes = [
            ("error", errors.clone()),
            ("participants", updates.clone()),
            ("quality", quality.clone()),
        ];
        let listener = Closure::<dyn FnMut(JsValue, JsValue)>::new(move |kind: JsValue, a| {
            if let Some((_, to)) = routes
                .iter()
                .find(|(k, _)| kind.as_string().as_deref() == Some(k))
            {
                to.calls.borrow_mut().push(a);
            }
        });
        service.on_event(listener.as_ref().clone());
        Client {
            name: name.into(),
            user_id,
            freq,
            tone,
            service,
            probe: None,
            errors,
            updates,
            quality,
            _listener: listener,
            socket,
        }
    }

    /// joinChannel, then taps the output with an energy probe.
    pub async fn join(&mut self, channel: f64) {
        JsFuture::from(
            self.service
                .join_channel(channel, self.user_id as f64, Some(true)),
        )
        .await
        .unwrap_or_else(|e| panic!("{} could not join: {e:?}", self.name));
        let probe = self
            .service
            .service()
            .with_graph(EnergyProbe::on_graph)
            .expect("a call graph after join")
            .expect("an output tap");
        self.probe = Some(probe);
    }

    pub fn probe(&self) -> &EnergyProbe {
        self.probe.as_ref().expect("joined")
    }

    pub fn hears(&self, freq: f32) -> bool {
        self.probe.as_ref().is_some_and(|p| p.hears(freq))
    }

    /// Waits until every frequency is heard; panics with the spectrum otherwise.
    pub async fn must_hear(&self, freqs: &[f32], timeout_ms: u32) -> f64 {
        self.probe()
            .wait_until_hears(freqs, timeout_ms)
            .await
            .unwrap_or_else(|e| panic!("{} does not hear: {e}", self.name))
    }

    pub async fn must_not_hear(&self, freqs: &[f32], timeout_ms: u32) -> f64 {
        self.probe()
            .wait_until_silent(freqs, timeout_ms)
            .await
            .unwrap_or_else(|e| panic!("{} still hears: {e}", self.name))
    }

    /// The current `getParticipants()` as (userId, username, university, isMuted).
    pub fn participants(&self) -> Vec<ParticipantView> {
        self.service
            .get_participants()
            .iter()
            .map(|p| ParticipantView::from_js(&p))
            .collect()
    }

    pub fn participant(&self, user_id: u64) -> Option<ParticipantView> {
        self.participants()
            .into_iter()
            .find(|p| p.user_id == user_id)
    }

    pub fn peer_count(&self) -> usize {
        self.service.service().peer_connections().len()
    }
}

/// A `VoiceParticipant` object read back from JS.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantView {
    pub user_id: u64,
    pub username: String,
    pub university: String,
    pub is_muted: bool,
    pub is_video_enabled: bool,
    pub is_speaking: bool,
    pub audio_level: f64,
    pub has_stream: bool,
}

impl ParticipantView {
    pub fn from_js(v: &JsValue) -> ParticipantView {
        let get = |k: &str| js_sys::Reflect::get(v, &JsValue::from_str(k)).unwrap_or_default();
        ParticipantView {
            user_id: get("userId").as_f64().unwrap_or(-1.0) as u64,
            username: get("username").as_string().unwrap_or_default(),
            university: get("university")
                .as_string()
                .unwrap_or_else(|| "<missing>".into()),
            is_muted: get("isMuted").as_bool().expect("isMuted is a boolean"),
            is_video_enabled: get("isVideoEnabled").as_bool().expect("isVideoEnabled"),
            is_speaking: get("isSpeaking").as_bool().expect("isSpeaking"),
            audio_level: get("audioLevel").as_f64().expect("audioLevel"),
            has_stream: get("stream").is_instance_of::<web_sys::MediaStream>(),
        }
    }
}

/// A line in the browser console (shown by the test runner).
pub fn log(line: &str) {
    web_sys::console::log_1(&JsValue::from_str(line));
}

/// Number of `<audio>` elements in the page.
pub fn audio_elements() -> u32 {
    js_sys::eval("document.querySelectorAll('audio').length")
        .ok()
        .and_then(|v| v.as_f64())
        .map_or(0, |n| n as u32)
}

/// Joins `n` clients to one fresh channel, one after the other.
pub async fn call_of(n: usize, tag: &str) -> (f64, Vec<Client>) {
    let channel = unique_channel();
    let mut clients = Vec::new();
    for (i, freq) in VOICE_FREQS.iter().take(n).enumerate() {
        let mut c = Client::new(&format!("{tag}{i}"), *freq).await;
        c.join(channel).await;
        clients.push(c);
    }
    (channel, clients)
}

/// Every client lists every other one with the right fields and hears every other voice.
pub async fn everyone_lists_and_hears_everyone(clients: &[Client]) {
    for c in clients {
        let others: Vec<&Client> = clients.iter().filter(|o| o.user_id != c.user_id).collect();
        wait_until(
            &format!("{} to list {} others", c.name, others.len()),
            15_000,
            || c.participants().len() == others.len(),
        )
        .await;
        for o in &others {
            let p = c
                .participant(o.user_id)
                .unwrap_or_else(|| panic!("{} lists {}", c.name, o.name));
            assert_eq!(p.username, o.name);
            assert_eq!(
                p.university, "",
                "university is '' when the server sends none"
            );
            assert!(!p.is_muted && !p.is_video_enabled);
            assert!((0.0..=1.0).contains(&p.audio_level));
        }
        let freqs: Vec<f32> = others.iter().map(|o| o.freq).collect();
        let ms = c.must_hear(&freqs, 20_000).await;
        log(&format!(
            "{} hears {:?} after {:.0} ms more",
            c.name, freqs, ms
        ));
        c.probe().settle().await;
        // Its own frequency carries only codec residue (measured ≈ 50 dB below the voices),
        // never its own voice: compare it with the median remote voice.
        let mut voices: Vec<f32> = freqs.iter().map(|f| c.probe().energy_at(*f)).collect();
        voices.sort_by(|x, y| x.total_cmp(y));
        let median_voice = voices[voices.len() / 2];
        let own = c.probe().energy_at(c.freq);
        log(&format!(
            "{}: median voice {median_voice:.1} dB, own frequency {own:.1} dB above the floor",
            c.name
        ));
        assert!(
            own < median_voice - 20.0,
            "{} hears its own voice: {}",
            c.name,
            c.probe().describe(&[c.freq])
        );
    }
}
