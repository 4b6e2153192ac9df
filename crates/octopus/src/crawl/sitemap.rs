//! Sitemaps (sitemaps.org): the `<loc>` of each `<url>` of a `urlset`, or of each
//! `<sitemap>` of a `sitemapindex`; gzipped or not. Read as the protocol bounds them: at most
//! 50,000 locations and 50 MiB once uncompressed; what is beyond is not read.
//!
//! Invariant: reading never fails: what is not a sitemap has no locations.

use std::io::Read;

/// Locations a sitemap holds at most.
const MAX_LOCS: usize = 50_000;
/// Bytes of a sitemap read at most, uncompressed.
const MAX_BYTES: u64 = 50 * 1024 * 1024;

/// What a sitemap lists.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Sitemap {
    /// Pages (a `urlset`).
    pub pages: Vec<String>,
    /// Other sitemaps (a `sitemapindex`).
    pub sitemaps: Vec<String>,
}

/// Read a sitemap's body.
pub(super) fn read(body: &[u8]) -> Sitemap {
    let mut text = Vec::new();
    // An error (a gzip stream cut short) leaves in `text` what was read before it.
    let _ = match body.starts_with(&[0x1f, 0x8b]) {
        true => flate2::read::GzDecoder::new(body)
            .take(MAX_BYTES)
            .read_to_end(&mut text),
        false => body.take(MAX_BYTES).read_to_end(&mut text),
    };
    let text = String::from_utf8_lossy(&text);
    let locs = locations(&text);
    match text.contains("<sitemapindex") {
        true => Sitemap {
            pages: Vec::new(),
            sitemaps: locs,
        },
        false => Sitemap {
            pages: locs,
            sitemaps: Vec::new(),
        },
    }
}

/// The text of each `<loc>` element, its entities replaced and white space trimmed.
fn locations(text: &str) -> Vec<String> {
    let mut locs = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<loc>") {
        rest = &rest[start + "<loc>".len()..];
        let Some(end) = rest.find("</loc>") else {
            break;
        };
        let loc = unescape(rest[..end].trim());
        rest = &rest[end..];
        if !loc.is_empty() {
            locs.push(loc);
        }
        if locs.len() >= MAX_LOCS {
            break;
        }
    }
    locs
}

/// XML's predefined entities, and a CDATA section, as their text.
fn unescape(text: &str) -> String {
    if let Some(raw) = text
        .strip_prefix("<![CDATA[")
        .and_then(|t| t.strip_suffix("]]>"))
    {
        return raw.trim().to_string();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_urlset_lists_pages_and_an_index_lists_sitemaps() {
        let urlset = "<?xml version=\"1.0\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\
            <url><loc> http://a.test/1?x=1&amp;y=2 </loc><lastmod>2026-01-01</lastmod></url>\
            <url><loc><![CDATA[http://a.test/2]]></loc></url><url><loc></loc></url></urlset>";
        let read_urlset = read(urlset.as_bytes());
        assert_eq!(
            read_urlset.pages,
            ["http://a.test/1?x=1&y=2", "http://a.test/2"]
        );
        assert!(read_urlset.sitemaps.is_empty());
        let index =
            "<sitemapindex><sitemap><loc>http://a.test/s1.xml.gz</loc></sitemap></sitemapindex>";
        let read_index = read(index.as_bytes());
        assert_eq!(read_index.sitemaps, ["http://a.test/s1.xml.gz"]);
        assert!(read_index.pages.is_empty());
    }

    #[test]
    fn a_gzipped_sitemap_is_read_and_anything_else_lists_nothing() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"<urlset><url><loc>http://a.test/z</loc></url></urlset>")
            .unwrap();
        let body = gz.finish().unwrap();
        assert_eq!(read(&body).pages, ["http://a.test/z"]);
        assert_eq!(read(b"<html>not a sitemap</html>"), Sitemap::default());
        assert_eq!(read(&[0x1f, 0x8b, 0, 1, 2]), Sitemap::default());
        assert_eq!(read(b"<loc>http://a.test/cut"), Sitemap::default());
    }
}
