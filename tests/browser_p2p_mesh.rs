#![cfg(target_arch = "wasm32")]
//! The largest P2P mesh the hybrid design keeps in P2P mode: seven people in one channel
//! (42 peer connections in one headless Chromium page, seven oscillator voices), against the
//! real reference server. Each lists the six others with the right fields and HEARS each of
//! them — measured energy at every remote voice's frequency at its own output. In a file of
//! its own so no other test's calls share the page's CPU while it runs.

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "browser_p2p_support/mod.rs"]
mod support;

use support::*;

#[wasm_bindgen_test]
async fn seven_clients_each_list_and_hear_the_six_others() {
    let start = now_ms();
    let (_, clients) = call_of(7, "seven").await;
    everyone_lists_and_hears_everyone(&clients).await;
    console_log!(
        "7-person mesh: everyone hears everyone {:.0} ms after the first join",
        now_ms() - start
    );
    for c in &clients {
        assert_eq!(c.peer_count(), 6, "{} has six peer connections", c.name);
        assert!(
            c.errors.codes().is_empty(),
            "{}: no errors: {:?}",
            c.name,
            c.errors.codes()
        );
    }
    for c in &clients {
        c.service.leave_channel();
    }
    for c in &clients {
        assert_eq!(c.peer_count(), 0);
    }
}
