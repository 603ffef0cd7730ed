//! The imitation of the old TypeScript client (`legacy.js`: offers from both sides at the old
//! timings, payloads as JSON strings with the C++ server's trailing brace, its own raw socket),
//! for the mixed-room tests and benchmark.
#![allow(dead_code)]

use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/tests/browser_p2p_support/legacy.js")]
extern "C" {
    pub type LegacyClient;
    #[wasm_bindgen(constructor)]
    pub fn new(ws_url: &str, token: &str, user_id: f64, freq: f64) -> LegacyClient;
    #[wasm_bindgen(method, catch)]
    pub async fn start(this: &LegacyClient, channel_id: f64) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method)]
    pub fn analyser(this: &LegacyClient) -> web_sys::AnalyserNode;
    #[wasm_bindgen(method, js_name = sampleRate)]
    pub fn sample_rate(this: &LegacyClient) -> f32;
    #[wasm_bindgen(method, js_name = peerCount)]
    pub fn peer_count(this: &LegacyClient) -> u32;
    #[wasm_bindgen(method)]
    pub fn describe(this: &LegacyClient) -> String;
    #[wasm_bindgen(method, js_name = offersSent)]
    pub fn offers_sent(this: &LegacyClient) -> u32;
    #[wasm_bindgen(method)]
    pub fn close(this: &LegacyClient);
    #[wasm_bindgen(method, js_name = loseCandidatesFor)]
    pub fn lose_candidates_for(this: &LegacyClient, ms: f64);

}
