//! Small string helpers that keep generic std code out of the wasm. Substring search without
//! core's string searcher: any `&str` pattern (`str::contains("…")`, `find`, `split_once`,
//! `replace`…) links core's two-way searcher, about 2 KB of wasm for the whole crate, while the
//! few searches here are for short literals in short texts: a byte window scan is enough
//! (`char` patterns are fine: they use `memchr`). And [`concat`] instead of `[..].concat()`,
//! whose generic join code is about 0.9 KB, and [`push_u64`] / [`push_i64`] instead of
//! `to_string()` / `format!` on numbers (which link `core::fmt`'s padding and integer
//! machinery). Pure; tested natively.

/// The byte offset of the first occurrence of `needle` in `haystack` (0 for an empty needle).
pub fn find(haystack: &str, needle: &str) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window == needle.as_bytes())
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &str, needle: &str) -> bool {
    find(haystack, needle).is_some()
}

/// `s.split_once(sep)` for an ASCII `sep` (which never occurs inside a multi-byte character,
/// so both halves are valid `str`s), without core's char searcher.
pub fn split_once_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let i = s.bytes().position(|b| b == sep)?;
    Some((&s[..i], &s[i + 1..]))
}

/// `s.trim_end_matches(byte as char)` for an ASCII `byte`.
pub fn trim_end_byte(s: &str, byte: u8) -> &str {
    debug_assert!(byte.is_ascii());
    let end = s.bytes().rposition(|b| b != byte).map_or(0, |i| i + 1);
    &s[..end]
}

/// The parts joined into one `String` (what `[a, b, c].concat()` gives).
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
}

/// Appends `v` in decimal.
#[inline(never)]
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|&b| char::from(b)));
}

/// Appends a signed integer in decimal.
pub fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_str_find() {
        for (haystack, needle) in [
            ("", ""),
            ("", "a"),
            ("abc", ""),
            ("abc", "abc"),
            ("abc", "abcd"),
            ("wss://h/rtc?access_token=x", "/rtc?"),
            ("aaab", "aab"),
            ("çağrı/rtc?", "/rtc?"),
            ("no match here", "xyz"),
        ] {
            assert_eq!(
                find(haystack, needle),
                haystack.find(needle),
                "{haystack:?}"
            );
            assert_eq!(contains(haystack, needle), haystack.contains(needle));
        }
    }

    #[test]
    fn byte_helpers_agree_with_std() {
        for s in [
            "",
            "/",
            "a|b",
            "|",
            "a||b|",
            "wss://h//",
            "çağrı|x/",
            "no-sep",
        ] {
            assert_eq!(split_once_byte(s, b'|'), s.split_once('|'), "{s:?}");
            assert_eq!(trim_end_byte(s, b'/'), s.trim_end_matches('/'), "{s:?}");
        }
    }

    #[test]
    fn concat_joins_like_std() {
        assert_eq!(concat(&[]), "");
        assert_eq!(
            concat(&["a", "", "çağrı", " b"]),
            ["a", "", "çağrı", " b"].concat()
        );
    }

    #[test]
    fn decimal_writers_agree_with_to_string() {
        for v in [0, 1, 9, 10, 99, 100, 4096, u64::from(u32::MAX), u64::MAX] {
            let mut out = String::from("x");
            push_u64(&mut out, v);
            assert_eq!(out, format!("x{v}"));
        }
        for v in [0, -1, 7, -4096, i64::MIN, i64::MAX] {
            let mut out = String::new();
            push_i64(&mut out, v);
            assert_eq!(out, v.to_string());
        }
    }
}
