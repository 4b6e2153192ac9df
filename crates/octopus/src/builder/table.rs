//! The builder's settings, one entry each: documentation, kind, setter, type, default, and
//! when it can be refused, its `Setting` name and its own check (`declare.rs` says what
//! the macro makes of an entry). A new setting is one entry here; `validate.rs` turns it
//! into what the engine runs with.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use super::checks::{
    a_second_or_more, at_least_one, bounded, concurrency, not_empty, positive, prefix_limits, rate,
    statuses,
};
use crate::capture::{Hash, Layout};
use crate::defaults;
use crate::http::{HttpVersion, ProxyPick};
use crate::input::ShardBy;

settings! {
    /// Requests in flight at once (1 to [`MAX_CONCURRENCY`](crate::MAX_CONCURRENCY); default
    /// [`defaults::CONCURRENCY`]). Every request, direct or through a proxy (and a
    /// redirect's next hop), waits for its lookup, connect, handshakes and answer on no
    /// thread; a few worker threads do the work, and another starts whenever one blocks (a
    /// slow handler, Redis), up to this many. `build` raises the open-file limit to fit, or
    /// fails.
    set concurrency: usize = defaults::CONCURRENCY => Concurrency "concurrency", check concurrency;

    /// Deadline for each whole request: connect, headers, redirects and the full body
    /// (default [`defaults::TIMEOUT`]).
    set timeout: Duration = defaults::TIMEOUT => Timeout "timeout", check positive;

    /// Deadline for establishing each connection (TCP and TLS; default
    /// [`defaults::CONNECT_TIMEOUT`]).
    set connect_timeout: Duration = defaults::CONNECT_TIMEOUT =>
        ConnectTimeout "connect-timeout", check positive;

    /// Follow at most `n` redirects (default [`defaults::MAX_REDIRECTS`]); 0 does not follow
    /// them (the 3xx is the response).
    set max_redirects: u32 = defaults::MAX_REDIRECTS => MaxRedirects "max-redirects";

    /// The HTTP method (upper-cased); default GET, or POST when a body is set.
    text method: String => Method "method";

    /// An extra request header (`header(name, value)`, repeatable).
    field header: Vec<(String, String)> => Header "header";

    /// A request body, sent with every request.
    into body: Vec<u8> => Body "data";

    /// The `User-Agent` header (default `octopus/VERSION`).
    text user_agent: String => UserAgent "user-agent";

    /// Accept any TLS certificate (default: verify them).
    set accept_invalid_certs: bool => Insecure "insecure";

    /// Trust only the certificate authorities in `pem` (PEM, one or more certificates), like
    /// curl's `--cacert`. Without it, the operating system's trusted roots are used
    /// (`SSL_CERT_FILE` and `SSL_CERT_DIR` override them), or, on a system that has none,
    /// the roots bundled with octopus (Mozilla's).
    into root_certs_pem: Vec<u8> => CaCert "cacert";

    /// A client certificate (`client_cert_pem(certs, key)`).
    field client_cert_pem: Option<(Vec<u8>, Vec<u8>)> => ClientCert "cert";

    /// A proxy for every request, as curl's `--proxy` reads it: `http://`, `https://`,
    /// `socks4://`, `socks4a://`, `socks5://` or `socks5h://` (the proxy resolves names),
    /// credentials as `user:password@` (percent-encoded), the port 1080 when not given (443
    /// for `https://`); a bare `host:port` is an `http://` proxy. An empty string sends
    /// every request directly, whatever the environment says.
    text proxy: String => Proxy "proxy";

    /// The proxy for `http://` URLs only, in place of [`Builder::proxy`]'s for them (as
    /// `http_proxy` or requests' `proxies={"http": …}` give it); an empty string sends them
    /// directly.
    text http_proxy: String => HttpProxy "http-proxy";

    /// The proxy for `https://` URLs only, in place of [`Builder::proxy`]'s for them; an
    /// empty string sends them directly.
    text https_proxy: String => HttpsProxy "https-proxy";

    /// Proxies every request is spread over, as [`Builder::proxy`] reads each
    /// (`proxies(list)`): a proxy that cannot be reached, or fails three times in a row, is
    /// set aside for a while (1 s, doubling up to 60 s each time again) and its requests go
    /// to another without counting as the target's failure; when every proxy is set aside,
    /// requests wait for the first back, up to their deadline. In place of
    /// [`Builder::proxy`]; [`Octopus::proxy_uses`](crate::Octopus::proxy_uses) counts each
    /// proxy's requests and failures.
    field proxies: Vec<String> => Proxies "proxies";

    /// How the next proxy of [`Builder::proxies`] is picked (default round-robin).
    set proxy_pick: ProxyPick = ProxyPick::RoundRobin => ProxyPick "proxy-pick";

    /// Whether, without [`Builder::proxy`], the proxy environment variables are honoured
    /// as curl reads them (default true): `http_proxy` (lowercase only: `HTTP_PROXY` can
    /// be set by a web request in a CGI program), `https_proxy`/`HTTPS_PROXY`,
    /// `all_proxy`/`ALL_PROXY`, and `no_proxy`/`NO_PROXY` (with any proxy).
    set proxy_from_env: bool = true => ProxyFromEnv "proxy-from-env";

    /// Hosts requests go to directly, as curl's `--noproxy` (in place of `NO_PROXY`):
    /// comma-separated names (each covers its subdomains), addresses and CIDR ranges, or
    /// `*` for every host.
    text no_proxy: String => NoProxy "noproxy";

    /// Trust only the certificate authorities in `pem` for `https://` proxies (curl's
    /// `--proxy-cacert`); without it, those trusted for the origins.
    into proxy_root_certs_pem: Vec<u8> => ProxyCaCert "proxy-cacert";

    /// Accept any certificate from an `https://` proxy (curl's `--proxy-insecure`).
    set proxy_accept_invalid_certs: bool => ProxyInsecure "proxy-insecure";

    /// Tunnel plain `http` through an `http://` proxy with `CONNECT` too (curl's
    /// `--proxytunnel`), for proxies that only tunnel; by default such a request goes to
    /// the proxy in absolute-form, as proxies expect it.
    set proxy_tunnel: bool => ProxyTunnel "proxy-tunnel";

    /// Which HTTP versions requests speak (default [`HttpVersion::Auto`]: HTTP/2 where the
    /// server chooses it in the TLS handshake, HTTP/1.1 otherwise, as curl). Requests to one
    /// origin over HTTP/2 share its connections, each carrying up to the server's limit of
    /// streams at once.
    set http_version: HttpVersion = HttpVersion::Auto => HttpVersion "http-version";

    /// Let a host name with no HTTP/2 connection of its own send its requests on one made
    /// for another name, when it is connected to one of the addresses the name resolves to
    /// and the certificate verified on it is valid for the name too (default: yes, as
    /// browsers do; RFC 9113 §9.1.1). A server that does not serve a name so answers `421`,
    /// and the request is sent again on a connection of its own. `false` gives every name
    /// its own connections (for servers that route by the TLS name alone and answer
    /// another name's requests without a `421`). Never under `accept_invalid_certs`,
    /// through a proxy, or in clear.
    set coalesce_hosts: bool = true => CoalesceHosts "coalesce-hosts";

    /// Addresses for names (`resolve(host, port, addr)`, repeatable).
    field resolve: Vec<(String, u16, IpAddr)> => Resolve "resolve";

    /// Name servers asked instead of `/etc/resolv.conf`'s (`dns_server(addr)`, repeatable).
    field dns_server: Vec<SocketAddr> => DnsServer "dns-server";

    /// At most this many names looked up at once (default [`defaults::DNS_CONCURRENCY`]):
    /// lookups past it wait their turn, so that a burst of new names does not overwhelm a
    /// name server that drops what it cannot take. While queries are lost, fewer are asked
    /// at once (halved at a loss, growing back with the answers).
    set dns_concurrency: usize = defaults::DNS_CONCURRENCY
        => DnsConcurrency "dns-concurrency", check at_least_one;

    /// The largest body read per URL (default [`defaults::MAX_BODY`]); a larger one is a
    /// `body_too_large` failure.
    set max_body: u64 = defaults::MAX_BODY => MaxBody "max-body";

    /// Keep bodies in responses (default true); without them only their size is counted.
    set keep_bodies: bool = true => KeepBodies "keep-bodies";

    /// Keep headers in responses (default true; the `Content-Type` is kept either way).
    set keep_headers: bool = true => KeepHeaders "keep-headers";

    /// Digests of each body to compute, as it streams through ([`crate::Response::hash`]).
    list hashes: Hash => Hashes "hash";

    /// Read the `<title>` of HTML responses ([`crate::Response::title`]), with an HTML
    /// tokenizer over at most the first 8 MiB of the body.
    set titles: bool => Titles "title";

    /// Read the links of HTML responses ([`crate::Response::links`]) with the same
    /// tokenizer, resolved and normalised.
    set links: bool => Links "links";

    /// Save each body whose status is OK ([`Builder::ok_status`]) under `dir` (created if
    /// needed), in the [`Builder::save_layout`]: written whole or not at all, never
    /// outside `dir`. [`crate::Response::saved`] says where.
    into save_to: PathBuf => OutputDir "output-dir";

    /// How saved bodies are laid out (default [`defaults::LAYOUT`]).
    set save_layout: Layout = defaults::LAYOUT => Layout "layout";

    /// Save every HTTP response's body, whatever its status (default: OK ones only).
    set save_all: bool => SaveAll "save-all";

    /// Do not fetch a URL whose file is already saved (mirror layout): its response says
    /// it was skipped ([`crate::Response::skipped`]).
    set skip_existing: bool => SkipExisting "skip-existing";

    /// Archive every HTTP exchange, redirect hops included, as WARC/1.1 `request` and
    /// `response` records in the file at `path`: each record its own gzip member, or
    /// uncompressed when the name ends in `.warc`. Bodies are archived as the server sent
    /// them (still content-encoded). An existing file is appended to.
    /// [`crate::Response::warc`] says where each response went.
    ///
    /// ```
    /// # let server = octopus_testserver::Server::start().expect("a loopback server");
    /// # let dir = std::env::temp_dir().join(format!("octopus-doc-warc-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).expect("a scratch directory");
    /// let otto = octopus::Octopus::builder()
    ///     .warc(dir.join("crawl.warc.gz"))
    ///     .build()?;
    /// for response in otto.fetch_all([server.url("/a"), server.url("/b")])? {
    ///     if let Some(at) = response.warc() {
    ///         println!("{} is at {}:{}", response.url(), at.file().display(), at.offset());
    ///     }
    /// #   assert!(response.warc().is_some());
    /// }
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), octopus::Error>(())
    /// ```
    into warc: PathBuf => Warc "warc";

    /// Write numbered WARC files (`crawl-00000.warc.gz`, `crawl-00001.warc.gz`, …), starting
    /// a new one before a file would grow past `bytes`.
    some warc_max_size: u64 => WarcMaxSize "warc-max-size";

    /// Shard `index` of `count` (`shard(index, count)`).
    field shard: Option<(u64, u64)> => Shard "shard";

    /// What decides a request's shard (default [`defaults::SHARD_BY`]: every URL of a host in
    /// one shard).
    set shard_by: ShardBy = defaults::SHARD_BY => ShardBy "shard-by";

    /// Share `per_host`, `limit`, `rate` and `delay` with every process that names the same
    /// Redis (`redis://host:port/db`) and [`Builder::redis_prefix`]: together they never
    /// exceed them. Slots are leases taken atomically (one Lua script), released when a
    /// request ends, renewed while it runs, and expired after [`Builder::redis_lease`] if
    /// their process died. `build` fails when Redis does not answer.
    text redis: String => Redis "redis";

    /// The namespace of the shared limits' keys (`redis_prefix(prefix)`).
    field redis_prefix: String = defaults::REDIS_PREFIX.to_string() =>
        RedisPrefix "redis-prefix", check not_empty;

    /// How long a slot stays taken after its process died (at least 1 s; default
    /// [`defaults::REDIS_LEASE`]; renewed every third of it while the request runs).
    set redis_lease: Duration = defaults::REDIS_LEASE =>
        RedisLease "redis-lease", check a_second_or_more;

    /// How long Redis may stay unreachable during a run (limited requests wait meanwhile)
    /// before the run is stopped (default [`defaults::REDIS_OUTAGE`];
    /// [`crate::Stats::limiter_lost`]).
    set redis_outage: Duration = defaults::REDIS_OUTAGE => RedisOutage "redis-outage", check bounded;

    /// Statuses that count as success ([`crate::Response::ok`]), e.g. `[200..=299, 304..=304]`
    /// (default [`defaults::OK_STATUS`]).
    list ok_status: RangeInclusive<u16> = defaults::OK_STATUS.to_vec() =>
        OkStatus "ok-status", check statuses;

    /// Turn the cache on: a repeat of a URL inside `ttl` is served from memory, and repeats
    /// of a URL being fetched wait for that fetch (GET and HEAD only). Zero turns it off
    /// (default: off; [`defaults::CACHE_TTL`] is the command line's).
    some cache_ttl: Duration => CacheTtl "cache-ttl", check bounded;

    /// The most responses the cache keeps (default [`defaults::CACHE_SIZE`]).
    set cache_size: usize = defaults::CACHE_SIZE => CacheSize "cache-size";

    /// At most `n` requests in flight to one host (scheme, host and port).
    some per_host: usize => PerHost "per-host", check at_least_one;

    /// At most `n` requests in flight to URLs starting with `prefix` (`limit(prefix, n)`).
    field limit: Vec<(String, usize)> => Limit "limit", check prefix_limits;

    /// At most `per_second` request starts per second, overall (fractions allowed).
    some rate: f64 => Rate "rate", check rate;

    /// At least `gap` between two requests to the same host, counted from when the last
    /// went out (after its connection was made).
    some delay: Duration => Delay "delay", check bounded;

    /// How many waiting URLs are looked at for one that may start now (default
    /// [`defaults::LOOKAHEAD`]).
    set lookahead: usize = defaults::LOOKAHEAD => Lookahead "lookahead", check at_least_one;

    /// Retry transport failures, timeouts and [`Builder::retry_on`] statuses up to `n` times
    /// (default [`defaults::RETRIES`]).
    set retries: u32 = defaults::RETRIES => Retries "retries";

    /// Statuses that are retried (default [`defaults::RETRY_ON`]).
    list retry_on: RangeInclusive<u16> = defaults::RETRY_ON.to_vec() =>
        RetryOn "retry-on", check statuses;

    /// Base of the exponential backoff between retries (doubling, with jitter; default
    /// [`defaults::RETRY_DELAY`]).
    set retry_delay: Duration = defaults::RETRY_DELAY => RetryDelay "retry-delay", check bounded;

    /// The longest wait before a retry, a server's `Retry-After` included (default
    /// [`defaults::MAX_RETRY_WAIT`]).
    set max_retry_wait: Duration = defaults::MAX_RETRY_WAIT =>
        MaxRetryWait "max-retry-wait", check bounded;
}
