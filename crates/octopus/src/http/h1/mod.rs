//! The HTTP/1.1 exchange: a request written and its response head read (`exchange.rs`,
//! the heads in `head.rs`), its body framed by `Content-Length`, chunks or the end of the
//! connection (`body_reader.rs`), which puts the connection back when it ends cleanly.
//!
//! Invariants: the request head is the one archived; a connection goes back to its pool
//! only after a body read to its end that leaves nothing unread.

pub(crate) mod body_reader;
pub(crate) mod exchange;
pub(crate) mod head;
