//! `crawl --report broken`: each page with the links on it that failed, the link checker's
//! view. Text: the page, then one indented line per link (`404 URL`, or the failure's kind
//! and the URL). JSON Lines: `{"page": …, "broken": [{"url", "status", "error"}, …]}`. CSV:
//! a header row, then a row per page and link: `page,url,status,error`.
//!
//! Invariant: one page's report is written whole (text: its lines together; JSON: one line).

use octopus::BrokenLink;
use serde_json::json;

use super::Format;
use super::csv::row;
use super::text::escape;

/// What the report starts with (CSV's header row).
pub fn begin(format: Format, out: &mut Vec<u8>) {
    if format == Format::Csv {
        row(["page", "url", "status", "error"], out);
    }
}

/// Append the report of `page` to `out`.
pub fn print(format: Format, page: &str, links: &[BrokenLink], out: &mut Vec<u8>) {
    match format {
        Format::Csv => {
            for link in links {
                let status = link.status.map(|s| s.to_string()).unwrap_or_default();
                let error = link.error.clone().unwrap_or_default();
                row([page, &link.url, &status, &error], out);
            }
        }
        Format::Json => {
            let broken: Vec<_> = links
                .iter()
                .map(|l| json!({"url": l.url, "status": l.status, "error": l.error}))
                .collect();
            let line = json!({"page": page, "broken": broken});
            out.extend_from_slice(line.to_string().as_bytes());
            out.push(b'\n');
        }
        Format::Text => {
            out.extend_from_slice(escape(page, true).as_bytes());
            out.push(b'\n');
            for link in links {
                let why = match (link.status, &link.error) {
                    (Some(status), _) => status.to_string(),
                    (None, Some(kind)) => kind.clone(),
                    (None, None) => "failed".to_string(),
                };
                out.extend_from_slice(format!("  {why} {}\n", escape(&link.url, true)).as_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_without_a_status_shows_its_failures_kind() {
        let gone = broken_link("http://gone.test/a b", None, Some("connect"));
        let mut text = Vec::new();
        print(
            Format::Text,
            "http://a.test/",
            std::slice::from_ref(&gone),
            &mut text,
        );
        assert_eq!(
            String::from_utf8_lossy(&text),
            "http://a.test/\n  connect http://gone.test/a%20b\n"
        );
        let mut line = Vec::new();
        print(Format::Json, "http://a.test/", &[gone], &mut line);
        let value: serde_json::Value = serde_json::from_slice(&line).expect("JSON");
        assert_eq!(
            value,
            json!({"page": "http://a.test/", "broken": [
                {"url": "http://gone.test/a b", "status": null, "error": "connect"}
            ]})
        );
    }

    fn broken_link(url: &str, status: Option<u16>, error: Option<&str>) -> BrokenLink {
        let mut link = octopus::BrokenLink::default();
        link.url = url.to_string();
        link.status = status;
        link.error = error.map(str::to_string);
        link
    }
}
