//! Where a URL's body goes under the output directory in the `mirror` layout, as `wget -x`
//! lays it out: `HOST[_PORT]/PATH`, `index.html` for an empty last segment, the query kept
//! in the file name after `@`.
//!
//! Invariants: whatever the URL, every component is a plain name: never empty, `.` or `..`,
//! no path separator or control character, ASCII only, at most 255 bytes. Each segment is
//! percent-decoded, then every byte outside `A-Z a-z 0-9 - . _ ~ ! $ & ' ( ) + , ; =` is
//! written `%XX`: distinct decoded paths get distinct names, and `@` (always written
//! `%40` in a segment) marks the query alone.

use std::path::PathBuf;

use url::Url;

use super::digest::{Digester, Hash};

/// The longest component written whole; longer ones are cut and given a hash suffix.
const MAX_COMPONENT: usize = 255;

/// The mirror path of `url`, relative to the output directory.
pub(crate) fn mirror_path(url: &Url) -> PathBuf {
    let host = url.host_str().unwrap_or("no-host");
    let mut site = encode(&host.to_ascii_lowercase().into_bytes());
    if let Some(port) = url.port() {
        site.push_str(&format!("_{port}"));
    }
    let mut path = PathBuf::from(shorten(site));
    let segments: Vec<&str> = url.path_segments().map_or(Vec::new(), Iterator::collect);
    let (last, dirs) = segments.split_last().unwrap_or((&"", &[]));
    for dir in dirs {
        path.push(shorten(segment(dir)));
    }
    let mut file = match *last {
        "" => "index.html".to_string(),
        name => segment(name),
    };
    if let Some(query) = url.query() {
        file.push('@');
        file.push_str(&encode(query.as_bytes()));
    }
    path.push(shorten(file));
    path
}

/// One path segment as a name: decoded, then encoded safe. An empty segment in the middle
/// of a path (`a//b`) is `{}`, which no encoded segment can be.
fn segment(raw: &str) -> String {
    let decoded: Vec<u8> = percent_decode(raw.as_bytes());
    match decoded.as_slice() {
        b"." => "%2E".to_string(),
        b".." => "%2E%2E".to_string(),
        _ => encode(&decoded),
    }
}

fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (
            bytes[i],
            bytes.get(i + 1).and_then(|&b| hex(b)),
            bytes.get(i + 2).and_then(|&b| hex(b)),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Bytes as a name: safe ones kept, the rest `%XX`.
fn encode(bytes: &[u8]) -> String {
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()+,;=".contains(&b);
    let mut name = String::with_capacity(bytes.len());
    for &b in bytes {
        if safe(b) {
            name.push(char::from(b));
        } else {
            name.push_str(&format!("%{b:02X}"));
        }
    }
    if name.is_empty() {
        return "{}".to_string();
    }
    name
}

/// A name over `MAX_COMPONENT` bytes: its first 200 bytes, `~`, and 16 hex digits of its
/// SHA-256 (so that long names stay distinct).
fn shorten(name: String) -> String {
    if name.len() <= MAX_COMPONENT {
        return name;
    }
    let mut digest = Digester::new(Hash::Sha256);
    digest.update(name.as_bytes());
    // The name is ASCII: any byte index is a character boundary.
    format!("{}~{}", &name[..200], &digest.finish()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(url: &str) -> String {
        mirror_path(&Url::parse(url).unwrap()).display().to_string()
    }

    #[test]
    fn the_mirror_layout_is_host_then_path() {
        assert_eq!(path("http://Example.com/"), "example.com/index.html");
        assert_eq!(path("http://example.com"), "example.com/index.html");
        assert_eq!(
            path("http://example.com:8080/a/b.txt"),
            "example.com_8080/a/b.txt"
        );
        assert_eq!(
            path("https://example.com:443/a/"),
            "example.com/a/index.html"
        );
        assert_eq!(path("http://h/a?q=1&r=x/y"), "h/a@q=1&r=x%2Fy");
        assert_eq!(path("http://h/?q=1"), "h/index.html@q=1");
        assert_eq!(path("http://[::1]:9/x"), "%5B%3A%3A1%5D_9/x");
    }

    #[test]
    fn hostile_paths_stay_plain_names() {
        assert_eq!(
            path("http://h/%2e%2e/x"),
            "h/x",
            "the URL parser already removed it"
        );
        assert_eq!(path("http://h/a%2F..%2Fb"), "h/a%2F..%2Fb");
        assert_eq!(path("http://h/%2E%2E"), "h/index.html");
        assert_eq!(path("http://h/a/%2e%2e%2e"), "h/a/...");
        assert_eq!(path("http://h/a%00b%0Ac"), "h/a%00b%0Ac");
        assert_eq!(path("http://h/a@b"), "h/a%40b", "@ marks the query alone");
        assert_eq!(path("http://h/a//b"), "h/a/{}/b");
        assert_eq!(
            path("http://h/R%C3%A9sum%C3%A9.pdf"),
            "h/R%C3%A9sum%C3%A9.pdf"
        );
        let long = path(&format!("http://h/{}", "x".repeat(300)));
        let name = long.rsplit('/').next().unwrap();
        assert_eq!(name.len(), 200 + 1 + 16);
        assert_ne!(
            long,
            path(&format!("http://h/{}y", "x".repeat(300))),
            "long names stay distinct"
        );
        for p in [
            path("http://h/a"),
            path("http://h/a/b"),
            path("http://h/a?b"),
        ] {
            assert!(
                !p.split('/').any(|c| c.is_empty() || c == "." || c == ".."),
                "{p}"
            );
        }
    }
}
