//! What the answer to a hop leads to (`Client::follow`): the final response, read to its
//! end, or the next hop of a redirect (credentials stripped when it leaves the origin, the
//! body when the method changes).

use std::time::SystemTime;

use crate::failure::{ErrorKind, Failure};
use crate::fetched::Fetched;
use crate::http::client::Client;
use crate::http::client::dispatch::Answered;
use crate::http::client::hops::Chain;
use crate::http::client::receive::Sent;
use crate::http::client::redirect::{
    Hop, is_redirect, location_text, next_hop, same_origin, strip_body_headers, strip_credentials,
};
use crate::http::route::proxy::wants_credentials;

/// What an answer leads to.
pub(super) enum Followed {
    Done(Result<Fetched, Failure>),
    /// A redirect: the next hop to send.
    Next(Chain),
}

impl Client {
    /// What the answer to `chain`'s hop (sent at `at`) leads to: the final response, read to
    /// the end, or the next hop of a redirect.
    pub(super) fn follow(&self, mut chain: Chain, at: SystemTime, answered: Answered) -> Followed {
        let Answered { response, timings } = answered;
        let archived = chain.archived.take();
        let sent = Sent {
            hop: &chain.hop,
            headers: chain.headers(&self.cfg.headers),
            body: chain.body(),
            later_hop: chain.redirects > 0,
            at,
            timings,
        };
        let status = response.status().as_u16();
        // The proxy, not the target, answered: it wants credentials (never retried).
        if status == 407
            && let Some(proxy) = chain.proxy_shown()
        {
            return Followed::Done(Err(wants_credentials(&proxy)));
        }
        // An empty `Location` leads nowhere: the 3xx is the result, as with curl.
        let location = is_redirect(status)
            .then(|| response.headers().get(http::header::LOCATION))
            .flatten()
            .map(|value| location_text(value.as_bytes()))
            .filter(|location| !location.is_empty());
        let Some(location) = location.filter(|_| chain.max_redirects > 0) else {
            let url = chain.requested.as_ref().unwrap_or(&chain.hop.url);
            let read = self.read(response, &sent, chain.redirects, url, archived);
            return Followed::Done(read.map(|mut fetched| {
                fetched.took = chain.started.elapsed();
                fetched
            }));
        };
        if chain.redirects == chain.max_redirects {
            let msg = format!(
                "more than {} redirects (max-redirects)",
                chain.max_redirects
            );
            return Followed::Done(Err(Failure::new(ErrorKind::TooManyRedirects, msg)));
        }
        let next = match next_hop(&chain.hop.url, &chain.hop.method, status, &location) {
            Ok(next) => next,
            Err(failure) => return Followed::Done(Err(failure)),
        };
        let failed = self.pass_redirect(response, &sent);
        chain.archived = archived.or(failed);
        let crosses = !same_origin(&chain.hop.url, &next.url);
        if crosses || !next.keep_body {
            let headers = chain
                .headers
                .get_or_insert_with(|| self.cfg.headers.clone());
            if crosses {
                strip_credentials(headers);
            }
            if !next.keep_body {
                strip_body_headers(headers);
            }
        }
        let next = Hop {
            keep_body: chain.hop.keep_body && next.keep_body,
            ..next
        };
        let left = std::mem::replace(&mut chain.hop, next);
        chain.requested.get_or_insert(left.url);
        chain.redirects += 1;
        Followed::Next(chain)
    }
}
