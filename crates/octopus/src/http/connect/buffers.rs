//! The input buffer of one connection (`socket.rs`), held only while the connection is
//! busy (requests are written from the buffer they are made in).
//!
//! ureq's buffers were allocated at their full size (72 KiB in, 16 KiB out here) the
//! first time a connection was used and kept for the connection's life, zero-filled: at ten
//! thousand connections that was most of the memory of a run (see BENCHMARKS.md, W9).
//! These start small, grow when a response head does not fit (up to the largest head
//! accepted, so a head over the limit is still seen as such), and are given back when the
//! connection goes idle or waits for the server: a connection waiting for a response, or
//! in the pool, holds no buffer.
//!
//! A released buffer goes to a shared stock of spares, which the next busy connection takes
//! from (a lock-free queue): no allocation, zeroing or free per request. At ten thousand
//! threads, allocating and freeing them cost 12% of the CPU in glibc's arena locks.
//!
//! Invariants: `input()` is exactly the bytes appended and not consumed; the input never
//! grows past `max_input`; releasing never drops unconsumed input; the spares are bounded.

use std::sync::OnceLock;

use crossbeam_queue::ArrayQueue;

/// Spare buffers kept, of each kind: about as many as connections can be reading or
/// writing at one moment, which is the running threads, not the connections.
const SPARES: usize = 256;

/// Spare buffers of one size, initialised (zeroed once, when first made).
struct Spares {
    size: usize,
    queue: ArrayQueue<Vec<u8>>,
}

impl Spares {
    /// A buffer of `size` bytes: a spare when its size matches, else a new one.
    fn take(stock: &OnceLock<Spares>, size: usize) -> Vec<u8> {
        let spares = stock.get_or_init(|| Spares {
            size,
            queue: ArrayQueue::new(SPARES),
        });
        match spares.queue.pop() {
            Some(buffer) if spares.size == size && buffer.len() == size => buffer,
            _ => vec![0; size],
        }
    }

    /// Keep `buffer` for another connection, if it is of the stock's size and there is room.
    fn give(stock: &OnceLock<Spares>, buffer: Vec<u8>) {
        if let Some(spares) = stock.get()
            && buffer.len() == spares.size
        {
            let _ = spares.queue.push(buffer);
        }
    }
}

static INPUTS: OnceLock<Spares> = OnceLock::new();

/// The input buffer a busy connection starts with: a whole small response in one read.
const INITIAL_INPUT: usize = 16 * 1024;

/// A connection's input buffer: what was read and not consumed yet.
#[derive(Debug)]
pub(crate) struct SocketBuffers {
    input: Vec<u8>,
    /// Unconsumed input is `input[start..end]`.
    start: usize,
    end: usize,
    max_input: usize,
}

impl SocketBuffers {
    /// An input growing up to `max_input`; nothing is allocated until used.
    pub fn new(max_input: usize) -> SocketBuffers {
        SocketBuffers {
            input: Vec::new(),
            start: 0,
            end: 0,
            max_input: max_input.max(1),
        }
    }

    /// Whether an input buffer is held.
    pub fn holds_input(&self) -> bool {
        !self.input.is_empty()
    }

    /// Give the input buffer back when nothing is left unread in it.
    pub fn release(&mut self) {
        if self.start == self.end {
            Spares::give(&INPUTS, std::mem::take(&mut self.input));
            self.start = 0;
            self.end = 0;
        }
    }

    /// What was read and not consumed.
    pub fn input(&self) -> &[u8] {
        self.input.get(self.start..self.end).unwrap_or_default()
    }

    /// Free space after the unconsumed input: at least one byte unless the input holds
    /// `max_input` bytes unconsumed (then the head is over the limit).
    pub fn input_append_buf(&mut self) -> &mut [u8] {
        self.make_room(1);
        self.input.get_mut(self.end..).unwrap_or_default()
    }

    /// `amount` bytes were read into `input_append_buf`.
    pub fn input_appended(&mut self, amount: usize) {
        self.end = (self.end + amount).min(self.input.len());
    }

    /// The first `amount` bytes of the input are taken.
    pub fn input_consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.end);
    }

    /// Make at least `wanted` bytes free after the unconsumed input, within `max_input`.
    fn make_room(&mut self, wanted: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.input.len() - self.end >= wanted {
            return;
        }
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let free = self.input.len() - self.end;
        if free >= wanted {
            return;
        }
        let needed = self.end + wanted;
        let mut size = self.input.len().max(INITIAL_INPUT);
        while size < needed {
            size = size.saturating_mul(2);
        }
        let size = size.min(self.max_input);
        if self.input.is_empty() && size == INITIAL_INPUT {
            self.input = Spares::take(&INPUTS, INITIAL_INPUT);
        } else if size > self.input.len() {
            self.input.resize(size, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(b: &mut SocketBuffers, bytes: &[u8]) -> usize {
        let free = b.input_append_buf();
        let n = free.len().min(bytes.len());
        free[..n].copy_from_slice(&bytes[..n]);
        b.input_appended(n);
        n
    }

    #[test]
    fn nothing_is_allocated_until_used_and_released_when_idle() {
        let mut b = SocketBuffers::new(72 * 1024);
        assert!(!b.holds_input());
        assert_eq!(append(&mut b, b"HTTP/1.1 200 OK\r\n"), 17);
        assert_eq!(b.input_append_buf().len(), INITIAL_INPUT - 17);
        b.input_consume(10);
        b.release();
        // Unconsumed input is kept.
        assert_eq!(b.input(), b"00 OK\r\n");
        b.input_consume(7);
        b.release();
        assert!(!b.holds_input());
        assert!(b.input().is_empty());
    }

    #[test]
    fn input_grows_to_the_limit_and_no_further() {
        let mut b = SocketBuffers::new(40 * 1024);
        let chunk = vec![b'x'; 1000];
        let mut total = 0;
        while append(&mut b, &chunk) > 0 {
            total += 1000.min(40 * 1024 - total);
        }
        assert_eq!(b.input().len(), 40 * 1024);
        assert!(b.input_append_buf().is_empty());
        // Consumed bytes make room again, keeping what is left in order.
        b.input_consume(40 * 1024 - 3);
        assert_eq!(b.input(), b"xxx");
        assert_eq!(append(&mut b, b"yz"), 2);
        assert_eq!(b.input(), b"xxxyz");
    }
}
