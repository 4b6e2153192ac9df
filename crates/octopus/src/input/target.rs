//! Turning one trimmed input line into the URL to fetch, as curl and wget would read it.
//!
//! Invariants: only `http` and `https` URLs with a host come out of `parse_target`; a line
//! with whitespace or control characters inside is refused (so CR/LF can never be smuggled
//! into a request line); nothing here touches the network or the file system.

use url::Url;

use crate::failure::{ErrorKind, Failure};

/// Parse a trimmed, non-blank input line into an http(s) URL.
///
/// A line without a scheme gets `http://` (`example.com/a` → `http://example.com/a`).
/// A line that is not a fetchable URL is an `invalid_url` [`Failure`] whose one-line
/// message says why.
///
/// ```
/// let url = octopus::input::parse_target("example.com/a").unwrap();
/// assert_eq!(url.as_str(), "http://example.com/a");
/// let refused = octopus::input::parse_target("ftp://files.example/").unwrap_err();
/// assert_eq!(refused.kind(), octopus::ErrorKind::InvalidUrl);
/// ```
pub fn parse_target(line: &str) -> Result<Url, Failure> {
    parse(line).map_err(|message| Failure::new(ErrorKind::InvalidUrl, message))
}

fn parse(line: &str) -> Result<Url, String> {
    if let Some((pos, c)) = line
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || c.is_control())
    {
        return Err(format!("URL contains {} at byte {pos}", describe_char(c)));
    }
    let parsed = if has_scheme(line) {
        Url::parse(line)
    } else {
        // `/a/b`, `./x`, `../x`: a path, not a host.
        let host = line.split(['/', '?', '#']).next().unwrap_or_default();
        if host.is_empty() || host.chars().all(|c| c == '.') {
            return Err("a path, not a URL (no host)".to_string());
        }
        Url::parse(&format!("http://{line}"))
    };
    let url = parsed.map_err(|e| format!("malformed URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(format!(
                "unsupported scheme '{other}' (only http and https)"
            ));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("URL has no host".to_string());
    }
    // What the URL parser takes but a request line cannot carry (e.g. over 64 KiB).
    if let Err(e) = url.as_str().parse::<http::Uri>() {
        return Err(format!("URL cannot be sent: {e}"));
    }
    Ok(url)
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_string(),
        '\r' => "a carriage return".to_string(),
        '\n' => "a line feed".to_string(),
        '\0' => "a NUL byte".to_string(),
        '\t' => "a tab".to_string(),
        c => format!("control or space character U+{:04X}", c as u32),
    }
}

/// Does the line start with `scheme:` (as opposed to `host:port` or `user:pass@host`)?
fn has_scheme(line: &str) -> bool {
    if line.contains("://") {
        return true;
    }
    let Some(colon) = line.find(':') else {
        return false;
    };
    let (scheme, rest) = (&line[..colon], &line[colon + 1..]);
    let is_scheme_name = scheme
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !is_scheme_name {
        return false;
    }
    // `localhost:8080/x` is a host and a port. (`user:pw@host` without a scheme reads as
    // scheme `user` and is refused: link lists hold far more `mailto:a@b` than that.)
    !rest.starts_with(|c: char| c.is_ascii_digit())
}

/// The URL as text with any password replaced by `***`, for records and messages.
///
/// ```
/// let url = octopus::input::parse_target("https://user:secret@example.com/").unwrap();
/// assert_eq!(octopus::input::redact(&url), "https://user:***@example.com/");
/// ```
pub fn redact(url: &Url) -> String {
    if url.password().is_none() {
        return url.as_str().to_string();
    }
    let mut shown = url.clone();
    // Cannot fail: the URL has a host (it has a password).
    let _ = shown.set_password(Some("***"));
    shown.as_str().to_string()
}

/// The `Host` header's value for `url` (the port only when not the scheme's default),
/// appended to `out`: what a request to `url` carries and its archive shows.
pub(crate) fn push_host(out: &mut Vec<u8>, url: &Url) {
    out.extend_from_slice(url.host_str().unwrap_or_default().as_bytes());
    if let Some(port) = url.port() {
        out.push(b':');
        out.extend_from_slice(port.to_string().as_bytes());
    }
}

/// Mask the password of every URL in free text (`scheme://user:password@host` becomes
/// `scheme://user:***@host`), and nothing else.
pub(crate) fn mask_userinfo(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (before, after) = rest.split_at(i + 3);
        shown.push_str(before);
        let end = after
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '\'' | '"' | '<' | '>' | ')') || c.is_whitespace()
            })
            .unwrap_or(after.len());
        shown.push_str(&mask_authority(&after[..end]));
        rest = &after[end..];
    }
    shown.push_str(rest);
    shown
}

/// `user:password@host` as `user:***@host`; anything else as it is.
fn mask_authority(authority: &str) -> String {
    let Some(at) = authority.rfind('@') else {
        return authority.to_string();
    };
    match authority[..at].find(':') {
        Some(colon) => format!("{}:***{}", &authority[..colon], &authority[at..]),
        None => authority.to_string(),
    }
}

/// Mask a password in a line that did not parse as a URL (`scheme://user:pass@...`, or
/// `user:pass@host/...` without a scheme).
pub(crate) fn redact_raw(line: &str) -> String {
    if line.contains("://") {
        return mask_userinfo(line);
    }
    let end = line.find(['/', '?', '#']).unwrap_or(line.len());
    format!("{}{}", mask_authority(&line[..end]), &line[end..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> String {
        parse(line).map(|u| u.to_string()).unwrap_or_else(|e| e)
    }

    #[test]
    fn adds_http_to_bare_hosts() {
        assert_eq!(ok("example.com"), "http://example.com/");
        assert_eq!(ok("example.com/a?b=1"), "http://example.com/a?b=1");
        assert_eq!(ok("localhost:8080/x"), "http://localhost:8080/x");
        assert_eq!(ok("127.0.0.1:9"), "http://127.0.0.1:9/");
    }

    #[test]
    fn keeps_http_and_https() {
        assert_eq!(ok("https://a.example/"), "https://a.example/");
        assert_eq!(ok("HTTP://A.example"), "http://a.example/");
    }

    #[test]
    fn refuses_other_schemes_and_bad_urls() {
        for line in [
            "ftp://x/",
            "file:///etc/passwd",
            "file:/etc/passwd",
            "mailto:a@b",
            "javascript:alert(1)",
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.contains("unsupported scheme"), "{line}: {e}");
        }
        assert!(parse("http://").unwrap_err().contains("malformed"));
        assert!(parse("http://h:99999/").unwrap_err().contains("port"));
        assert!(parse("http://a b/").unwrap_err().contains("space"));
        assert!(parse("http://a/\r\nX: y").is_err());
        assert!(parse("http://a/\0").unwrap_err().contains("NUL"));
        for path in ["/a/b/c", "../x", "./y", "/", "?q"] {
            assert!(parse(path).unwrap_err().contains("path"), "{path}");
        }
        let long = format!("http://h/{}", "a".repeat(65_530));
        assert!(parse(&long).unwrap_err().contains("cannot be sent"));
        assert_eq!(
            parse_target("mailto:a@b").unwrap_err().kind(),
            ErrorKind::InvalidUrl
        );
    }

    #[test]
    fn masks_passwords() {
        let url = parse_target("https://user:secret@h/p").unwrap();
        assert_eq!(redact(&url), "https://user:***@h/p");
        assert_eq!(
            mask_userinfo("failed https://user:secret@h/p, to http://a:b@c:1 too"),
            "failed https://user:***@h/p, to http://a:***@c:1 too"
        );
        assert_eq!(
            mask_userinfo("Connection refused at http://u:o@h/"),
            "Connection refused at http://u:***@h/",
            "only the password is masked, not its letters elsewhere"
        );
        assert_eq!(
            redact_raw("http://u:pw@h:99999/x"),
            "http://u:***@h:99999/x"
        );
        assert_eq!(redact_raw("u:pw@h/x@y"), "u:***@h/x@y");
        assert_eq!(redact_raw("http://h/a:b@c"), "http://h/a:b@c");
        let plain = parse_target("https://h/p").unwrap();
        assert_eq!(redact(&plain), "https://h/p");
    }
}
