//! The links of an HTML page, from the tokens of `html.rs`: `a`, `area`, `iframe`, `frame`
//! and `<meta http-equiv=refresh>` lead to pages; `link`, `img`, `script`, `source`,
//! `video`, `audio`, `embed` (with `srcset` and `poster`) to the page's resources; `form
//! action` to a form. They are resolved against the page's first `<base href>` or else its
//! URL, normalised (`normalise`), kept when `http` or `https`, and each kept once, in the
//! order met.
//!
//! Invariant: at most `MAX_LINKS` links are kept of a page, each at most `MAX_LINK` bytes.

use std::collections::HashSet;

use html5ever::tokenizer::{Tag, TagKind};
use url::Url;

/// Links kept of one page, at most.
const MAX_LINKS: usize = 20_000;
/// The longest link text kept, in bytes.
const MAX_LINK: usize = 8 * 1024;

/// What a link leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// Another page: `a`, `area`, `iframe`, `frame`, `<meta http-equiv=refresh>`.
    Page,
    /// Something the page uses: `link`, `img`, `script`, `source`, `video`, `audio`,
    /// `embed` (their `src`, `href`, `srcset`, `poster`).
    Resource,
    /// A form's `action` (sent to only when a form is submitted).
    Form,
}

/// A link found in a page: where it leads (resolved and normalised) and what kind it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    url: Url,
    kind: LinkKind,
}

impl Link {
    /// Where it leads: absolute, normalised ([`normalise`]), `http` or `https`.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// What it leads to.
    pub fn kind(&self) -> LinkKind {
        self.kind
    }
}

/// Normalise a URL as links are compared: what the URL standard's parser does (scheme and
/// host in lower case, the default port dropped, `.` and `..` segments resolved, an empty
/// path as `/`, percent-encoding of what must be encoded), and the fragment dropped.
///
/// ```
/// let mut url = url::Url::parse("HTTP://Example.COM:80/a/./b/../c?q=1#top").unwrap();
/// octopus::normalise(&mut url);
/// assert_eq!(url.as_str(), "http://example.com/a/c?q=1");
/// ```
pub fn normalise(url: &mut Url) {
    url.set_fragment(None);
}

/// The links of a page as its tags come, unresolved.
#[derive(Default)]
pub(super) struct Links {
    base: Option<String>,
    found: Vec<(String, LinkKind)>,
}

impl Links {
    /// Take a tag of the page.
    pub fn tag(&mut self, tag: &Tag) {
        if tag.kind != TagKind::StartTag {
            return;
        }
        let attr = |name: &str| {
            tag.attrs
                .iter()
                .find(|a| &*a.name.local == name)
                .map(|a| &*a.value)
        };
        let (kind, names): (LinkKind, &[&str]) = match &*tag.name {
            "base" => {
                if self.base.is_none() {
                    self.base = attr("href").map(str::to_string);
                }
                return;
            }
            "meta" => {
                let refresh = attr("http-equiv").is_some_and(|v| v.eq_ignore_ascii_case("refresh"));
                if let Some(target) = attr("content").filter(|_| refresh).and_then(refresh_url) {
                    self.push(target, LinkKind::Page);
                }
                return;
            }
            "a" | "area" => (LinkKind::Page, &["href"]),
            "iframe" | "frame" => (LinkKind::Page, &["src"]),
            "link" => (LinkKind::Resource, &["href"]),
            "img" | "source" => (LinkKind::Resource, &["src", "srcset"]),
            "script" | "embed" | "audio" => (LinkKind::Resource, &["src"]),
            "video" => (LinkKind::Resource, &["src", "poster"]),
            "form" => (LinkKind::Form, &["action"]),
            _ => return,
        };
        for name in names {
            let Some(value) = attr(name) else { continue };
            if *name == "srcset" {
                for candidate in srcset(value) {
                    self.push(candidate, kind);
                }
            } else {
                self.push(value, kind);
            }
        }
    }

    fn push(&mut self, text: &str, kind: LinkKind) {
        let text = text.trim();
        if !text.is_empty() && text.len() <= MAX_LINK && self.found.len() < MAX_LINKS {
            self.found.push((text.to_string(), kind));
        }
    }

    /// The links, resolved against the `<base href>` (itself resolved against `page`) or
    /// `page`; each kept once (the first kind it was met as), in order.
    pub fn resolved(&self, page: &Url) -> Vec<Link> {
        let base = self.base.as_deref().and_then(|b| page.join(b).ok());
        let base = base.as_ref().unwrap_or(page);
        let mut seen = HashSet::new();
        let mut links = Vec::new();
        for (text, kind) in &self.found {
            let Ok(mut url) = base.join(text) else {
                continue;
            };
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                continue;
            }
            normalise(&mut url);
            if seen.insert(url.as_str().to_string()) {
                links.push(Link { url, kind: *kind });
            }
        }
        links
    }
}

/// The URL of a refresh's `content` (`5; url=/next`, `0;URL='/next'`), if it names one.
fn refresh_url(content: &str) -> Option<&str> {
    let (_, rest) = content.split_once([';', ','])?;
    let rest = rest.trim_start();
    let value = rest
        .get(..3)
        .filter(|p| p.eq_ignore_ascii_case("url"))
        .map(|_| rest[3..].trim_start())
        .and_then(|r| r.strip_prefix('='))
        .unwrap_or(rest)
        .trim();
    let value = value
        .strip_prefix(['\'', '"'])
        .map_or(value, |v| v.trim_end_matches(['\'', '"']));
    (!value.is_empty()).then_some(value)
}

/// The URLs of a `srcset` (`a.png 1x, b.png 2x`).
fn srcset(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .filter_map(|candidate| candidate.split_whitespace().next())
}

#[cfg(test)]
mod tests {
    use super::super::html::{HtmlScanner, Looking};
    use super::*;

    fn links(page: &str, html: &str) -> Vec<(String, LinkKind)> {
        let looking = Looking {
            title: false,
            links: true,
        };
        let mut scanner = HtmlScanner::new(None, looking);
        for chunk in html.as_bytes().chunks(5) {
            scanner.feed(chunk);
        }
        let page = Url::parse(page).unwrap();
        let found = scanner.finish(&page).links.unwrap();
        found
            .into_iter()
            .map(|l| (l.url.to_string(), l.kind))
            .collect()
    }

    #[test]
    fn every_tag_gives_its_links_resolved_and_normalised() {
        let html = r#"<html><head>
            <link rel=stylesheet href="/s.css"><script src="app.js"></script>
            <meta http-equiv="Refresh" content="5; URL='/next'">
            </head><body>
            <a href="b/../c.html#part">c</a> <A HREF="//Other.test:80/x">x</A>
            <area href="/map"><iframe src="frame.html"></iframe><frame src="f2">
            <img src="i.png" srcset="i1.png 1x, /i2.png 2x">
            <picture><source srcset="p.webp"></picture>
            <video src="v.mp4" poster="v.jpg"></video><audio src="a.ogg"></audio>
            <embed src="e.swf">
            <form action="/search"></form>
            <a href="/a?x=1&amp;y=2">entity</a>
            <a href="mailto:me@a.test">mail</a><a href="javascript:void(0)">js</a>
            <a href="">the page itself</a><a href="   ">blank</a><a>none</a>
            <a href="c.html">again</a>
            "#;
        let found = links("http://a.test/dir/page.html", html);
        let page = |p: &str| (format!("http://a.test{p}"), LinkKind::Page);
        let res = |p: &str| (format!("http://a.test{p}"), LinkKind::Resource);
        assert_eq!(
            found,
            vec![
                res("/s.css"),
                res("/dir/app.js"),
                page("/next"),
                page("/dir/c.html"),
                ("http://other.test/x".to_string(), LinkKind::Page),
                page("/map"),
                page("/dir/frame.html"),
                page("/dir/f2"),
                res("/dir/i.png"),
                res("/dir/i1.png"),
                res("/i2.png"),
                res("/dir/p.webp"),
                res("/dir/v.mp4"),
                res("/dir/v.jpg"),
                res("/dir/a.ogg"),
                res("/dir/e.swf"),
                ("http://a.test/search".to_string(), LinkKind::Form),
                page("/a?x=1&y=2"),
            ]
        );
    }

    #[test]
    fn base_href_and_broken_html_are_honoured() {
        let html = r#"<base href="/root/"><base href="/ignored/"><a href=x>x</a>
            <a href="https://b.test:443/y">y</a><p><a href='z'>unclosed <b>tags"#;
        let found = links("http://a.test/deep/page", html);
        let urls: Vec<&str> = found.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://a.test/root/x",
                "https://b.test/y",
                "http://a.test/root/z"
            ]
        );
    }

    #[test]
    fn script_and_style_text_is_not_markup() {
        let html = r#"<script>document.write('<a href="/in-script">x</a>')</script>
            <style>/* <a href="/in-style"> */ a { color: red }</style>
            <textarea><a href="/in-textarea"></a></textarea>
            <title><a href="/in-title"></a></title>
            <noscript><a href="/in-noscript">no js</a></noscript>
            <script src="app.js"/><a href="/still-script"></a></script>
            <a href="/after">after</a>"#;
        let found = links("http://a.test/", html);
        let urls: Vec<&str> = found.iter().map(|(u, _)| u.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://a.test/in-noscript",
                "http://a.test/app.js",
                "http://a.test/after"
            ]
        );
    }

    #[test]
    fn refresh_urls_are_read_as_browsers_do() {
        assert_eq!(refresh_url("0; url=/a"), Some("/a"));
        assert_eq!(refresh_url("3;URL=\"/b\""), Some("/b"));
        assert_eq!(refresh_url("1, /c"), Some("/c"));
        assert_eq!(refresh_url("5"), None);
        assert_eq!(refresh_url("5; url="), None);
    }

    #[test]
    fn links_are_bounded() {
        let html = "<a href=x>".repeat(MAX_LINKS + 10)
            + &format!("<a href=\"{}\">", "y".repeat(MAX_LINK + 1));
        let mut scanner = HtmlScanner::new(
            None,
            Looking {
                title: false,
                links: true,
            },
        );
        scanner.feed(html.as_bytes());
        let page = Url::parse("http://a.test/").unwrap();
        let kept = scanner.finish(&page).links.unwrap();
        assert_eq!(
            kept.len(),
            1,
            "20,000 times the same link, and one too long"
        );
    }
}
