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

/// The codec names (as written, compared ignoring ASCII case) that survive `level` in an
/// m-section of `kind`; `None` keeps every codec.
fn kept_codecs(kind: &str, level: TrimLevel) -> Option<&'static [&'static str]> {
    Some(match (kind, level) {
        (_, TrimLevel::None) => return None,
        ("audio", TrimLevel::Codecs) => &["opus", "pcmu", "telephone-event", "red"],
        ("audio", _) => &["opus", "pcmu", "telephone-event"],
        ("video", TrimLevel::Codecs) => &["vp8", "h264", "rtx"],
        ("video", _) => &["vp8"],
        _ => return None,
    })
}

fn keep_codec(kind: &str, name: &str, level: TrimLevel) -> bool {
    kept_codecs(kind, level).is_none_or(|kept| kept.iter().any(|k| k.eq_ignore_ascii_case(name)))
}

/// The payload types of one m-section that survive `level`: the kept codecs of its
/// `a=rtpmap` lines, then (when RTX is kept) the RTX payload types whose `apt` is one of them.
/// Everything borrows from `lines`: no per-codec allocation.
fn kept_payload_types<'a>(kind: &str, lines: &[&'a str], level: TrimLevel) -> Vec<&'a str> {
    let mut kept = Vec::new();
    for line in lines {
        if let Some((pt, enc)) = line
            .strip_prefix("a=rtpmap:")
            .and_then(|r| r.split_once(' '))
        {
            let name = enc.split_once('/').map_or(enc, |(name, _)| name);
            if !name.eq_ignore_ascii_case("rtx") && keep_codec(kind, name, level) {
                kept.push(pt);
            }
        }
    }
    if keep_codec(kind, "rtx", level) {
        let primary = kept.len();
        for line in lines {
            let Some((pt, params)) = line.strip_prefix("a=fmtp:").and_then(|r| r.split_once(' '))
            else {
                continue;
            };
            let apt = params
                .split(';')
                .find_map(|p| p.trim_ascii().strip_prefix("apt="));
            if apt.is_some_and(|apt| kept[..primary].contains(&apt)) {
                kept.push(pt);
            }
        }
    }
    kept
}

/// The payload type an `a=rtpmap:`, `a=fmtp:` or `a=rtcp-fb:` line is about.
fn payload_type_of(line: &str) -> Option<&str> {
    let rest = ["a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"]
        .iter()
        .find_map(|prefix| line.strip_prefix(prefix))?;
    let end = rest.bytes().position(|b| b == b' ' || b == b':');
    Some(&rest[..end.unwrap_or(rest.len())])
}

fn push_line(out: &mut String, line: &str) {
    out.push_str(line);
    out.push_str("\r\n");
}

/// Writes the trimmed m-section to `out`; `false` (nothing written) when it is left as it is:
/// not RTP audio/video, or no format would remain.
fn trim_section(lines: &[&str], level: TrimLevel, out: &mut String) -> bool {
    let Some(m_line) = lines.first() else {
        return false;
    };
    // "m=<kind> <port> <proto> <formats...>": `header` is everything before the formats.
    let mut spaces = m_line
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b == b' ')
        .map(|(i, _)| i);
    let (Some(kind_end), Some(header_end)) = (spaces.next(), spaces.nth(1)) else {
        return false;
    };
    let kind = &m_line[2.min(kind_end)..kind_end];
    if !(kind == "audio" || kind == "video") {
        return false;
    }
    let kept = kept_payload_types(kind, lines, level);
    let listed: Vec<&str> = m_line[header_end + 1..]
        .split(' ')
        .filter(|pt| kept.contains(pt))
        .collect();
    if listed.is_empty() {
        // Never produce an m-line without formats: keep the section unchanged instead.
        return false;
    }
    out.push_str(&m_line[..header_end]);
    for pt in &listed {
        out.push(' ');
        out.push_str(pt);
    }
    out.push_str("\r\n");
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
        push_line(out, line);
    }
    true
}

/// Trims `sdp` at `level`, keeping the session part and the line ending style (`\r\n`).
pub fn trim(sdp: &str, level: TrimLevel) -> String {
    if level == TrimLevel::None {
        return sdp.to_string();
    }
    let lines: Vec<&str> = sdp.lines().filter(|line| !line.is_empty()).collect();
    let mut out = String::with_capacity(sdp.len() + 2);
    let mut start = 0;
    while start < lines.len() {
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.starts_with("m="))
            .map_or(lines.len(), |i| start + 1 + i);
        let section = &lines[start..end];
        if !(section[0].starts_with("m=") && trim_section(section, level, &mut out)) {
            for line in section {
                push_line(&mut out, line);
            }
        }
        start = end;
    }
    if out.is_empty() {
        out.push_str("\r\n"); // an SDP without lines comes out as one line ending, as before
    }
    out
}

#[cfg(test)]
#[path = "sdp_tests.rs"]
mod tests;
