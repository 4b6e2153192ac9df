//! What making connections is counted as: how long a new connection's steps took
//! (`Made`, for the records' timings) and the connections made and requests sent over a
//! client's life (`Counts`, for the summary).

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::http::connect::socket::Socket;
use crate::timings::Timings;

/// Connections made and requests sent on them, over a client's life.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub opened: AtomicU64,
    pub sent: AtomicU64,
}

/// How long a new connection's steps took: the lookups (`None` when nothing was looked
/// up), the TCP connect, the proxy's handshake.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Made {
    pub dns: Option<Duration>,
    pub connect: Duration,
    pub proxy: Option<Duration>,
}

impl Made {
    /// Where the time of a request on the connection `socket` went before it was sent:
    /// the connection's steps for a new one (`made`), nothing for a kept one.
    pub fn timings(made: Option<Made>, socket: &Socket) -> Timings {
        let mut timings = Timings::default();
        if let Some(made) = made {
            timings.dns = made.dns;
            timings.connect = Some(made.connect);
            timings.proxy = made.proxy;
            timings.tls = socket.handshake_time();
        }
        timings
    }
}
