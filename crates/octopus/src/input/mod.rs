//! Where URLs come from and how a line becomes a URL: [`Request`] (one URL to fetch and its
//! origin), [`Lines`] (URL lists streamed from files, stdin or any reader, with the command
//! line's rules), [`parse_target`] (a line read as curl and wget would read it), and
//! [`Shard`] (which lines one of N processes takes).

mod lines;
mod request;
mod shard;
mod target;

pub use lines::{InputError, Line, LineError, Lines, MAX_LINE, Source, count_lines};
pub use request::Request;
pub(crate) use request::{Origin, Queued, Shape};
pub use shard::{Shard, ShardBy};
pub(crate) use target::{mask_userinfo, push_host};
pub use target::{parse_target, redact};
