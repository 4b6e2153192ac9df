//! `Timings`: where the time of a response's exchange went, step by step (what curl's `-w`
//! shows as `time_namelookup`, `time_connect`, `time_appconnect`, `time_starttransfer`, but
//! each step's own length).

use std::time::Duration;

/// Where the time of the final request of a fetch went (the request whose answer is the
/// response, after any redirects). Each step is its own length, and `None` when the step did
/// not happen: no lookup for an address host, no connection made for a kept one, no TLS for
/// plain `http`, no proxy handshake without a proxy (or with a plain `http://` proxy that
/// gets requests in absolute-form); all `None` for a response from the cache.
///
/// ```
/// # fn show(response: &octopus::Response) {
/// let t = response.timings();
/// if let (Some(dns), Some(ttfb)) = (t.dns, t.ttfb) {
///     println!("lookup {dns:?}, first byte {ttfb:?} after the request was sent");
/// }
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// Looking the host's name up (`/etc/hosts`, the cache or a DNS server).
    pub dns: Option<Duration>,
    /// Making the TCP connection (every address tried, Happy Eyeballs included).
    pub connect: Option<Duration>,
    /// The proxy's handshake: TLS with an `https://` proxy, the tunnel's `CONNECT`, or
    /// the SOCKS exchange (`connect` is then the connection to the proxy).
    pub proxy: Option<Duration>,
    /// The TLS handshake.
    pub tls: Option<Duration>,
    /// From the request sent (for a new TLS connection: from its handshake's end, when the
    /// request goes out) to the first byte of the response head: the server's time and one
    /// round trip ("waiting", in a browser's network panel).
    pub ttfb: Option<Duration>,
}
