//! One error-code scheme: every code the library can set (a `"<layer>/<what>"` literal in the
//! Rust sources or in js/index.js) is listed in the `VoiceErrorCode` union of the typings
//! (src/facade/convert.rs) and in the package README's error table (js/README.md), and every listed code exists.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

const LAYERS: [&str; 7] = ["media", "signal", "p2p", "sfu", "service", "mode", "wasm"];

/// Every quoted `layer/what` literal in `text` (either quote).
fn codes_in(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for quote in ['"', '\''] {
        for layer in LAYERS {
            let open = format!("{quote}{layer}/");
            for (at, _) in text.match_indices(&open) {
                let rest = &text[at + open.len()..];
                let len = rest
                    .find(|c: char| !(c.is_ascii_lowercase() || c == '-'))
                    .unwrap_or(rest.len());
                if len > 0 && rest[len..].starts_with(quote) {
                    found.insert(format!("{layer}/{}", &rest[..len]));
                }
            }
        }
    }
    found
}

fn sources(dir: &Path, out: &mut String) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            // Test modules spell codes too; they must exist as well, so they count.
            out.push_str(&fs::read_to_string(&path).expect("read source"));
        }
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The codes of the `VoiceErrorCode` union in the typings.
fn typed_codes() -> BTreeSet<String> {
    let convert = fs::read_to_string(root().join("src/facade/convert.rs")).expect("convert.rs");
    let start = convert
        .find("export type VoiceErrorCode =")
        .expect("the union");
    let union = &convert[start..];
    codes_in(&union[..union.find(';').expect("end of the union")])
}

#[test]
fn every_code_the_library_sets_is_in_the_typed_union_and_nothing_else_is() {
    let mut text = String::new();
    sources(&root().join("src"), &mut text);
    text.push_str(&fs::read_to_string(root().join("js/index.js")).expect("index.js"));
    let set = codes_in(&text);
    let typed = typed_codes();
    let untyped: Vec<_> = set.difference(&typed).collect();
    assert!(
        untyped.is_empty(),
        "codes missing from VoiceErrorCode: {untyped:?}"
    );
    // The union itself lives in src, so compare against the sources without it.
    let convert = fs::read_to_string(root().join("src/facade/convert.rs")).expect("convert.rs");
    let without_union = text.replacen(&convert, "", 1);
    let really_set = codes_in(&without_union);
    let stale: Vec<_> = typed.difference(&really_set).collect();
    assert!(
        stale.is_empty(),
        "VoiceErrorCode lists codes nothing sets: {stale:?}"
    );
}

#[test]
fn the_package_readme_lists_every_error_code() {
    let readme = fs::read_to_string(root().join("js/README.md")).expect("js/README.md");
    let missing: Vec<_> = typed_codes()
        .into_iter()
        .filter(|code| !readme.contains(&format!("`{code}`")))
        .collect();
    assert!(missing.is_empty(), "README lacks {missing:?}");
}
