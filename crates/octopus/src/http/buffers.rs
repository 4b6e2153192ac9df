//! The input and output buffers of one plain TCP connection (`socket.rs`), held only while
//! the connection is busy.
//!
//! ureq's own buffers are allocated at their full size (72 KiB in, 16 KiB out here) the
//! first time a connection is used and kept for the connection's life, zero-filled: at ten
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
use ureq::unversioned::transport::Buffers;

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
static OUTPUTS: OnceLock<Spares> = OnceLock::new();

/// The input buffer a busy connection starts with: a whole small response in one read.
const INITIAL_INPUT: usize = 16 * 1024;

/// ureq's scratch space for reading a request body (it asks for at least this much).
const MIN_TMP: usize = 10 * 1024;

#[derive(Debug)]
pub(crate) struct SocketBuffers {
    input: Vec<u8>,
    /// Unconsumed input is `input[start..end]`.
    start: usize,
    end: usize,
    max_input: usize,
    output: Vec<u8>,
    output_size: usize,
    /// The last `input_consume` consumed something (see `Buffers::can_use_input`).
    progress: bool,
}

impl SocketBuffers {
    /// Buffers with input growing up to `max_input` and output of `output_size`; nothing is
    /// allocated until used.
    pub fn new(max_input: usize, output_size: usize) -> SocketBuffers {
        SocketBuffers {
            input: Vec::new(),
            start: 0,
            end: 0,
            max_input: max_input.max(1),
            output: Vec::new(),
            output_size: output_size.max(1),
            progress: false,
        }
    }

    /// Whether an input buffer is held.
    pub fn holds_input(&self) -> bool {
        !self.input.is_empty()
    }

    /// Give back the output buffer (the request is sent) and, when nothing is left unread in
    /// it, the input buffer.
    pub fn release(&mut self) {
        Spares::give(&OUTPUTS, std::mem::take(&mut self.output));
        if self.start == self.end {
            Spares::give(&INPUTS, std::mem::take(&mut self.input));
            self.start = 0;
            self.end = 0;
        }
    }

    /// The first `amount` bytes of the output buffer (what ureq wrote there to be sent).
    pub fn written(&self, amount: usize) -> &[u8] {
        self.output.get(..amount).unwrap_or(&self.output)
    }

    fn ensure_output(&mut self) {
        if self.output.len() < self.output_size {
            self.output = Spares::take(&OUTPUTS, self.output_size);
        }
    }

    /// Make at least `wanted` bytes free after the unconsumed input, within `max_input`
    /// (beyond it when `beyond` is set: ureq's scratch space must be had).
    fn make_room(&mut self, wanted: usize, beyond: bool) {
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
        let cap = if beyond {
            needed.max(self.max_input)
        } else {
            self.max_input
        };
        let size = size.min(cap);
        if self.input.is_empty() && size == INITIAL_INPUT {
            self.input = Spares::take(&INPUTS, INITIAL_INPUT);
        } else if size > self.input.len() {
            self.input.resize(size, 0);
        }
    }
}

impl Buffers for SocketBuffers {
    fn output(&mut self) -> &mut [u8] {
        self.ensure_output();
        &mut self.output
    }

    fn input(&self) -> &[u8] {
        self.input.get(self.start..self.end).unwrap_or_default()
    }

    /// Free space after the unconsumed input: at least one byte unless the input holds
    /// `max_input` bytes unconsumed (then ureq sees a head over the limit).
    fn input_append_buf(&mut self) -> &mut [u8] {
        self.make_room(1, false);
        self.input.get_mut(self.end..).unwrap_or_default()
    }

    fn input_appended(&mut self, amount: usize) {
        self.end = (self.end + amount).min(self.input.len());
    }

    fn input_consume(&mut self, amount: usize) {
        self.progress = amount > 0;
        self.start = (self.start + amount).min(self.end);
    }

    fn tmp_and_output(&mut self) -> (&mut [u8], &mut [u8]) {
        self.make_room(MIN_TMP, true);
        self.ensure_output();
        let tmp = self.input.get_mut(self.end..).unwrap_or_default();
        (tmp, &mut self.output)
    }

    fn can_use_input(&self) -> bool {
        self.start < self.end && self.progress
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
        let mut b = SocketBuffers::new(72 * 1024, 16 * 1024);
        assert!(!b.holds_input());
        assert_eq!(b.output().len(), 16 * 1024);
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
        let mut b = SocketBuffers::new(40 * 1024, 1024);
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

    #[test]
    fn the_scratch_space_is_had_even_past_the_limit() {
        let mut b = SocketBuffers::new(4 * 1024, 1024);
        append(&mut b, &[b'a'; 4000]);
        let (tmp, out) = b.tmp_and_output();
        assert!(tmp.len() >= MIN_TMP);
        assert_eq!(out.len(), 1024);
        assert_eq!(b.input().len(), 4000);
    }

    #[test]
    fn can_use_input_needs_progress() {
        let mut b = SocketBuffers::new(1024, 1024);
        append(&mut b, b"abc");
        assert!(!b.can_use_input());
        b.input_consume(1);
        assert!(b.can_use_input());
        b.input_consume(0);
        assert!(!b.can_use_input());
    }
}
