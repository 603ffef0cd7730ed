//! Keeping signalling frames under the deployed server's 4096-byte single-read limit
//! (compat-spec 2.2d, P2). An audio-only SDP usually fits as it is; a video SDP often does not.
//! [`shrink_to_fit`] tries progressively stronger trims of the SDP *we send* (the local
//! description itself is never munged): first it drops codecs nobody needs (audio keeps Opus,
//! PCMU and telephone-event; video keeps VP8 and H.264 with their RTX), then RTX/FEC/RED and
//! every video codec but VP8, then header extensions other than the essential ones. Pure string
//! work: no browser, never panics.

/// How hard to trim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TrimLevel {
    /// Unchanged.
    None,
    /// Drop unused codecs (audio: all but Opus/PCMU/telephone-event; video: all but VP8/H264 + RTX).
    Codecs,
    /// Also drop RTX, RED, FEC and every video codec but VP8.
    Minimal,
    /// Also drop every header extension except mid, audio level and transport-cc.
    Bare,
}

const LEVELS: [TrimLevel; 4] = [
    TrimLevel::None,
    TrimLevel::Codecs,
    TrimLevel::Minimal,
    TrimLevel::Bare,
];

const KEPT_EXTENSIONS: [&str; 3] = [
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "transport-wide-cc",
];

/// Returns the least-trimmed SDP whose frame `measure` says is at most `max_bytes`, or `None`
/// when even the barest trim does not fit. `measure` gets a candidate SDP and returns the
/// size of the frame that would carry it.
pub fn shrink_to_fit(
    sdp: &str,
    max_bytes: usize,
    measure: impl Fn(&str) -> usize,
) -> Option<String> {
    LEVELS
        .iter()
        .map(|level| trim(sdp, *level))
        .find(|candidate| measure(candidate) <= max_bytes)
}

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
        ("audio", TrimLevel::Codecs) => matches!(name, "opus" | "pcmu" | "telephone-event" | "red"),
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

#[cfg(test)]
#[path = "sdp_tests.rs"]
mod tests;
