//! The `<title>` of an HTML page, from the tokens of `html.rs`: its text is RCDATA (as the
//! tree builder reads it), character references decoded, white space collapsed.
//!
//! Invariant: the title text is cut at `MAX_TITLE` characters.

use html5ever::tokenizer::{TagKind, Token};

/// The longest title kept, in characters.
const MAX_TITLE: usize = 1024;

/// A page's title as its tokens come.
#[derive(Default)]
pub(super) struct Title {
    inside: bool,
    done: bool,
    text: String,
}

impl Title {
    /// Take the next token of the page (the tokenizer reads the title's text as RCDATA:
    /// `html.rs` tells it).
    pub fn token(&mut self, token: Token) {
        match token {
            Token::TagToken(tag) if &*tag.name == "title" && !self.done => {
                if tag.kind == TagKind::StartTag && !tag.self_closing {
                    self.inside = true;
                    return;
                }
                if tag.kind == TagKind::EndTag && self.inside {
                    self.inside = false;
                    self.done = true;
                }
            }
            Token::CharacterTokens(text) if self.inside => {
                let room = MAX_TITLE.saturating_sub(self.text.chars().count());
                self.text.extend(text.chars().take(room));
            }
            Token::EOFToken if self.inside => {
                self.inside = false;
                self.done = true;
            }
            _ => {}
        }
    }

    /// Whether the title has ended.
    pub fn done(&self) -> bool {
        self.done
    }

    /// The title, white space collapsed; `None` when the page has none (or an empty one).
    pub fn text(&self) -> Option<String> {
        let collapsed = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        (!collapsed.is_empty()).then_some(collapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::super::html::{HtmlScanner, Looking};
    use super::*;

    fn scanner(charset: Option<&str>) -> HtmlScanner {
        let looking = Looking {
            title: true,
            links: false,
        };
        HtmlScanner::new(charset, looking)
    }

    fn finish(scanner: HtmlScanner) -> Option<String> {
        let page = url::Url::parse("http://a.test/").unwrap();
        scanner.finish(&page).title
    }

    fn title(chunks: &[&[u8]], charset: Option<&str>) -> Option<String> {
        let mut scanner = scanner(charset);
        for chunk in chunks {
            scanner.feed(chunk);
        }
        finish(scanner)
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
        let mut scanner = scanner(None);
        scanner.feed(b"<title>");
        let chunk = [b'x'; 64 * 1024];
        for _ in 0..64 {
            scanner.feed(&chunk);
        }
        let found = finish(scanner).unwrap();
        assert_eq!(found.len(), MAX_TITLE);
    }
}
