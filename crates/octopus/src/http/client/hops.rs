//! A fetch's redirect chain so far (`Chain`): the hop being made, what was asked for, the
//! headers and body it sends, the redirects followed, the proxy it goes through. Driven by
//! `chain.rs`, moved on by `follow.rs`.

use std::sync::Arc;
use std::time::Instant;

use http::{HeaderName, HeaderValue};
use url::Url;

use crate::failure::Failure;
use crate::http::client::classify::short_of_descriptors;
use crate::http::client::redirect::Hop;
use crate::http::error::Error;
use crate::http::route::proxy::Chosen;

/// A fetch's redirect chain so far.
#[derive(Debug)]
pub(crate) struct Chain {
    /// The request being made.
    pub(super) hop: Hop,
    pub(super) started: Instant,
    /// When the whole fetch must end.
    pub(crate) deadline: Instant,
    /// The URL asked for, once a redirect has moved `hop` on.
    pub(super) requested: Option<Url>,
    /// The headers sent, when not the settings': the request's own among them, or once a
    /// redirect to another origin has stripped credentials.
    pub(super) headers: Option<Vec<(HeaderName, HeaderValue)>>,
    /// The body sent while the hop keeps it.
    pub(super) body: Option<Arc<[u8]>>,
    pub(super) redirects: u32,
    /// Redirects followed at most.
    pub(super) max_redirects: u32,
    /// A failure to archive a hop of the chain, told with its result.
    pub(super) archived: Option<Failure>,
    /// The proxy the current hop goes through, if any.
    pub(crate) proxy: Option<Chosen>,
    /// Times the hop moved to another proxy of the pool.
    pub(crate) switches: usize,
    /// Times a hop was sent again because the server did not take it (HTTP/2: refused,
    /// or above a GOAWAY's last stream); not retries.
    pub(super) resent: u32,
}

/// A hop the server did not take is sent again this many times at most.
const MAX_RESENT: u32 = 10;

impl Chain {
    /// Whether the hop, which `e` ended, is sent again: the server did not take it (HTTP/2),
    /// or no descriptor was left to make its connection with (idle ones are closed first,
    /// `Client::make_room`), and it was not sent again `MAX_RESENT` times yet (counted here).
    pub(super) fn resends(&mut self, e: &Error) -> bool {
        let again =
            (matches!(e, Error::Refused(_)) || short_of_descriptors(e)) && self.resent < MAX_RESENT;
        self.resent += u32::from(again);
        again
    }

    /// The proxy the hop goes through, as shown (no credentials).
    pub(crate) fn proxy_shown(&self) -> Option<String> {
        self.proxy.as_ref().map(|chosen| chosen.proxy.to_string())
    }

    /// The headers this hop sends, given the settings'.
    pub(super) fn headers<'a>(
        &'a self,
        settings: &'a [(HeaderName, HeaderValue)],
    ) -> &'a [(HeaderName, HeaderValue)] {
        self.headers.as_deref().unwrap_or(settings)
    }

    /// The body this hop sends.
    pub(super) fn body(&self) -> Option<&[u8]> {
        self.body.as_deref().filter(|_| self.hop.keep_body)
    }
}

/// The settings' headers with the request's own in place of those of the same names.
pub(super) fn merged(
    settings: &[(HeaderName, HeaderValue)],
    own: &[(HeaderName, HeaderValue)],
) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers: Vec<_> = settings
        .iter()
        .filter(|(name, _)| !own.iter().any(|(given, _)| given == name))
        .cloned()
        .collect();
    headers.extend(own.iter().cloned());
    headers
}
