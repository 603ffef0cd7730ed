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

/// The first implementation of [`trim`] (per-line `String`s, `join`, `format!`), kept as the
/// oracle for the allocation-free one: both must produce identical output.
mod reference {
    use super::{TrimLevel, KEPT_EXTENSIONS};

    /// One m-section's codec table: payload type → (codec name lowercased, rtx's apt).
    struct Codecs {
        names: Vec<(String, String)>,
        rtx_of: Vec<(String, String)>,
    }

    fn codec_table(lines: &[&str]) -> Codecs {
        let mut names = Vec::new();
        let mut rtx_of = Vec::new();
        for line in lines {
            if let Some(rest) = line.strip_prefix("a=rtpmap:") {
                if let Some((pt, enc)) = rest.split_once(' ') {
                    let name = enc.split('/').next().unwrap_or("").to_ascii_lowercase();
                    names.push((pt.to_string(), name));
                }
            } else if let Some(rest) = line.strip_prefix("a=fmtp:") {
                if let Some((pt, params)) = rest.split_once(' ') {
                    if let Some(apt) = params
                        .split(';')
                        .find_map(|p| p.trim().strip_prefix("apt="))
                    {
                        rtx_of.push((pt.to_string(), apt.to_string()));
                    }
                }
            }
        }
        Codecs { names, rtx_of }
    }

    fn keep_codec(kind: &str, name: &str, level: TrimLevel) -> bool {
        match (kind, level) {
            (_, TrimLevel::None) => true,
            ("audio", TrimLevel::Codecs) => {
                matches!(name, "opus" | "pcmu" | "telephone-event" | "red")
            }
            ("audio", _) => matches!(name, "opus" | "pcmu" | "telephone-event"),
            ("video", TrimLevel::Codecs) => matches!(name, "vp8" | "h264" | "rtx"),
            ("video", _) => name == "vp8",
            _ => true,
        }
    }

    /// The payload types of one m-section that survive `level`.
    fn kept_payload_types(kind: &str, lines: &[&str], level: TrimLevel) -> Vec<String> {
        let table = codec_table(lines);
        let primary: Vec<String> = table
            .names
            .iter()
            .filter(|(_, name)| name != "rtx" && keep_codec(kind, name, level))
            .map(|(pt, _)| pt.clone())
            .collect();
        let mut kept = primary.clone();
        if keep_codec(kind, "rtx", level) {
            for (pt, apt) in &table.rtx_of {
                if primary.contains(apt) {
                    kept.push(pt.clone());
                }
            }
        }
        kept
    }

    fn payload_type_of(line: &str) -> Option<&str> {
        ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"]
            .iter()
            .find_map(|prefix| line.strip_prefix(prefix))
            .and_then(|rest| rest.split([' ', ':']).next())
    }

    fn trim_section(lines: &[&str], level: TrimLevel, out: &mut Vec<String>) {
        let Some(m_line) = lines.first() else { return };
        let parts: Vec<&str> = m_line.split(' ').collect();
        let kind = m_line
            .strip_prefix("m=")
            .and_then(|m| m.split(' ').next())
            .unwrap_or("");
        if parts.len() < 4 || !(kind == "audio" || kind == "video") {
            out.extend(lines.iter().map(|l| l.to_string()));
            return;
        }
        let kept = kept_payload_types(kind, lines, level);
        let listed: Vec<&str> = parts[3..]
            .iter()
            .copied()
            .filter(|pt| kept.iter().any(|k| k == pt))
            .collect();
        if listed.is_empty() {
            // Never produce an m-line without formats: keep the section unchanged instead.
            out.extend(lines.iter().map(|l| l.to_string()));
            return;
        }
        out.push(format!("{} {}", parts[..3].join(" "), listed.join(" ")));
        for line in &lines[1..] {
            if let Some(pt) = payload_type_of(line) {
                if pt != "*" && !listed.contains(&pt) {
                    continue;
                }
            }
            if level >= TrimLevel::Bare
                && line.starts_with("a=extmap:")
                && !KEPT_EXTENSIONS.iter().any(|uri| line.contains(uri))
            {
                continue;
            }
            out.push(line.to_string());
        }
    }

    /// Trims `sdp` at `level`, keeping the session part and the line ending style (`\r\n`).
    pub fn trim(sdp: &str, level: TrimLevel) -> String {
        if level == TrimLevel::None {
            return sdp.to_string();
        }
        let lines: Vec<&str> = sdp.lines().filter(|l| !l.is_empty()).collect();
        let mut out = Vec::with_capacity(lines.len());
        let mut start = 0;
        while start < lines.len() {
            let end = lines[start + 1..]
                .iter()
                .position(|l| l.starts_with("m="))
                .map_or(lines.len(), |i| start + 1 + i);
            if lines[start].starts_with("m=") {
                trim_section(&lines[start..end], level, &mut out);
            } else {
                out.extend(lines[start..end].iter().map(|l| l.to_string()));
            }
            start = end;
        }
        let mut text = out.join("\r\n");
        text.push_str("\r\n");
        text
    }
}

#[test]
fn trim_matches_the_reference_implementation_on_a_real_offer() {
    let sdp = chromium_like_offer();
    for level in LEVELS {
        assert_eq!(trim(&sdp, level), reference::trim(&sdp, level), "{level:?}");
        let lf_only = sdp.replace("\r\n", "\n");
        assert_eq!(trim(&lf_only, level), reference::trim(&lf_only, level));
        let upper = sdp.replace("opus", "OPUS").replace("rtx", "RTX");
        assert_eq!(trim(&upper, level), reference::trim(&upper, level));
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

        #[test]
        fn trim_matches_the_reference_implementation(text in "(m=(audio|video) 9 P( [0-9]){0,6}\r?\n|m=(audio|application|[a-z]{0,3})( [0-9a-z/]{0,3}){0,5}\r?\n|a=(rtpmap|fmtp|rtcp-fb|extmap):[0-9* ]{0,3}[ :/a-zA-Z0-9=;-]{0,24}\r?\n|a=extmap:1 urn:ietf:params:rtp-hdrext:(sdes:mid|toffset)\r\n|a=rtpmap:[0-9] (opus|PCMU|rtx|RTX|VP8|VP9|h264|red|telephone-event)(/9)?\r\n|a=fmtp:[0-9] (x=1; )?apt=[0-9]\r\n|a=rtcp-fb:[0-9*] nack\r\n|[a-z]=[ -~]{0,12}\r?\n|\r?\n){0,30}") {
            for level in LEVELS {
                proptest::prop_assert_eq!(trim(&text, level), reference::trim(&text, level));
            }
        }
    }
}
