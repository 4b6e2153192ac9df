//! `Spool`: bytes held in memory up to a bound, past it in an anonymous temporary file, so
//! that a large body on its way into an archive costs disk, not memory, whatever the
//! concurrency.
//!
//! Invariant: at most `IN_MEMORY` (1 MiB) per spool in memory, whatever the body's size.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// Bytes kept in memory at most, per spool; past it they go to a temporary file.
const IN_MEMORY: usize = 1 << 20;

/// Bytes written once, then read back once (`copy_to`).
#[derive(Debug)]
pub(crate) enum Spool {
    Memory(Vec<u8>),
    File { file: File, len: u64 },
}

impl Default for Spool {
    fn default() -> Self {
        Spool::Memory(Vec::new())
    }
}

impl Spool {
    /// Bytes written.
    pub fn len(&self) -> u64 {
        match self {
            Spool::Memory(bytes) => bytes.len() as u64,
            Spool::File { len, .. } => *len,
        }
    }

    /// The first `n` bytes written (fewer if fewer were).
    pub fn prefix(&mut self, n: usize) -> io::Result<Vec<u8>> {
        match self {
            Spool::Memory(bytes) => Ok(bytes[..n.min(bytes.len())].to_vec()),
            Spool::File { file, len } => {
                let mut buf = vec![0; n.min(*len as usize)];
                file.seek(SeekFrom::Start(0))?;
                file.read_exact(&mut buf)?;
                Ok(buf)
            }
        }
    }

    /// Copy everything written to `out`.
    pub fn copy_to<W: Write + ?Sized>(&mut self, out: &mut W) -> io::Result<()> {
        match self {
            Spool::Memory(bytes) => out.write_all(bytes),
            Spool::File { file, len } => {
                file.seek(SeekFrom::Start(0))?;
                let copied = io::copy(&mut file.take(*len), out)?;
                match copied == *len {
                    true => Ok(()),
                    false => Err(io::ErrorKind::UnexpectedEof.into()),
                }
            }
        }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Spool::Memory(bytes) = self
            && bytes.len() + buf.len() > IN_MEMORY
        {
            let mut file = tempfile::tempfile()?;
            file.write_all(bytes)?;
            let len = bytes.len() as u64;
            *self = Spool::File { file, len };
        }
        match self {
            Spool::Memory(bytes) => bytes.extend_from_slice(buf),
            Spool::File { file, len } => {
                file.write_all(buf)?;
                *len += buf.len() as u64;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_stays_in_memory_large_goes_to_a_file_and_both_read_back_whole() {
        let mut small = Spool::default();
        small.write_all(b"hello").unwrap();
        assert!(matches!(small, Spool::Memory(_)));
        let mut out = Vec::new();
        small.copy_to(&mut out).unwrap();
        assert_eq!(out, b"hello");

        let mut large = Spool::default();
        let chunk: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        for _ in 0..5 {
            large.write_all(&chunk).unwrap();
        }
        assert!(matches!(large, Spool::File { .. }));
        assert_eq!(large.len(), 1_500_000);
        assert_eq!(large.prefix(1000).unwrap(), &chunk[..1000]);
        assert_eq!(small.prefix(1000).unwrap(), b"hello");
        let mut out = Vec::new();
        large.copy_to(&mut out).unwrap();
        assert_eq!(out.len(), 1_500_000);
        assert!(out.chunks(300_000).all(|c| c == chunk.as_slice()));
    }
}
