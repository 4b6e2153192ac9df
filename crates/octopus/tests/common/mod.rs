//! Shared helpers for the library's tests: the loopback test server, a builder that keeps
//! traffic on loopback, and fetching a few paths in order.
#![allow(dead_code)]

pub use octopus_testserver::Server;

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, date_time_ymd,
};

pub fn server() -> Server {
    Server::start().expect("test server starts on 127.0.0.1")
}

/// A library builder with no proxy from the environment (traffic stays on loopback).
pub fn builder() -> octopus::Builder {
    octopus::Octopus::builder().proxy_from_env(false)
}

/// Fetch `urls` with `otto`; the responses, in the order they completed.
pub fn fetch_urls(otto: &octopus::Octopus, urls: &[String]) -> Vec<octopus::Response> {
    let requests: Vec<octopus::Request> =
        urls.iter().cloned().map(octopus::Request::from).collect();
    otto.fetch_all(requests)
        .expect("fetch_all starts")
        .collect()
}

/// Fetch these paths of `s` with `otto` (one at a time, in this order, at concurrency 1);
/// the responses by path.
pub fn fetch_paths(
    otto: &octopus::Octopus,
    s: &Server,
    paths: &[&str],
) -> std::collections::HashMap<String, octopus::Response> {
    let requests: Vec<octopus::Request> = paths
        .iter()
        .map(|p| octopus::Request::from(s.url(p)))
        .collect();
    let mut by_url: std::collections::HashMap<String, octopus::Response> = otto
        .fetch_all(requests)
        .unwrap()
        .map(|r| (r.url().to_string(), r))
        .collect();
    paths
        .iter()
        .map(|p| (p.to_string(), by_url.remove(&s.url(p)).unwrap()))
        .collect()
}

/// A listener on `127.0.0.2:port` that accepts nothing: its queue is filled, so a new
/// connection to it hangs (no answer to its SYN), as to a black-holed IPv6 path. Held
/// with the connections that fill it.
pub struct BlackHole {
    _listener: socket2::Socket,
    _filling: Vec<socket2::Socket>,
}

pub fn black_hole(port: u16) -> std::io::Result<BlackHole> {
    use socket2::{Domain, Socket, Type};
    let addr: std::net::SocketAddr = format!("127.0.0.2:{port}").parse().unwrap();
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    listener.bind(&addr.into())?;
    listener.listen(0)?;
    let mut filling = Vec::new();
    for _ in 0..4 {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let _ = socket.connect(&addr.into());
        filling.push(socket);
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    Ok(BlackHole {
        _listener: listener,
        _filling: filling,
    })
}

/// A port on 127.0.0.2 that answers no SYN (`black_hole`), found free in a few tries.
pub fn unanswered_port() -> (u16, BlackHole) {
    (0..10)
        .find_map(|_| {
            let port = std::net::TcpListener::bind("127.0.0.2:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            black_hole(port).ok().map(|hole| (port, hole))
        })
        .expect("a free port on 127.0.0.2")
}

/// A private certificate authority.
pub struct Ca {
    pub issuer: CertifiedIssuer<'static, KeyPair>,
    pub pem: String,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let pem = ca.pem();
        Ca { issuer: ca, pem }
    }

    /// A server configuration with a certificate for `names` signed by this CA (expired
    /// when `expired`), offering `alpn` by ALPN.
    pub fn server(
        &self,
        names: &[&str],
        expired: bool,
        alpn: &[&[u8]],
    ) -> Arc<rustls::ServerConfig> {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        if expired {
            params.not_before = date_time_ymd(2000, 1, 1);
            params.not_after = date_time_ymd(2001, 1, 1);
        }
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        octopus_testserver::tls_config(vec![cert.der().clone()], key.serialize_der(), alpn)
    }

    pub fn builder(&self) -> octopus::Builder {
        builder().root_certs_pem(self.pem.as_bytes().to_vec())
    }
}
