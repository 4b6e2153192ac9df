//! Content decoding, done by octopus rather than by ureq so that the body *as the server
//! sent it* is at hand too (WARC records keep it encoded): `gzip` (and `x-gzip`) and `br`,
//! the encodings octopus asks for; identity and anything unknown pass through unchanged.
//!
//! Invariant: decoding streams (memory is the decoder's window, not the body); a body that
//! does not decode is an error, never silently passed through.

use std::io::{self, Write};

/// What a chunk of the body decodes to, chunk by chunk.
pub(crate) enum Decoder {
    Identity,
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Vec<u8>>>),
}

/// The `Accept-Encoding` octopus sends: what `Decoder` decodes.
pub(crate) const ACCEPT_ENCODING: &str = "gzip, br";

impl Decoder {
    /// A decoder for a `Content-Encoding` header's value.
    pub fn for_encoding(content_encoding: Option<&str>) -> Decoder {
        match content_encoding
            .map(|e| e.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("gzip" | "x-gzip") => {
                Decoder::Gzip(Box::new(flate2::write::GzDecoder::new(Vec::new())))
            }
            Some("br") => Decoder::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(
                Vec::new(),
                4096,
            ))),
            _ => Decoder::Identity,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Decoder::Identity => "identity",
            Decoder::Gzip(_) => "gzip",
            Decoder::Brotli(_) => "brotli",
        }
    }

    /// Decode `raw`; what it decodes to goes to `out` (nothing may come out yet).
    pub fn feed(&mut self, raw: &[u8], out: &mut impl FnMut(&[u8])) -> io::Result<()> {
        let name = self.name();
        let failed = |e: io::Error| decoding_failed(name, &e);
        match self {
            Decoder::Identity => {
                out(raw);
                Ok(())
            }
            Decoder::Gzip(d) => {
                d.write_all(raw).map_err(failed)?;
                drain(d.get_mut(), out);
                Ok(())
            }
            Decoder::Brotli(d) => {
                d.write_all(raw).map_err(failed)?;
                drain(d.get_mut(), out);
                Ok(())
            }
        }
    }

    /// The body ended: the rest of what it decodes to goes to `out`; a stream cut short is
    /// an error.
    pub fn finish(self, out: &mut impl FnMut(&[u8])) -> io::Result<()> {
        let name = self.name();
        let failed = |e: io::Error| decoding_failed(name, &e);
        let rest = match self {
            Decoder::Identity => return Ok(()),
            Decoder::Gzip(d) => d.finish().map_err(failed)?,
            Decoder::Brotli(mut d) => {
                d.close().map_err(failed)?;
                d.into_inner()
                    .map_err(|_| decoding_failed(name, &io::ErrorKind::UnexpectedEof.into()))?
            }
        };
        if !rest.is_empty() {
            out(&rest);
        }
        Ok(())
    }
}

fn drain(buffer: &mut Vec<u8>, out: &mut impl FnMut(&[u8])) {
    if !buffer.is_empty() {
        out(buffer);
        buffer.clear();
    }
}

/// A decoding failure, as an `InvalidData` error (classified as `protocol`).
fn decoding_failed(name: &str, error: &io::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{name} decompression failed: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(encoding: Option<&str>, chunks: &[&[u8]]) -> io::Result<Vec<u8>> {
        let mut decoder = Decoder::for_encoding(encoding);
        let mut out = Vec::new();
        for chunk in chunks {
            decoder.feed(chunk, &mut |b| out.extend_from_slice(b))?;
        }
        decoder.finish(&mut |b| out.extend_from_slice(b))?;
        Ok(out)
    }

    #[test]
    fn gzip_brotli_and_identity_decode_across_chunks() {
        let gzip: &[u8] = &[
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0xcb, 0x48, 0xcd, 0xc9,
            0xc9, 0xe7, 0x02, 0x00, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00,
        ];
        let brotli: &[u8] = &[139, 2, 128, 104, 101, 108, 108, 111, 10, 3];
        let halves = |b: &'static [u8]| -> Vec<&'static [u8]> {
            let (a, c) = b.split_at(b.len() / 2);
            vec![a, c]
        };
        assert_eq!(decode(Some("gzip"), &halves(gzip)).unwrap(), b"hello\n");
        assert_eq!(decode(Some("BR"), &halves(brotli)).unwrap(), b"hello\n");
        assert_eq!(decode(None, &[b"as ", b"is"]).unwrap(), b"as is");
        assert_eq!(decode(Some("zstd"), &[b"unknown"]).unwrap(), b"unknown");
        let cut = decode(Some("gzip"), &[&gzip[..12]]).unwrap_err();
        assert_eq!(cut.kind(), io::ErrorKind::InvalidData);
        assert!(
            cut.to_string().contains("gzip decompression failed"),
            "{cut}"
        );
        assert!(decode(Some("gzip"), &[b"not gzip at all"]).is_err());
    }
}
