//! The redirect chain of one fetch, hop by hop: `Client::start` sends the first request and
//! `Client::resume` goes on once its answer is there, following redirects to the final
//! response and reading its body. Every hop, direct or through a proxy, returns once it is
//! sent (`Started::Waiting`; for a new TLS connection, once its ClientHello is), so that
//! its answer (and the rest of the handshake) is waited for on no thread
//! (`run/waiting.rs`), a redirect's next hop as much as the first; a hop whose connection
//! is on its way (a lookup, a connect, a proxy's handshake) returns while it is
//! (`Stage::Underway`), and is sent once it is made. Only a hop whose kept connection was
//! found closed is sent again and its answer waited for here.
//!
//! Invariants: a fetch ends exactly once, as `Started::Done`; the whole chain is bounded
//! by the deadline set at its first hop; at most `max_redirects` redirects are followed;
//! credentials never cross origins (stripped when a redirect leaves one, for the rest of
//! the chain); every hop is archived with its answer (`receive.rs`).

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use url::Url;

use crate::failure::Failure;
use crate::http::client::classify::{cannot_reach, classify, is_stale};
use crate::http::client::dispatch::{Answered, Begun, Toward, send};
use crate::http::client::follow::Followed;
use crate::http::client::hops::{Chain, merged};
use crate::http::client::pending::{OnTheWire, Pending, Stage, Started};
use crate::http::client::redirect::Hop;
use crate::http::client::{Client, sendable};
use crate::http::connect::pool::{going_out_on, noting_connections, peer};
use crate::http::h1::head::Outgoing;
use crate::input::Shape;

/// What became of a hop sent.
enum Answer {
    /// Sent directly: its answer is to be waited for.
    Waiting(Pending),
    /// Answered here (sent at the time given).
    Came(Chain, SystemTime, Answered),
    /// Failed (`true`: the proxy could not be reached).
    Failed(Chain, Failure, bool),
    /// Not taken by the server (HTTP/2): to be sent again.
    Again(Chain),
}

impl Client {
    /// Start fetching `url`, as the settings say where `shape` does not say otherwise: a
    /// hop to an `http` or `https` URL sent directly returns once it is sent (or while its
    /// host is looked up), to wait without holding a thread (`Started::Waiting`); the
    /// others are made here.
    pub fn start(&self, url: &Url, shape: Option<&Shape>) -> Started {
        let now = Instant::now();
        let cfg = &self.cfg;
        let timeout = shape.and_then(|s| s.timeout).unwrap_or(cfg.timeout);
        let chain = Chain {
            hop: Hop {
                url: url.clone(),
                method: shape
                    .and_then(|s| s.method.clone())
                    .unwrap_or_else(|| cfg.method.clone()),
                keep_body: true,
            },
            started: now,
            // Timeouts are bounded when settings are validated and requests shaped; the
            // fallback only guards that.
            deadline: now.checked_add(timeout).unwrap_or(now),
            requested: None,
            headers: shape
                .filter(|s| !s.headers.is_empty())
                .map(|s| merged(&cfg.headers, &s.headers)),
            body: shape
                .and_then(|s| s.body.clone())
                .or_else(|| cfg.body.clone()),
            redirects: 0,
            max_redirects: shape
                .and_then(|s| s.max_redirects)
                .unwrap_or(cfg.max_redirects),
            archived: None,
            proxy: None,
            switches: 0,
            resent: 0,
        };
        self.drive(chain, Toward::Start)
    }

    /// Go on with a fetch whose hop was sent, once its answer is there (or its deadline
    /// passed): the redirect chain followed as `start` does.
    pub fn resume(&self, pending: Pending) -> Started {
        let Pending { mut chain, stage } = pending;
        let OnTheWire {
            at,
            mut sending,
            connected,
            peer,
        } = match stage {
            Stage::Underway(underway, opening) => {
                return self.drive(chain, Toward::Dialing(underway, opening));
            }
            Stage::Awaiting(_) => return self.drive(chain, Toward::Awaited),
            Stage::Sent(sent) => sent,
        };
        // Woken by the handshake or a session ticket only: wait again.
        if !sending.ready(chain.deadline) && Instant::now() < sending.deadline(chain.deadline) {
            let sent = OnTheWire {
                at,
                sending,
                connected,
                peer,
            };
            return Started::Waiting(Pending {
                chain,
                stage: Stage::Sent(sent),
            });
        }
        // This thread now carries the request: where it went, for the archive (`pool.rs`).
        let (read, _) = noting_connections(|| {
            going_out_on(peer, connected);
            sending.response(chain.deadline)
        });
        let response = match read {
            Ok(response) => response,
            Err(e) if chain.resends(&e) => {
                self.make_room(&e);
                return self.drive(chain, Toward::Start);
            }
            Err(e) if !connected && is_stale(&e) && chain.hop.method.is_idempotent() => {
                match self.send_here(&chain) {
                    Ok(response) => response,
                    Err(failure) => return self.failed(chain, failure, false),
                }
            }
            Err(e) => {
                let failure = classify(&e, chain.proxy_shown().as_deref());
                return self.failed(chain, failure, false);
            }
        };
        let chosen = chain.proxy.clone();
        match self.follow(chain, at, response) {
            Followed::Done(result) => Started::Done(self.finished(chosen.as_ref(), result)),
            Followed::Next(next) => self.drive(next, Toward::Start),
        }
    }

    /// After a hop's failure: the hop again through another proxy of the pool when the
    /// proxy failed (`unreachable`: it could not be reached at all), else the fetch's end.
    fn failed(&self, chain: Chain, failure: Failure, unreachable: bool) -> Started {
        match self.another_proxy(chain, failure, unreachable) {
            Ok(again) => self.drive(again, Toward::Start),
            Err(failure) => Started::Done(Err(failure)),
        }
    }

    /// Send `chain`'s hops until one waits elsewhere (for its answer or its host's lookup)
    /// or the fetch ends; `toward`: where an earlier call left the first hop.
    fn drive(&self, mut chain: Chain, toward: Toward) -> Started {
        let mut toward = Some(toward);
        loop {
            let first = toward.take().unwrap_or(Toward::Start);
            let (came, at, response) = match self.go(chain, first) {
                Answer::Waiting(pending) => return Started::Waiting(pending),
                Answer::Again(again) => {
                    chain = again;
                    continue;
                }
                Answer::Came(came, at, response) => (came, at, response),
                Answer::Failed(failed, failure, unreachable) => {
                    match self.another_proxy(failed, failure, unreachable) {
                        Ok(again) => {
                            chain = again;
                            continue;
                        }
                        Err(failure) => return Started::Done(Err(failure)),
                    }
                }
            };
            let chosen = came.proxy.clone();
            chain = match self.follow(came, at, response) {
                Followed::Done(result) => {
                    return Started::Done(self.finished(chosen.as_ref(), result));
                }
                Followed::Next(next) => next,
            };
        }
    }

    /// Send `chain`'s hop: it returns once sent (or while its connection is on its way);
    /// when the kept connection it went out on had been closed, it is sent again and
    /// answered here.
    fn go(&self, mut chain: Chain, toward: Toward) -> Answer {
        let later_hop = chain.redirects > 0;
        let at = SystemTime::now();
        // A connection on its way (or waited for) keeps the proxy it was begun with.
        if matches!(toward, Toward::Start) {
            chain.proxy = match self.choose_proxy(&chain.hop.url, chain.deadline) {
                Ok(chosen) => chosen,
                Err(failure) => return Answer::Failed(chain, failure, false),
            };
        }
        let proxy = chain.proxy.as_ref().map(|chosen| Arc::clone(&chosen.proxy));
        let route = match self.route(&chain.hop.url, proxy.as_ref()) {
            Ok(route) => route,
            Err(failure) => return Answer::Failed(chain, failure, false),
        };
        // The first hop's URL was checked when it was read.
        if later_hop && let Err(failure) = sendable(&chain.hop.url, later_hop) {
            return Answer::Failed(chain, failure, false);
        }
        let request = Outgoing {
            method: &chain.hop.method,
            url: &chain.hop.url,
            headers: self.request_headers(chain.headers(&self.cfg.headers)),
            body: chain.body(),
        };
        let h2 = self.h2(&route);
        let (sent, connected) =
            noting_connections(|| send(&route, h2, request, chain.deadline, toward));
        match sent {
            Ok(Begun::Sent(sending)) => {
                let sent = OnTheWire {
                    at,
                    sending,
                    connected,
                    peer: peer(),
                };
                let stage = Stage::Sent(sent);
                return Answer::Waiting(Pending { chain, stage });
            }
            Ok(Begun::Underway(underway, opening)) => {
                let stage = Stage::Underway(underway, opening);
                return Answer::Waiting(Pending { chain, stage });
            }
            Ok(Begun::Awaiting(bell)) => {
                let stage = Stage::Awaiting(bell);
                return Answer::Waiting(Pending { chain, stage });
            }
            Err(e) if chain.resends(&e) => {
                self.make_room(&e);
                return Answer::Again(chain);
            }
            // The blocking path tries the host's other kept connections, then a new one.
            Err(e) if !connected && is_stale(&e) && chain.hop.method.is_idempotent() => {}
            Err(e) => {
                let unreachable = proxy.is_some() && cannot_reach(&e);
                let failure = classify(&e, chain.proxy_shown().as_deref());
                return Answer::Failed(chain, failure, unreachable);
            }
        }
        match self.send_here(&chain) {
            Ok(response) => Answer::Came(chain, at, response),
            Err(failure) => Answer::Failed(chain, failure, false),
        }
    }

    /// Send `chain`'s hop (through its proxy) and wait for its answer on this thread.
    fn send_here(&self, chain: &Chain) -> Result<Answered, Failure> {
        let headers = chain.headers(&self.cfg.headers);
        let later_hop = chain.redirects > 0;
        let body = chain.body();
        let proxy = chain.proxy.as_ref().map(|chosen| &chosen.proxy);
        self.send(&chain.hop, headers, body, later_hop, chain.deadline, proxy)
    }
}
