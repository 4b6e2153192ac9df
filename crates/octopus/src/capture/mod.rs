//! What is kept of a response's body, read once as it streams through: the body itself,
//! digests (`digest.rs`), the HTML title and links (`html.rs`, `title.rs`, `links.rs`), a
//! file under the output directory (`save.rs`, named by `names.rs`).
//!
//! Invariant: nothing is kept that was not asked for; with nothing asked for, the body is
//! read and discarded as before (no buffer, no file, no tokenizer).

mod digest;
mod html;
mod links;
mod names;
mod save;
mod title;

use std::sync::Arc;

use url::Url;

pub use digest::Hash;
pub use links::{Link, LinkKind, normalise};
pub(crate) use save::Saver;
pub use save::{Layout, Saved};

use crate::failure::Failure;
use digest::Digester;
use html::{HtmlScanner, Looking};
use save::Writing;

/// What to keep of each body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Capture {
    pub body: bool,
    pub hashes: Vec<Hash>,
    pub title: bool,
    /// Read the links of HTML pages.
    pub links: bool,
    pub save: Option<Arc<Saver>>,
}

impl Capture {
    /// Nothing is kept: the body is only counted.
    pub fn is_empty(&self) -> bool {
        !self.body && self.hashes.is_empty() && !self.title && !self.links && self.save.is_none()
    }

    /// Start reading the body of a response to `url` (as requested: saved files are named
    /// by it), which came from `page` (links are resolved against it), with `status` and
    /// `content_type`; a response without a body (`bodiless`: HEAD, 204, 304) is never
    /// saved.
    pub fn start(
        &self,
        url: &Url,
        page: &Url,
        status: u16,
        content_type: Option<&str>,
        bodiless: bool,
    ) -> Reading {
        let saving = self.save.as_ref().filter(|s| !bodiless && s.wants(status));
        let mut hashes = self.hashes.clone();
        // The hash layout names files by their SHA-256.
        if saving.is_some_and(|s| s.layout() == Layout::Hash) && !hashes.contains(&Hash::Sha256) {
            hashes.push(Hash::Sha256);
        }
        let html = content_type.is_some_and(|t| {
            let t = t.trim().to_ascii_lowercase();
            t.starts_with("text/html") || t.starts_with("application/xhtml+xml")
        });
        Reading {
            body: self.body.then(Vec::new),
            digests: hashes.into_iter().map(Digester::new).collect(),
            asked: self.hashes.clone(),
            html: (html && (self.title || self.links)).then(|| {
                let looking = Looking {
                    title: self.title,
                    links: self.links,
                };
                (
                    HtmlScanner::new(charset(content_type), looking),
                    page.clone(),
                )
            }),
            writing: saving.map(|saver| (Arc::clone(saver), saver.start(url))),
        }
    }
}

/// The `charset` parameter of a `Content-Type`.
fn charset(content_type: Option<&str>) -> Option<&str> {
    content_type?.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// One body being read.
pub(crate) struct Reading {
    body: Option<Vec<u8>>,
    digests: Vec<Digester>,
    /// The digests asked for (the hash layout may compute SHA-256 for itself).
    asked: Vec<Hash>,
    /// The page's scanner, and the URL its links are resolved against.
    html: Option<(HtmlScanner, Url)>,
    writing: Option<(Arc<Saver>, Result<Writing, Failure>)>,
}

/// What was kept of a body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Captured {
    /// The decoded body, when kept.
    pub body: Option<Vec<u8>>,
    /// Digests asked for, in lower-case hex.
    pub digests: Vec<(Hash, String)>,
    /// The HTML title, when asked for and found.
    pub title: Option<String>,
    /// The links of an HTML page, when asked for.
    pub links: Option<Vec<Link>>,
    /// Where the body was saved, or why it could not be; `None` when not saved.
    pub saved: Option<Result<Saved, Failure>>,
}

impl Reading {
    pub fn chunk(&mut self, bytes: &[u8]) {
        if let Some(body) = &mut self.body {
            body.extend_from_slice(bytes);
        }
        for digest in &mut self.digests {
            digest.update(bytes);
        }
        if let Some((scanner, _)) = &mut self.html {
            scanner.feed(bytes);
        }
        if let Some((_, Ok(writing))) = &mut self.writing {
            writing.write(bytes);
        }
    }

    /// The body ended: what was kept.
    pub fn finish(self) -> Captured {
        let digests: Vec<(Hash, String)> = self
            .digests
            .into_iter()
            .map(|d| (d.hash(), d.finish()))
            .collect();
        let sha256 = digests
            .iter()
            .find(|(h, _)| *h == Hash::Sha256)
            .map(|(_, hex)| hex.as_str());
        let saved = self
            .writing
            .map(|(saver, writing)| writing.and_then(|w| w.finish(&saver, sha256)));
        let found = self.html.map(|(scanner, page)| scanner.finish(&page));
        let (title, links) = found.map_or((None, None), |f| (f.title, f.links));
        Captured {
            body: self.body,
            digests: digests
                .into_iter()
                .filter(|(h, _)| self.asked.contains(h))
                .collect(),
            title,
            links,
            saved,
        }
    }

    /// The body could not be read whole: nothing is saved.
    pub fn abandon(self) {
        if let Some((_, Ok(writing))) = self.writing {
            writing.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::charset;

    #[test]
    fn charsets_come_from_the_content_type() {
        assert_eq!(
            charset(Some("text/html; charset=ISO-8859-1")),
            Some("ISO-8859-1")
        );
        assert_eq!(charset(Some("text/html;charset=\"utf-8\"")), Some("utf-8"));
        assert_eq!(charset(Some("text/html")), None);
        assert_eq!(charset(None), None);
    }
}
