//! Small string helpers that keep generic std code out of the wasm. Substring search without
//! core's string searcher: any `&str` pattern (`str::contains("…")`, `find`, `split_once`,
//! `replace`…) links core's two-way searcher, about 2 KB of wasm for the whole crate, while the
//! few searches here are for short literals in short texts: a byte window scan is enough
//! (`char` patterns are fine: they use `memchr`). And [`concat`] instead of `[..].concat()`,
//! whose generic join code is about 0.9 KB. Pure; tested natively.

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

/// The parts joined into one `String` (what `[a, b, c].concat()` gives).
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.push_str(part);
    }
    out
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
    fn concat_joins_like_std() {
        assert_eq!(concat(&[]), "");
        assert_eq!(
            concat(&["a", "", "çağrı", " b"]),
            ["a", "", "çağrı", " b"].concat()
        );
    }
}
