//! What `Client::start` and `Client::resume` give back (`Started`), and a fetch whose hop
//! waits on no thread (`Pending`): for its connection on its way (a lookup, a connect, a
//! proxy's handshake), or for its answer, with what to wait for and until when.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use crate::failure::Failure;
use crate::fetched::Fetched;
use crate::http::client::hops::Chain;
use std::sync::Arc;

use crate::http::bell::Bell;
use crate::http::client::dispatch::Sending;
use crate::http::h2::pool::Opening;
use crate::http::route::dial::Underway;
use crate::http::wire::Watch;

/// What `Client::start` or `Client::resume` did with a fetch. Returned by value and taken
/// apart at once: the `Pending` moves straight into the engine's one box per waiting
/// request.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Started {
    /// Fetched (or failed) to the end.
    Done(Result<Fetched, Failure>),
    /// A hop is sent; its answer is to be waited for, then `Client::resume`d.
    Waiting(Pending),
}

/// A fetch whose current hop waits on no thread: for its host's lookup, or for its
/// answer.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) chain: Chain,
    pub(crate) stage: Stage,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Stage {
    /// The hop's connection is on its way (its host looked up, or connected to): the hop
    /// is sent once it is made (others to its origin may wait for it: `Opening`).
    Underway(Underway, Option<Opening>),
    /// A connection being made to the hop's origin may carry it too (HTTP/2): the hop is
    /// sent once the bell rings.
    Awaiting(Arc<Bell>),
    /// The hop is sent.
    Sent(OnTheWire),
}

/// A hop sent, waiting for its answer.
#[derive(Debug)]
pub(crate) struct OnTheWire {
    /// When the hop's request was sent (for the archive).
    pub(crate) at: SystemTime,
    pub(crate) sending: Sending,
    /// The request went out on a new connection (a failure then is not a stale one).
    pub(crate) connected: bool,
    /// Where it went (for the archive).
    pub(crate) peer: Option<SocketAddr>,
}

impl Pending {
    /// What to wait for (see `Sending::watch`, `Underway::watch`).
    pub fn watch(&mut self) -> Watch {
        match &mut self.stage {
            Stage::Underway(underway, _) => underway.watch(),
            Stage::Awaiting(bell) => bell.watch(),
            Stage::Sent(sent) => sent.sending.watch(),
        }
    }

    /// When the hop's request went out, once it has: not while its connection is on its
    /// way, nor while a new TLS connection's handshake is not done.
    pub fn went_out(&self) -> Option<Instant> {
        match &self.stage {
            Stage::Sent(sent) => sent.sending.went_out(),
            Stage::Underway(..) | Stage::Awaiting(_) => None,
        }
    }

    /// When the wait must end: when the whole fetch must, or earlier while a TLS
    /// handshake is not done (the connect timeout bounds it) or a lookup's try is not.
    pub fn deadline(&self) -> Instant {
        match &self.stage {
            Stage::Underway(underway, _) => underway.deadline(self.chain.deadline),
            Stage::Awaiting(_) => self.chain.deadline,
            Stage::Sent(sent) => sent.sending.deadline(self.chain.deadline),
        }
    }
}
