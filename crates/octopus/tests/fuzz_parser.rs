//! Property tests (proptest) over the input-line reader and URL normalisation: no input
//! makes them panic, and what they yield keeps its invariants. The default run is short;
//! `PROPTEST_CASES=1000000 cargo test --release --test fuzz_parser` is the long one
//! (see the README's Testing section).

use std::io::Cursor;

use octopus::input::{Lines, parse_target, redact};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    // PROPTEST_CASES in the environment overrides this default.
    ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000),
    )
}

/// Strings shaped like the lines of a URL list, with hostile bytes mixed in.
fn url_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z]{0,6}(://|:|)[a-zA-Z0-9.:@\\[\\]%-]{0,30}(/[ -~]{0,20})?",
        "(https?://)?([a-z0-9-]{1,10}\\.){0,3}[a-z]{1,5}(:[0-9]{1,6})?(/[^\\s]{0,15})?",
    ]
}

/// The reader's rules, restated plainly: lines split on LF; whitespace (Unicode's, for a
/// line that is UTF-8) and byte-order marks trimmed; blank and `#` lines skipped.
fn expected_count(data: &[u8]) -> usize {
    let mut parts: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    if data.ends_with(b"\n") || data.is_empty() {
        parts.pop();
    }
    parts
        .iter()
        .filter(|l| match std::str::from_utf8(l) {
            Ok(s) => {
                let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
                !t.is_empty() && !t.starts_with('#')
            }
            Err(_) => {
                let t = l
                    .strip_prefix("\u{feff}".as_bytes())
                    .unwrap_or(l)
                    .trim_ascii();
                !t.is_empty() && !t.starts_with(b"#")
            }
        })
        .count()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_target_never_panics_and_only_yields_fetchable_urls(line in url_like()) {
        if let Ok(url) = parse_target(&line) {
            prop_assert!(matches!(url.scheme(), "http" | "https"));
            prop_assert!(url.host_str().is_some_and(|h| !h.is_empty()));
            prop_assert!(!url.as_str().chars().any(|c| c.is_whitespace() || c.is_control()));
        }
    }

    #[test]
    fn passwords_never_show(user in "[a-z]{1,8}", pass in "[a-zA-Z0-9]{6,12}", host in "[a-z]{1,10}") {
        let url = parse_target(&format!("http://{user}:{pass}@{host}.example/p")).unwrap();
        prop_assert!(!redact(&url).contains(&pass));
    }

    #[test]
    fn the_line_reader_never_panics_and_keeps_its_rules(data in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut lines = Lines::from_reader("fuzz", Box::new(Cursor::new(data.clone())));
        let mut count = 0;
        while let Some(item) = lines.next_line() {
            let line = item.expect("reading memory cannot fail");
            count += 1;
            if let Ok(text) = &line.text {
                prop_assert!(!text.is_empty() && !text.starts_with('#'));
                prop_assert_eq!(text.trim(), text.as_str());
                let _ = parse_target(text);
            }
        }
        prop_assert_eq!(count, expected_count(&data));
    }
}
