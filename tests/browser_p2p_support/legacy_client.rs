//! The imitation of the old TypeScript client (`legacy.js`: offers from both sides at the old
//! timings, payloads as JSON strings with the C++ server's trailing brace, its own raw socket),
//! for the mixed-room tests and benchmark.
#![allow(dead_code)]

use wasm_bindgen::prelude::*;

use super::support::{login, ws_url, Client, VOICE_FREQS};

/// The voice of the legacy client and the voice of ours in [`pair`].
pub const LEGACY_FREQ: f32 = VOICE_FREQS[5];
pub const OURS_FREQ: f32 = VOICE_FREQS[2];

/// A fresh legacy client (not yet in a call) and one of ours, logged in so that the legacy
/// client has the lower user id (`legacy_lower_id`: the polite side, which offers to a
/// newcomer at once and rolls back on glare) or the higher one.
pub async fn pair(legacy_lower_id: bool) -> (LegacyClient, u64, Client) {
    let early = match legacy_lower_id {
        false => Some(Client::new("modern", OURS_FREQ).await),
        true => None,
    };
    let (token, legacy_id) = login("legacy").await;
    let legacy = LegacyClient::new(ws_url(), &token, legacy_id as f64, f64::from(LEGACY_FREQ));
    let ours = match early {
        Some(client) => client,
        None => Client::new("modern", OURS_FREQ).await,
    };
    (legacy, legacy_id, ours)
}

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
    #[wasm_bindgen(method, js_name = rollbacksMade)]
    pub fn rollbacks_made(this: &LegacyClient) -> u32;
    #[wasm_bindgen(method, js_name = candidatesFrom)]
    pub fn candidates_from(this: &LegacyClient, user_id: f64) -> u32;
    #[wasm_bindgen(method)]
    pub fn close(this: &LegacyClient);
    #[wasm_bindgen(method)]
    pub fn vanish(this: &LegacyClient);
    #[wasm_bindgen(method, js_name = offersWhileVanished)]
    pub fn offers_while_vanished(this: &LegacyClient) -> u32;
    #[wasm_bindgen(method, js_name = loseCandidatesFor)]
    pub fn lose_candidates_for(this: &LegacyClient, ms: f64);

}
