//! Shared helpers for the test suites. Each `tests/*.rs` file includes them with `mod common;`.
//!
//! - server addresses, read at COMPILE time with `option_env!` (scripts/test.sh exports
//!   SOHBET_HTTP_URL / SOHBET_WS_URL / SOHBET_LIVEKIT_URL before `wasm-pack test`), with the
//!   test script's defaults;
//! - browser time helpers: [`now_ms`], [`sleep_ms`], [`wait_until`] (poll with a timeout —
//!   a failure names what was awaited instead of hanging the suite), unique names and ids;
//! - `net` (browser): dev login over REST, fault injection (`drop_connections`), and an
//!   [`net::EventLog`] that records a transport's events;
//! - `audio` (browser): tone sources and output energy probes.

#![allow(dead_code)]

#[cfg(target_arch = "wasm32")]
pub mod audio;
#[cfg(target_arch = "wasm32")]
pub mod net;

/// The reference server's HTTP (REST) base URL used when SOHBET_HTTP_URL is not set.
pub const DEFAULT_HTTP_URL: &str = "http://127.0.0.1:18080";
/// The reference server's WebSocket base URL used when SOHBET_WS_URL is not set.
pub const DEFAULT_WS_URL: &str = "ws://127.0.0.1:18081";
/// The livekit-server URL used when SOHBET_LIVEKIT_URL is not set.
pub const DEFAULT_LIVEKIT_URL: &str = "ws://127.0.0.1:17880";

/// The reference server's REST base, e.g. `http://127.0.0.1:18080` (no trailing slash).
pub fn http_url() -> &'static str {
    trim(option_env!("SOHBET_HTTP_URL").unwrap_or(DEFAULT_HTTP_URL))
}

/// The reference server's voice socket base, e.g. `ws://127.0.0.1:18081`.
pub fn ws_url() -> &'static str {
    trim(option_env!("SOHBET_WS_URL").unwrap_or(DEFAULT_WS_URL))
}

/// The livekit-server base, e.g. `ws://127.0.0.1:17880`.
pub fn livekit_url() -> &'static str {
    trim(option_env!("SOHBET_LIVEKIT_URL").unwrap_or(DEFAULT_LIVEKIT_URL))
}

fn trim(url: &'static str) -> &'static str {
    url.trim_end_matches('/')
}

#[cfg(target_arch = "wasm32")]
pub use browser_time::*;

#[cfg(target_arch = "wasm32")]
mod browser_time {
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    /// Milliseconds since the page started (`performance.now()`), or `Date.now()` without it.
    pub fn now_ms() -> f64 {
        let perf = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
            .ok()
            .and_then(|p| p.dyn_into::<web_sys::Performance>().ok());
        match perf {
            Some(p) => p.now(),
            None => js_sys::Date::now(),
        }
    }

    /// Resolves after `ms` milliseconds (a real `setTimeout`, so the page keeps running).
    pub async fn sleep_ms(ms: u32) {
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            let set_timeout =
                js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("setTimeout"))
                    .expect("setTimeout exists")
                    .unchecked_into::<js_sys::Function>();
            set_timeout
                .call2(&JsValue::NULL, &resolve, &JsValue::from(ms))
                .expect("setTimeout accepts a function");
        });
        let _ = JsFuture::from(promise).await;
    }

    /// Polls `cond` every 10 ms until it holds; returns the time it took (ms), or an error
    /// naming `what` after `timeout_ms`.
    pub async fn wait_until(
        what: &str,
        timeout_ms: u32,
        mut cond: impl FnMut() -> bool,
    ) -> Result<f64, String> {
        let start = now_ms();
        loop {
            if cond() {
                return Ok(now_ms() - start);
            }
            if now_ms() - start > f64::from(timeout_ms) {
                return Err(format!(
                    "timed out after {timeout_ms} ms waiting for {what}"
                ));
            }
            sleep_ms(10).await;
        }
    }

    /// Runs `fut` but gives up after `timeout_ms` with an error naming `what` (so a test that
    /// would hang fails instead).
    pub async fn with_timeout<T>(
        what: &str,
        timeout_ms: u32,
        fut: impl std::future::Future<Output = T>,
    ) -> Result<T, String> {
        use futures::future::{select, Either};
        let fut = std::pin::pin!(fut);
        let timer = std::pin::pin!(sleep_ms(timeout_ms));
        match select(fut, timer).await {
            Either::Left((value, _)) => Ok(value),
            Either::Right(_) => Err(format!("timed out after {timeout_ms} ms: {what}")),
        }
    }

    /// A name no other test run uses, e.g. `alice-l9x2k-4821`.
    pub fn unique_name(prefix: &str) -> String {
        let stamp = (js_sys::Date::now() as u64) % 1_000_000_000;
        let salt = (js_sys::Math::random() * 10_000.0) as u64;
        format!("{prefix}-{stamp:x}-{salt}")
    }

    /// A random voice channel id in 100_000..1_000_000 (rooms need not exist beforehand).
    pub fn unique_channel_id() -> u64 {
        100_000 + (js_sys::Math::random() * 899_999.0) as u64
    }
}
