//! The ureq agents (for requests through a proxy; octopus's own exchange reads its buffer
//! sizes from their configuration) and the connector chain under each, as ureq's default
//! one but for the plain TCP connection (octopus's own, `socket.rs`) and the pool of idle
//! connections in front of it (`pool.rs`): SOCKS proxy, else CONNECT proxy, else a TCP
//! connection; then TLS for `https`.

use std::sync::Arc;

use ureq::Agent;
use ureq::tls::TlsConfig;
use ureq::unversioned::transport::{
    ConnectProxyConnector, Connector, RustlsConnector, SocksConnector,
};

use super::classify::MAX_HEAD;
use super::pool::{Budget, Pool};
use super::resolver::OctopusResolver;
use super::settings::ClientSettings;
use super::socket::Tcp;

/// Per-connection read buffer. ureq's default is 128 KiB in and 128 KiB out per
/// connection, which at a thousand connections is a quarter of a gigabyte. It is larger
/// than `MAX_HEAD`, so that a head over the limit is seen as such, not as a stalled read.
const INPUT_BUFFER: usize = MAX_HEAD + 8 * 1024;
const OUTPUT_BUFFER: usize = 16 * 1024;

/// One agent per pool shard, configured from `cfg` and `tls`.
pub(super) fn agents(
    cfg: &ClientSettings,
    tls: TlsConfig,
    resolver: &OctopusResolver,
) -> Vec<Agent> {
    let config = Agent::config_builder()
        .http_status_as_error(false)
        // Redirects are followed in `chain.rs` (see redirect.rs).
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(cfg.user_agent.as_str())
        .timeout_global(Some(cfg.timeout))
        .timeout_connect(Some(cfg.connect_timeout.min(cfg.timeout)))
        // Idle connections are kept by each agent's connector (see pool.rs), not by ureq.
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .input_buffer_size(INPUT_BUFFER)
        .output_buffer_size(OUTPUT_BUFFER)
        .max_response_header_size(MAX_HEAD)
        .allow_non_standard_methods(true)
        .tls_config(tls)
        .proxy(cfg.proxy.clone())
        .build();
    let budget = Budget::new(cfg.idle_most);
    (0..cfg.pool_shards.max(1))
        .map(|_| {
            let budget = Arc::clone(&budget);
            let connector = connector(cfg.idle_per_shard, budget, resolver.clone());
            Agent::with_parts(config.clone(), connector, resolver.clone())
        })
        .collect()
}

/// The connector for one agent: its own pool of idle connections (a host always uses the
/// same agent), keeping up to `max_idle` (and as many per host) within `budget`; new
/// connections look their host up with `resolver`.
fn connector(
    max_idle: usize,
    budget: Arc<Budget>,
    resolver: OctopusResolver,
) -> Pool<impl Connector<()>> {
    let chain =
        ().chain(SocksConnector::default())
            .chain(ConnectProxyConnector::default())
            .chain(Tcp { resolver })
            .chain(RustlsConnector::default());
    Pool::new(chain, max_idle, max_idle, budget)
}
