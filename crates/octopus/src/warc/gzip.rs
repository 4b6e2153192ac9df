//! Gzip members for `.warc.gz` files (RFC 1952), one per record, with deflate states reused
//! from small pools: a state is about 300 KB, zeroed when made (BENCHMARKS.md, W11). A
//! payload that is compressed already (an encoded body, an image, an archive) is deflated at
//! the fastest level: the default level spends 2.5 times the CPU on it for nothing.
//!
//! Invariant: each member is complete (header, deflate stream, CRC-32 and length), so a
//! reader can start at any member's offset.

use std::io::{self, Write};
use std::sync::Mutex;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

use super::spool::Spool;

/// Deflate states kept for reuse, at most, per level.
const POOL: usize = 16;

/// How hard to deflate a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Level {
    /// zlib's default (6): records of text.
    Default,
    /// The fastest (1): payloads that are compressed already.
    Fast,
}

impl Level {
    fn pool(self) -> &'static Mutex<Vec<Compress>> {
        static DEFAULT: Mutex<Vec<Compress>> = Mutex::new(Vec::new());
        static FAST: Mutex<Vec<Compress>> = Mutex::new(Vec::new());
        match self {
            Level::Default => &DEFAULT,
            Level::Fast => &FAST,
        }
    }

    fn compression(self) -> Compression {
        match self {
            Level::Default => Compression::default(),
            Level::Fast => Compression::fast(),
        }
    }
}

/// The fixed header: deflate, no name or time, unknown OS.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// One gzip member being written.
pub(crate) struct Member {
    level: Level,
    state: Option<Compress>,
    crc: Crc,
    /// Deflate output on its way to `out`.
    buf: Vec<u8>,
    out: Spool,
}

impl Member {
    pub fn new(level: Level) -> io::Result<Member> {
        let pooled = level.pool().lock().ok().and_then(|mut states| states.pop());
        let state = pooled.unwrap_or_else(|| Compress::new(level.compression(), false));
        let mut out = Spool::default();
        out.write_all(&HEADER)?;
        Ok(Member {
            level,
            state: Some(state),
            crc: Crc::new(),
            buf: Vec::with_capacity(16 * 1024),
            out,
        })
    }

    /// The member, complete.
    pub fn finish(mut self) -> io::Result<Spool> {
        self.deflate(&[], FlushCompress::Finish)?;
        let (sum, len) = (self.crc.sum(), self.crc.amount());
        self.out.write_all(&sum.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        Ok(std::mem::take(&mut self.out))
    }

    fn deflate(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        let Some(state) = self.state.as_mut() else {
            return Err(io::Error::other("gzip member already finished"));
        };
        loop {
            // Into the buffer's spare capacity: nothing is zeroed first.
            self.buf.clear();
            let read = state.total_in();
            let status = state
                .compress_vec(input, &mut self.buf, flush)
                .map_err(io::Error::other)?;
            input = &input[(state.total_in() - read) as usize..];
            self.out.write_all(&self.buf)?;
            let done = match flush {
                FlushCompress::Finish => status == Status::StreamEnd,
                _ => input.is_empty() && self.buf.len() < self.buf.capacity(),
            };
            if done {
                return Ok(());
            }
        }
    }
}

impl Write for Member {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.crc.update(buf);
        self.deflate(buf, FlushCompress::None)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Member {
    /// The deflate state goes back to the pool, ready for another member.
    fn drop(&mut self) {
        if let Some(mut state) = self.state.take() {
            state.reset();
            if let Ok(mut states) = self.level.pool().lock()
                && states.len() < POOL
            {
                states.push(state);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn member(parts: &[&[u8]]) -> Vec<u8> {
        let level = match parts.len() % 2 {
            0 => Level::Default,
            _ => Level::Fast,
        };
        let mut m = Member::new(level).unwrap();
        for part in parts {
            m.write_all(part).unwrap();
        }
        let mut out = Vec::new();
        m.finish().unwrap().copy_to(&mut out).unwrap();
        out
    }

    #[test]
    fn members_decode_alone_and_concatenated_with_reused_states() {
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let first = member(&[b"hello ", b"world"]);
        let second = member(&[&big, b"!"]);
        let third = member(&[]);
        let mut text = String::new();
        flate2::read::GzDecoder::new(first.as_slice())
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "hello world");
        let mut all = Vec::new();
        let joined = [first, second, third].concat();
        flate2::read::MultiGzDecoder::new(joined.as_slice())
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(all.len(), "hello world".len() + big.len() + 1);
        assert_eq!(&all[11..11 + big.len()], big.as_slice());
    }
}
