//! The chain's part in proxies: which proxy a hop goes through (`choose_proxy`: a pool's
//! turn, waiting for one to be back when every proxy is set aside), a hop moved to another
//! proxy of the pool when its proxy failed (`another_proxy`), and each result told to the
//! pool and marked with the proxy it went through (`finished`).
//!
//! Invariants: a hop moves to another proxy only for the proxy's own failure (kind
//! `proxy`), at most once per proxy of the pool, and only before its deadline; such a move
//! is not an attempt (the target never saw the request); the wait for a proxy to be back
//! ends by the request's deadline.

use std::sync::Arc;
use std::time::Instant;

use url::Url;

use crate::failure::{ErrorKind, Failure};
use crate::fetched::Fetched;
use crate::http::client::Client;
use crate::http::client::hops::Chain;
use crate::http::route::proxy::{Chosen, ProxyUse};

impl Client {
    /// The proxy a hop to `url` goes through, if any. When every proxy of the pool is set
    /// aside, this worker waits for the first to be back (told to the engine as a blocking
    /// wait), if that is before `deadline`.
    pub(crate) fn choose_proxy(
        &self,
        url: &Url,
        deadline: Instant,
    ) -> Result<Option<Chosen>, Failure> {
        loop {
            let back = match self.cfg.proxies.choose(url) {
                Ok(chosen) => return Ok(chosen),
                Err(back) => back,
            };
            if back >= deadline {
                return Err(Failure::new(
                    ErrorKind::Proxy,
                    "every proxy of the pool is set aside until after the deadline (timeout)",
                ));
            }
            let wait = back.saturating_duration_since(Instant::now());
            crate::blocking::during(|| std::thread::sleep(wait));
        }
    }

    /// After `failure` of `chain`'s hop: the chain, to send the hop again through another
    /// proxy, when the failure was its pool proxy's (`unreachable`: it could not be reached
    /// at all) and another may be tried; else the failure, marked with the proxy.
    pub(crate) fn another_proxy(
        &self,
        mut chain: Chain,
        failure: Failure,
        unreachable: bool,
    ) -> Result<Chain, Failure> {
        let Some(chosen) = chain.proxy.take() else {
            return Err(failure);
        };
        let failure = failure.through(Some(Arc::from(chosen.proxy.to_string())));
        let (Some(slot), Some(pool)) = (chosen.slot, self.cfg.proxies.pool.as_ref()) else {
            return Err(failure);
        };
        if failure.kind() != ErrorKind::Proxy {
            return Err(failure);
        }
        pool.failed(slot, unreachable);
        if chain.switches + 1 >= pool.len() || Instant::now() >= chain.deadline {
            return Err(failure);
        }
        chain.switches += 1;
        Ok(chain)
    }

    /// The fetch's result, told to the pool (an answer clears its proxy's failures; a
    /// proxy's failure counts against it) and marked with the proxy it went through.
    pub(crate) fn finished(
        &self,
        chosen: Option<&Chosen>,
        result: Result<Fetched, Failure>,
    ) -> Result<Fetched, Failure> {
        let Some(chosen) = chosen else {
            return result;
        };
        let shown: Arc<str> = Arc::from(chosen.proxy.to_string());
        if let (Some(slot), Some(pool)) = (chosen.slot, self.cfg.proxies.pool.as_ref()) {
            match &result {
                Ok(_) => pool.answered(slot),
                Err(failure) if failure.kind() == ErrorKind::Proxy => {
                    pool.failed(slot, false);
                }
                Err(_) => {}
            }
        }
        match result {
            Ok(mut fetched) => {
                fetched.proxy = Some(shown);
                Ok(fetched)
            }
            Err(failure) => Err(failure.through(Some(shown))),
        }
    }

    /// How each proxy of the pool was used (none without a pool).
    pub(crate) fn proxy_uses(&self) -> Vec<ProxyUse> {
        self.cfg
            .proxies
            .pool
            .as_ref()
            .map(|pool| pool.uses())
            .unwrap_or_default()
    }
}
