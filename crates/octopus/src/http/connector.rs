//! The connector chain under each agent, as ureq's default one but for the plain TCP
//! connection (octopus's own, `socket.rs`) and the pool of idle connections in front of it
//! (`pool.rs`): SOCKS proxy, else CONNECT proxy, else a TCP connection; then TLS for
//! `https`.

use ureq::unversioned::transport::{
    ConnectProxyConnector, Connector, RustlsConnector, SocksConnector,
};

use super::pool::Pool;
use super::resolver::OctopusResolver;
use super::socket::Tcp;

/// The connector for one agent: its own pool of idle connections (a host always uses the
/// same agent), keeping up to `max_idle`, `max_per_host` per host; new connections look
/// their host up with `resolver`.
pub(crate) fn connector(
    max_idle: usize,
    max_per_host: usize,
    resolver: OctopusResolver,
) -> Pool<impl Connector<()>> {
    let chain =
        ().chain(SocksConnector::default())
            .chain(ConnectProxyConnector::default())
            .chain(Tcp { resolver })
            .chain(RustlsConnector::default());
    Pool::new(chain, max_idle, max_per_host)
}
