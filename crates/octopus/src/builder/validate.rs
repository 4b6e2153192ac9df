//! `Builder::build`'s checks: the table's own checks first (`checks.rs`: durations at most
//! 365 days, rates at least one a year, so no deadline can overflow), then what turns a
//! setting into what the engine runs with (a method, headers, a proxy, certificates, the
//! output directory, the WARC file), each with a typed error naming the setting.

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};

use super::error::Error;
use super::{Builder, Setting};
use crate::capture::{Capture, Layout, Saver};
use crate::defaults::MAX_DURATION;
use crate::http::{
    ClientSettings, NoProxy, Proxy, ProxyPool, ProxyRules, ResolveRule, client_cert, given_roots,
    pool_shards,
};
use crate::input::Shard;
use crate::input::mask_userinfo;
use crate::policy::{Policy, PrefixLimit, RetryPolicy};
use crate::settings::{CacheSettings, Settings};
use crate::shared::SharedSettings;
use crate::status::StatusSet;
use crate::warc::Warc;

/// Idle connections kept for reuse per request in flight, at most (curl's connection cache
/// keeps four per transfer): enough that a list cycling over more hosts than the
/// concurrency still finds its connections, few enough that a run over thousands of
/// hosts does not keep one open to each.
const IDLE_PER_SLOT: usize = 2;

/// What a reader of the archive should know about how records were written.
const WARC_NOTE: &str = "Response records hold the payload as the server sent it (content \
    encodings such as gzip kept); a chunked transfer coding is removed, its Transfer-Encoding \
    header dropped and Content-Length set to the payload's length. Header names are lower case. \
    Request records show the headers octopus set, after Host; credentials in URLs are not \
    archived. A body cut by the body limit is marked WARC-Truncated.";

impl Builder {
    /// The settings, validated.
    pub(super) fn settings(&self) -> Result<Settings, Error> {
        self.refused()
            .map_err(|(setting, refused)| Error::setting(setting, refused.value, refused.reason))?;
        let concurrency = self.concurrency;
        let method = self.checked_method()?;
        let cache = match self.cache_ttl {
            Some(ttl) if !ttl.is_zero() && self.cache_size > 0 => Some(CacheSettings {
                ttl,
                capacity: self.cache_size,
            }),
            _ => None,
        };
        let ok_status = status_set(&self.ok_status);
        let safe = method == Method::GET || method == Method::HEAD;
        let mut client = self.client(method, concurrency)?;
        client.capture = self.capture(&ok_status)?;
        client.warc = self.archive(&client)?;
        Ok(Settings {
            concurrency,
            // Only safe methods are answered from the cache or merged with each other.
            cache: cache.filter(|_| safe),
            client,
            ok_status,
            policy: self.policy(),
            shard: self.checked_shard()?,
            shared: self.shared()?,
        })
    }

    /// What to keep of bodies; the output directory made ready.
    fn capture(&self, ok_status: &StatusSet) -> Result<Capture, Error> {
        if self.skip_existing && (self.save_to.is_none() || self.save_layout != Layout::Mirror) {
            let reason = "needs an output directory in the mirror layout";
            return Err(Error::setting(Setting::SkipExisting, "true", reason));
        }
        let save = match &self.save_to {
            None => None,
            Some(dir) => {
                let shown = dir.display();
                std::fs::create_dir_all(dir).map_err(|e| {
                    let reason = match dir.exists() && !dir.is_dir() {
                        true => {
                            "is a file, not a directory: name a directory to save into".to_string()
                        }
                        false => format!("cannot create the directory: {e}"),
                    };
                    Error::setting(Setting::OutputDir, &shown, reason)
                })?;
                Some(Arc::new(Saver::new(
                    dir.clone(),
                    self.save_layout,
                    self.save_all,
                    self.skip_existing,
                    ok_status.clone(),
                )))
            }
        };
        let mut hashes = self.hashes.clone();
        hashes.sort();
        hashes.dedup();
        Ok(Capture {
            body: self.keep_bodies,
            hashes,
            title: self.titles,
            links: self.links,
            save,
        })
    }

    /// The WARC file opened, its `warcinfo` saying how the run fetches.
    fn archive(&self, client: &ClientSettings) -> Result<Option<Arc<Warc>>, Error> {
        let Some(path) = &self.warc else {
            return match self.warc_max_size {
                Some(size) => Err(Error::setting(
                    Setting::WarcMaxSize,
                    size,
                    "needs a WARC file",
                )),
                None => Ok(None),
            };
        };
        let mut settings = format!(
            "concurrency={} method={} timeout={:?} max-redirects={} max-body={}",
            self.concurrency, client.method, client.timeout, client.max_redirects, client.max_body
        );
        if let Some(n) = self.per_host {
            settings.push_str(&format!(" per-host={n}"));
        }
        if let Some(rate) = self.rate {
            settings.push_str(&format!(" rate={rate}"));
        }
        if let Some(delay) = self.delay {
            settings.push_str(&format!(" delay={delay:?}"));
        }
        let info = [
            ("software", format!("octopus/{}", env!("CARGO_PKG_VERSION"))),
            ("format", "WARC File Format 1.1".to_string()),
            (
                "conformsTo",
                "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"
                    .to_string(),
            ),
            ("http-header-user-agent", client.user_agent.clone()),
            ("robots", "ignore".to_string()),
            ("octopus-settings", settings),
            ("description", WARC_NOTE.to_string()),
        ];
        let info = info.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        Warc::create(path, self.warc_max_size, info)
            .map(|warc| Some(Arc::new(warc)))
            .map_err(|e| Error::setting(Setting::Warc, path.display(), e.to_string()))
    }

    fn shared(&self) -> Result<Option<SharedSettings>, Error> {
        let Some(url) = &self.redis else {
            return Ok(None);
        };
        let shown = crate::input::mask_userinfo(url);
        if !(url.starts_with("redis://") || url.starts_with("unix://")) {
            return Err(Error::setting(
                Setting::Redis,
                &shown,
                "expected redis://host:port/db (or unix:///path/to/socket)",
            ));
        }
        Ok(Some(SharedSettings {
            url: url.clone(),
            prefix: self.redis_prefix.clone(),
            lease: self.redis_lease,
            outage: self.redis_outage,
        }))
    }

    fn checked_shard(&self) -> Result<Option<Shard>, Error> {
        let Some((index, count)) = self.shard else {
            return Ok(None);
        };
        match Shard::new(index, count, self.shard_by) {
            Some(shard) => Ok(Some(shard)),
            None => Err(Error::setting(
                Setting::Shard,
                format!("{index}/{count}"),
                "the shard must be from 1 to the count",
            )),
        }
    }

    fn checked_method(&self) -> Result<Method, Error> {
        match &self.method {
            Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| Error::setting(Setting::Method, m, "not an HTTP method")),
            None if self.body.is_some() => Ok(Method::POST),
            None => Ok(Method::GET),
        }
    }

    fn client(&self, method: Method, concurrency: usize) -> Result<ClientSettings, Error> {
        let headers = self
            .header
            .iter()
            .map(|(n, v)| checked_header(n, v))
            .collect::<Result<Vec<_>, _>>()?;
        let user_agent = match &self.user_agent {
            Some(ua) => {
                HeaderValue::from_str(ua).map_err(|_| {
                    Error::setting(Setting::UserAgent, ua, "contains control characters")
                })?;
                ua.clone()
            }
            None => format!("octopus/{}", env!("CARGO_PKG_VERSION")),
        };
        let proxies = self.proxy_rules()?;
        let resolve = self
            .resolve
            .iter()
            .map(|(host, port, addr)| match host.is_empty() {
                true => Err(Error::setting(Setting::Resolve, host, "the host is empty")),
                false => Ok(ResolveRule {
                    host: host.to_ascii_lowercase(),
                    port: *port,
                    addr: *addr,
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let pem = |setting| move |reason| Error::setting(setting, "(PEM)", reason);
        let roots = self.root_certs_pem.as_deref().map(given_roots);
        let roots = roots.transpose().map_err(pem(Setting::CaCert))?;
        let proxy_roots = self.proxy_root_certs_pem.as_deref().map(given_roots);
        let proxy_roots = proxy_roots.transpose().map_err(pem(Setting::ProxyCaCert))?;
        let mine = self.client_cert_pem.as_ref();
        let mine = mine.map(|(certs, key)| client_cert(certs, key));
        let client_cert = mine.transpose().map_err(pem(Setting::ClientCert))?;
        Ok(ClientSettings {
            method,
            headers,
            body: self.body.as_deref().map(Arc::from),
            user_agent,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            max_redirects: self.max_redirects,
            max_body: self.max_body,
            capture: Capture::default(),
            keep_headers: self.keep_headers,
            warc: None,
            insecure: self.accept_invalid_certs,
            roots,
            client_cert,
            proxies,
            proxy_roots,
            proxy_insecure: self.proxy_accept_invalid_certs,
            proxy_tunnel: self.proxy_tunnel,
            http_version: self.http_version,
            coalesce_hosts: self.coalesce_hosts,
            resolve,
            dns_servers: self.dns_server.clone(),
            dns_concurrency: self.dns_concurrency,
            pool_shards: pool_shards(concurrency),
            idle_per_shard: concurrency,
            idle_most: concurrency.saturating_mul(IDLE_PER_SLOT),
        })
    }

    /// Which proxy each request goes through: the one given for every URL or for its
    /// scheme (none for an empty one), else the environment's when it is read; `NO_PROXY`
    /// (or `no_proxy` given) with either.
    fn proxy_rules(&self) -> Result<ProxyRules, Error> {
        let env = |name: &str| match self.proxy_from_env {
            true => std::env::var(name).ok(),
            false => None,
        };
        let given = self.no_proxy.as_deref().map(NoProxy::parse);
        if !self.proxies.is_empty() {
            return self.proxy_pool(given, env);
        }
        let given_any = [&self.proxy, &self.http_proxy, &self.https_proxy]
            .iter()
            .any(|p| p.is_some());
        if !given_any {
            return ProxyRules::from_env(env, given).map_err(|(name, value, why)| {
                let shown = format!("{name}={}", mask_userinfo(&value));
                Error::setting(Setting::Proxy, &shown, why)
            });
        }
        let read = |setting: Setting, text: Option<&String>| match text {
            Some(text) if text.trim().is_empty() => Ok(None),
            Some(text) => Proxy::parse(text)
                .map(|proxy| Some(Arc::new(proxy)))
                .map_err(|why| Error::setting(setting, mask_userinfo(text), why)),
            None => Ok(None),
        };
        let every = read(Setting::Proxy, self.proxy.as_ref())?;
        let scheme = |setting, text: &Option<String>| match text {
            Some(_) => read(setting, text.as_ref()),
            None => Ok(every.clone()),
        };
        let no_proxy = given.unwrap_or_else(|| {
            let listed = env("no_proxy").or_else(|| env("NO_PROXY"));
            NoProxy::parse(&listed.unwrap_or_default())
        });
        Ok(ProxyRules {
            pool: None,
            http: scheme(Setting::HttpProxy, &self.http_proxy)?,
            https: scheme(Setting::HttpsProxy, &self.https_proxy)?,
            no_proxy,
        })
    }

    /// The pool of `proxies`, with `no_proxy` (or the environment's `NO_PROXY`).
    fn proxy_pool(
        &self,
        given: Option<NoProxy>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<ProxyRules, Error> {
        if self.proxy.is_some() || self.http_proxy.is_some() || self.https_proxy.is_some() {
            let given = self.proxies.join(" ");
            return Err(Error::setting(
                Setting::Proxies,
                mask_userinfo(&given),
                "give a pool of proxies or one proxy, not both",
            ));
        }
        let proxies = self
            .proxies
            .iter()
            .map(|text| {
                Proxy::parse(text)
                    .map_err(|why| Error::setting(Setting::Proxies, mask_userinfo(text), why))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let no_proxy = given.unwrap_or_else(|| {
            let listed = env("no_proxy").or_else(|| env("NO_PROXY"));
            NoProxy::parse(&listed.unwrap_or_default())
        });
        Ok(ProxyRules {
            http: None,
            https: None,
            pool: Some(Arc::new(ProxyPool::new(proxies, self.proxy_pick))),
            no_proxy,
        })
    }

    fn policy(&self) -> Policy {
        let limits = self.limit.iter().map(|(prefix, max)| PrefixLimit {
            prefix: prefix.clone(),
            max: *max,
        });
        Policy {
            per_host: self.per_host,
            limits: limits.collect(),
            interval: self.rate.map(interval),
            delay: self.delay.filter(|d| !d.is_zero()),
            retry: RetryPolicy {
                retries: self.retries,
                on_status: status_set(&self.retry_on),
                base: self.retry_delay,
                max_wait: self.max_retry_wait,
            },
            lookahead: self.lookahead,
        }
    }
}

/// The gap between request starts at `per_second` (checked: above zero, at least one a
/// year).
fn interval(per_second: f64) -> Duration {
    Duration::try_from_secs_f64(1.0 / per_second).map_or(MAX_DURATION, |gap| gap.min(MAX_DURATION))
}

/// A header's name and value, checked.
pub(crate) fn checked_header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), Error> {
    let shown = || format!("{name}: {value}");
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| Error::setting(Setting::Header, shown(), "not a valid header name"))?;
    let value = HeaderValue::from_str(value.trim()).map_err(|_| {
        let reason = "the value contains characters not allowed in a header \
                      (CR, LF, NUL or other control characters)";
        Error::setting(Setting::Header, shown(), reason)
    })?;
    Ok((name, value))
}

/// Status ranges (checked) as a `StatusSet`.
fn status_set(ranges: &[RangeInclusive<u16>]) -> StatusSet {
    StatusSet::new(ranges.iter().map(|r| (*r.start(), *r.end())).collect())
}
