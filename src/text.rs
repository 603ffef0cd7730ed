//! Substring search without core's string searcher. Any `&str` pattern (`str::contains("…")`,
//! `find`, `split_once`, `replace`…) links core's two-way searcher, about 2 KB of wasm for the
//! whole crate, while the few searches here are for short literals in short texts: a byte
//! window scan is enough. (`char` patterns are fine: they use `memchr`.) Pure; tested natively.

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
}
