//! What an HTML response says, read as the body streams through: its `<title>`
//! (`title.rs`) and the links it holds (`links.rs`), from one pass of html5ever's
//! tokenizer (the one browsers' parsing rules are written for: character references
//! decoded, `<title>` text is RCDATA), fed text decoded from the response's charset.
//!
//! Invariant: memory is bounded whatever the page: nothing past `SCAN_LIMIT` bytes is
//! tokenized, and each part found is bounded (see `title.rs`, `links.rs`).

use std::cell::RefCell;

use encoding_rs::{Decoder, Encoding, UTF_8};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use url::Url;

use super::links::{Link, Links};
use super::title::Title;

/// Bytes of a page looked at.
const SCAN_LIMIT: u64 = 8 << 20;

/// What to look for in a page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Looking {
    pub title: bool,
    pub links: bool,
}

/// Reads an HTML body given in chunks.
pub(crate) struct HtmlScanner {
    tokenizer: Tokenizer<Sink>,
    queue: BufferQueue,
    decoder: Decoder,
    scanned: u64,
}

/// What the tokenizer's tokens went to.
struct Sink {
    title: Option<RefCell<Title>>,
    links: Option<RefCell<Links>>,
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut next = TokenSinkResult::Continue;
        if let Token::TagToken(tag) = &token {
            if let Some(links) = &self.links {
                links.borrow_mut().tag(tag);
            }
            if let Some(raw) = raw_text(tag) {
                next = TokenSinkResult::RawData(raw);
            }
        }
        if let Some(title) = &self.title {
            title.borrow_mut().token(token);
        }
        next
    }
}

/// The text kind that follows `tag` when it opens an element whose content is text, not
/// markup, as the tree builder tells the tokenizer (HTML's "generic raw text" and "RCDATA"
/// elements, and script): a `<a href>` inside `<script>` or `<style>` is no link, and
/// `<title>`'s text is the title whatever it holds. `<noscript>` is read as markup, as a
/// browser without scripting does: its links are the ones such a reader follows.
fn raw_text(tag: &html5ever::tokenizer::Tag) -> Option<RawKind> {
    if tag.kind != TagKind::StartTag {
        return None;
    }
    match &*tag.name {
        "script" => Some(RawKind::ScriptData),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" => Some(RawKind::Rawtext),
        "title" | "textarea" => Some(RawKind::Rcdata),
        _ => None,
    }
}

/// What was found in a page.
pub(crate) struct Found {
    pub title: Option<String>,
    pub links: Option<Vec<Link>>,
}

impl HtmlScanner {
    /// A scanner for a body in `charset` (from `Content-Type`; UTF-8 when unknown).
    pub fn new(charset: Option<&str>, looking: Looking) -> HtmlScanner {
        let encoding = charset
            .and_then(|label| Encoding::for_label(label.trim().as_bytes()))
            .unwrap_or(UTF_8);
        let sink = Sink {
            title: looking.title.then(RefCell::default),
            links: looking.links.then(RefCell::default),
        };
        HtmlScanner {
            tokenizer: Tokenizer::new(sink, TokenizerOpts::default()),
            queue: BufferQueue::default(),
            decoder: encoding.new_decoder(),
            scanned: 0,
        }
    }

    /// Whether nothing more is looked for.
    fn done(&self) -> bool {
        let sink = &self.tokenizer.sink;
        let title_done = sink.title.as_ref().is_none_or(|t| t.borrow().done());
        self.scanned >= SCAN_LIMIT || (title_done && sink.links.is_none())
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        if self.done() {
            return;
        }
        self.scanned += bytes.len() as u64;
        self.decode(bytes, false);
    }

    fn decode(&mut self, bytes: &[u8], last: bool) {
        let mut text = String::with_capacity(
            self.decoder
                .max_utf8_buffer_length(bytes.len())
                .unwrap_or(bytes.len() * 3),
        );
        let _ = self.decoder.decode_to_string(bytes, &mut text, last);
        if !text.is_empty() {
            self.queue.push_back(StrTendril::from(text));
            let _ = self.tokenizer.feed(&self.queue);
        }
    }

    /// What was found; links resolved against `page` (the URL the page came from) or the
    /// page's `<base href>`.
    pub fn finish(mut self, page: &Url) -> Found {
        if !self.done() {
            self.decode(&[], true);
            self.tokenizer.end();
        }
        let sink = &self.tokenizer.sink;
        Found {
            title: sink.title.as_ref().and_then(|t| t.borrow().text()),
            links: sink.links.as_ref().map(|l| l.borrow().resolved(page)),
        }
    }
}
