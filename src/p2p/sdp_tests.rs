//! Native tests of the SDP trimming in `sdp.rs`, on an offer shaped like Chromium's
//! (audio with many codecs, video with VP8/VP9/H264/AV1 each followed by its RTX).

use super::*;

fn chromium_like_offer() -> String {
    let mut s = String::from(
        "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
         a=group:BUNDLE 0 1\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS stream\r\n",
    );
    s.push_str(
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n\
         a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n\
         a=fingerprint:sha-256 AA:BB\r\na=setup:actpass\r\na=mid:0\r\n\
         a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
         a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n\
         a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n\
         a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=sendrecv\r\n\
         a=msid:stream track-a\r\na=rtcp-mux\r\n\
         a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n\
         a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\n\
         a=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\n\
         a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n\
         a=ssrc:1111 cname:abc\r\n",
    );
    s.push_str(
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 102 103 45 46\r\nc=IN IP4 0.0.0.0\r\n\
         a=mid:1\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
         a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n\
         a=extmap:13 urn:3gpp:video-orientation\r\na=sendrecv\r\na=rtcp-mux\r\n\
         a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 nack\r\n\
         a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n\
         a=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0\r\n\
         a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\n\
         a=rtpmap:102 H264/90000\r\n\
         a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
         a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n\
         a=rtpmap:45 AV1/90000\r\na=rtpmap:46 rtx/90000\r\na=fmtp:46 apt=45\r\n\
         a=rtcp-fb:* nack\r\na=ssrc:2222 cname:abc\r\n",
    );
    s
}

fn m_line(sdp: &str, kind: &str) -> String {
    sdp.lines()
        .find(|l| l.starts_with(&format!("m={kind}")))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn no_trim_returns_the_sdp_unchanged() {
    let sdp = chromium_like_offer();
    assert_eq!(trim(&sdp, TrimLevel::None), sdp);
}

#[test]
fn codec_trim_keeps_opus_pcmu_and_vp8_h264_with_their_rtx() {
    let out = trim(&chromium_like_offer(), TrimLevel::Codecs);
    assert_eq!(
        m_line(&out, "audio"),
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 0 110 126"
    );
    assert_eq!(
        m_line(&out, "video"),
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103"
    );
    assert!(!out.contains("VP9") && !out.contains("AV1") && !out.contains("G722"));
    assert!(!out.contains("a=fmtp:99 ") && !out.contains("a=fmtp:46 "));
    assert!(
        out.contains("a=rtcp-fb:* nack"),
        "wildcard feedback lines stay"
    );
    assert!(out.contains("a=ssrc:2222 cname:abc") && out.contains("a=group:BUNDLE 0 1"));
}

#[test]
fn minimal_trim_drops_rtx_and_red() {
    let out = trim(&chromium_like_offer(), TrimLevel::Minimal);
    assert_eq!(
        m_line(&out, "audio"),
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 110 126"
    );
    assert_eq!(m_line(&out, "video"), "m=video 9 UDP/TLS/RTP/SAVPF 96");
    assert!(!out.contains("rtx/90000") && !out.contains("red/48000"));
}

#[test]
fn bare_trim_keeps_only_essential_header_extensions() {
    let out = trim(&chromium_like_offer(), TrimLevel::Bare);
    assert!(out.contains("sdes:mid") && out.contains("ssrc-audio-level"));
    assert!(out.contains("transport-wide-cc"));
    assert!(!out.contains("abs-send-time") && !out.contains("toffset"));
    assert!(!out.contains("video-orientation"));
    assert!(out.ends_with("\r\n") && !out.contains("\r\n\r\n"));
}

#[test]
fn shrink_to_fit_picks_the_least_trimmed_sdp_that_fits() {
    let sdp = chromium_like_offer();
    let full = sdp.len();
    assert_eq!(
        shrink_to_fit(&sdp, full, str::len).as_deref(),
        Some(sdp.as_str())
    );
    let codecs = trim(&sdp, TrimLevel::Codecs);
    assert_eq!(shrink_to_fit(&sdp, full - 1, str::len), Some(codecs));
    assert_eq!(shrink_to_fit(&sdp, 10, str::len), None);
}

#[test]
fn sections_that_are_not_rtp_media_are_left_alone() {
    let sdp = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n";
    assert_eq!(trim(sdp, TrimLevel::Bare), sdp);
}

#[test]
fn garbage_input_does_not_panic() {
    for text in [
        "",
        "m=",
        "m=audio",
        "m=audio 9 X",
        "a=rtpmap:\r\nm=video 9 P 1\r\n",
    ] {
        let _ = trim(text, TrimLevel::Bare);
        let _ = shrink_to_fit(text, 0, str::len);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use super::*;

    proptest::proptest! {
        #[test]
        fn trimming_never_panics_and_never_grows_the_sdp(text in "(m=(audio|video) 9 P( [0-9]{1,3}){0,4}\r\n|a=(rtpmap|fmtp|rtcp-fb|extmap):[0-9*]{1,3}[ :/a-zA-Z0-9=;]{0,20}\r\n|[a-z]=[ -~]{0,12}\r\n){0,30}") {
            for level in [TrimLevel::Codecs, TrimLevel::Minimal, TrimLevel::Bare] {
                let out = trim(&text, level);
                let m_in = text.lines().filter(|l| l.starts_with("m=")).count();
                let m_out = out.lines().filter(|l| l.starts_with("m=")).count();
                proptest::prop_assert_eq!(m_in, m_out, "m-sections are never dropped");
                proptest::prop_assert!(out.len() <= text.len() + 2);
            }
            let _ = shrink_to_fit(&text, 100, str::len);
        }
    }
}
