//! The `<title>` of an HTML response, read as the body streams through: html5ever's
//! tokenizer (the one browsers' parsing rules are written for: `<title>` text is RCDATA,
//! character references decoded), fed text decoded from the response's charset.
//!
//! Invariant: memory is bounded whatever the page: the title text is cut at `MAX_TITLE`
//! characters, and nothing past the first `SCAN_LIMIT` bytes is tokenized.

use std::cell::RefCell;

use encoding_rs::{Decoder, Encoding, UTF_8};
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// The longest title kept, in characters.
const MAX_TITLE: usize = 1024;
/// Bytes of a page looked at for its title.
const SCAN_LIMIT: u64 = 1 << 20;

/// Reads the title of an HTML body given in chunks.
pub(crate) struct TitleScanner {
    tokenizer: Tokenizer<TitleSink>,
    queue: BufferQueue,
    decoder: Decoder,
    scanned: u64,
}

#[derive(Default)]
struct TitleSink {
    state: RefCell<Title>,
}

#[derive(Default)]
struct Title {
    inside: bool,
    done: bool,
    text: String,
}

impl TokenSink for TitleSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut title = self.state.borrow_mut();
        match token {
            Token::TagToken(tag) if &*tag.name == "title" && !title.done => {
                if tag.kind == TagKind::StartTag && !tag.self_closing {
                    title.inside = true;
                    // As the tree builder does: the title's text is RCDATA.
                    return TokenSinkResult::RawData(RawKind::Rcdata);
                }
                if tag.kind == TagKind::EndTag && title.inside {
                    title.inside = false;
                    title.done = true;
                }
            }
            Token::CharacterTokens(text) if title.inside => {
                let room = MAX_TITLE.saturating_sub(title.text.chars().count());
                title.text.extend(text.chars().take(room));
            }
            Token::EOFToken if title.inside => {
                title.inside = false;
                title.done = true;
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

impl TitleScanner {
    /// A scanner for a body in `charset` (from `Content-Type`; UTF-8 when unknown).
    pub fn new(charset: Option<&str>) -> TitleScanner {
        let encoding = charset
            .and_then(|label| Encoding::for_label(label.trim().as_bytes()))
            .unwrap_or(UTF_8);
        TitleScanner {
            tokenizer: Tokenizer::new(TitleSink::default(), TokenizerOpts::default()),
            queue: BufferQueue::default(),
            decoder: encoding.new_decoder(),
            scanned: 0,
        }
    }

    fn done(&self) -> bool {
        self.tokenizer.sink.state.borrow().done || self.scanned >= SCAN_LIMIT
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

    /// The title, white space collapsed; `None` when the page has none (or an empty one).
    pub fn finish(mut self) -> Option<String> {
        if !self.done() {
            self.decode(&[], true);
            self.tokenizer.end();
        }
        let title = self.tokenizer.sink.state.borrow();
        let collapsed = title.text.split_whitespace().collect::<Vec<_>>().join(" ");
        (!collapsed.is_empty()).then_some(collapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn title(chunks: &[&[u8]], charset: Option<&str>) -> Option<String> {
        let mut scanner = TitleScanner::new(charset);
        for chunk in chunks {
            scanner.feed(chunk);
        }
        scanner.finish()
    }

    #[test]
    fn titles_are_decoded_collapsed_and_found_across_chunks() {
        let page = b"<html><head><TITLE>\n  Fish &amp; Chips &lt;b&gt;\n caf&eacute;</TITLE>";
        let split: Vec<&[u8]> = page.chunks(7).collect();
        assert_eq!(
            title(&split, None).as_deref(),
            Some("Fish & Chips <b> caf\u{e9}")
        );
        assert_eq!(title(&[b"<p>no title</p>"], None), None);
        assert_eq!(title(&[b"<title>  </title>"], None), None);
        assert_eq!(
            title(&[b"<title>a</title><title>b</title>"], None).as_deref(),
            Some("a")
        );
        // Latin-1 bytes, as the Content-Type says.
        assert_eq!(
            title(&[b"<title>caf\xe9</title>"], Some("iso-8859-1")).as_deref(),
            Some("caf\u{e9}")
        );
        // An unclosed title ends with the page.
        assert_eq!(title(&[b"<title>open"], None).as_deref(), Some("open"));
    }

    #[test]
    fn memory_is_bounded() {
        let mut scanner = TitleScanner::new(None);
        scanner.feed(b"<title>");
        let chunk = [b'x'; 64 * 1024];
        for _ in 0..64 {
            scanner.feed(&chunk);
        }
        let found = scanner.finish().unwrap();
        assert_eq!(found.len(), MAX_TITLE);
    }
}
