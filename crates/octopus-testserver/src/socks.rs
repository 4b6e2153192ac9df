//! `SocksProxy`: a SOCKS server on 127.0.0.1 for the tests of octopus's SOCKS support,
//! written to the protocols: SOCKS4 and 4a (the client's user id, a name for the proxy to
//! resolve), SOCKS5 (RFC 1928) with no authentication or, when credentials are set, only
//! user name/password (RFC 1929), addresses and names. After the handshake it copies bytes
//! both ways between the client and the target.
//!
//! It connects only to loopback addresses (127.0.0.0/8, ::1), and resolves only the names
//! it was given (`name`) and address literals: a test never sends traffic elsewhere. A target it cannot reach is
//! answered with SOCKS5's "connection refused" (5) or SOCKS4's "rejected" (91).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::accept::Accepting;

/// A SOCKS proxy on a loopback port, stopped when dropped.
pub struct SocksProxy {
    accepting: Accepting,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    /// The user name and password SOCKS5 clients must give, if any.
    credentials: Option<(String, String)>,
    /// Names it resolves, and their addresses.
    names: Mutex<HashMap<String, IpAddr>>,
    /// What each handshake asked for: `socks5 a.test:80`, `socks4 127.0.0.1:80 user=me`.
    asked: Mutex<Vec<String>>,
}

impl SocksProxy {
    /// A proxy that asks for no credentials.
    pub fn start() -> io::Result<SocksProxy> {
        SocksProxy::with(None)
    }

    /// A proxy whose SOCKS5 clients must give `user` and `password` (RFC 1929).
    pub fn with_credentials(user: &str, password: &str) -> io::Result<SocksProxy> {
        SocksProxy::with(Some((user.to_string(), password.to_string())))
    }

    fn with(credentials: Option<(String, String)>) -> io::Result<SocksProxy> {
        let state = Arc::new(State {
            credentials,
            ..State::default()
        });
        let serving = Arc::clone(&state);
        let accepting = Accepting::start("octopus-test-socks", move |client| {
            let _ = serve(client, &serving);
        })?;
        Ok(SocksProxy { accepting, state })
    }

    /// Resolve `name` to `ip` (a loopback address) for clients that send names.
    pub fn name(&self, name: &str, ip: IpAddr) -> &Self {
        if let Ok(mut names) = self.state.names.lock() {
            names.insert(name.to_ascii_lowercase(), ip);
        }
        self
    }

    /// `scheme://[userinfo@]127.0.0.1:PORT`.
    pub fn url(&self, scheme: &str, userinfo: Option<&str>) -> String {
        match userinfo {
            Some(userinfo) => format!("{scheme}://{userinfo}@{}", self.accepting.addr()),
            None => format!("{scheme}://{}", self.accepting.addr()),
        }
    }

    /// What each handshake asked for, in order: `socks5 a.test:80`, `socks4a a.test:80
    /// user=me`, `socks4 127.0.0.1:80 user=`.
    pub fn asked(&self) -> Vec<String> {
        self.state
            .asked
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }

    /// Connections clients opened to the proxy.
    pub fn connections(&self) -> u64 {
        self.accepting.connections()
    }
}

/// Where a client asked to go.
enum Asked {
    Addr(SocketAddr),
    Name(String, u16),
}

impl State {
    fn note(&self, what: String) {
        if let Ok(mut asked) = self.asked.lock() {
            asked.push(what);
        }
    }

    /// The loopback address `asked` names, if it names one this proxy reaches.
    fn reach(&self, asked: &Asked) -> Option<SocketAddr> {
        let addr = match asked {
            Asked::Addr(addr) => *addr,
            Asked::Name(name, port) => match name.parse::<IpAddr>() {
                Ok(ip) => SocketAddr::new(ip, *port),
                Err(_) => {
                    let names = self.names.lock().ok()?;
                    SocketAddr::new(*names.get(&name.to_ascii_lowercase())?, *port)
                }
            },
        };
        addr.ip().is_loopback().then_some(addr)
    }
}

fn serve(mut client: TcpStream, state: &State) -> io::Result<()> {
    let mut version = [0u8; 1];
    client.read_exact(&mut version)?;
    match version[0] {
        4 => serve_four(client, state),
        5 => serve_five(client, state),
        _ => Ok(()),
    }
}

fn read_c_string(client: &mut TcpStream) -> io::Result<String> {
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        client.read_exact(&mut byte)?;
        if byte[0] == 0 || out.len() > 1024 {
            return Ok(String::from_utf8_lossy(&out).into_owned());
        }
        out.push(byte[0]);
    }
}

/// SOCKS4 and 4a: `CD port ip user 00 [name 00]`, answered `00 5A|5B port ip`.
fn serve_four(mut client: TcpStream, state: &State) -> io::Result<()> {
    let mut head = [0u8; 7];
    client.read_exact(&mut head)?;
    let port = u16::from_be_bytes([head[1], head[2]]);
    let ip = Ipv4Addr::new(head[3], head[4], head[5], head[6]);
    let user = read_c_string(&mut client)?;
    let (scheme, asked) = match ip.octets() {
        [0, 0, 0, x] if x != 0 => ("socks4a", Asked::Name(read_c_string(&mut client)?, port)),
        _ => ("socks4", Asked::Addr(SocketAddr::new(IpAddr::V4(ip), port))),
    };
    state.note(format!("{scheme} {} user={user}", shown(&asked)));
    let upstream = state.reach(&asked).and_then(|a| TcpStream::connect(a).ok());
    let Some(upstream) = upstream.filter(|_| head[0] == 1) else {
        return client.write_all(&[0, 0x5B, 0, 0, 0, 0, 0, 0]);
    };
    client.write_all(&[0, 0x5A, 0, 0, 0, 0, 0, 0])?;
    relay(client, upstream)
}

/// SOCKS5: methods, RFC 1929 when credentials are set, then the connect request.
fn serve_five(mut client: TcpStream, state: &State) -> io::Result<()> {
    let mut count = [0u8; 1];
    client.read_exact(&mut count)?;
    let mut methods = vec![0u8; usize::from(count[0])];
    client.read_exact(&mut methods)?;
    let wanted = match state.credentials {
        Some(_) => 2,
        None => 0,
    };
    if !methods.contains(&wanted) {
        return client.write_all(&[5, 0xFF]);
    }
    client.write_all(&[5, wanted])?;
    if let Some((user, password)) = &state.credentials {
        let mut version = [0u8; 2];
        client.read_exact(&mut version)?;
        let mut given_user = vec![0u8; usize::from(version[1])];
        client.read_exact(&mut given_user)?;
        let mut length = [0u8; 1];
        client.read_exact(&mut length)?;
        let mut given_password = vec![0u8; usize::from(length[0])];
        client.read_exact(&mut given_password)?;
        if given_user != user.as_bytes() || given_password != password.as_bytes() {
            return client.write_all(&[1, 1]);
        }
        client.write_all(&[1, 0])?;
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request)?;
    let host = match request[3] {
        1 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip)?;
            Ok(IpAddr::V4(Ipv4Addr::from(ip)))
        }
        4 => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip)?;
            Ok(IpAddr::V6(Ipv6Addr::from(ip)))
        }
        3 => {
            let mut length = [0u8; 1];
            client.read_exact(&mut length)?;
            let mut name = vec![0u8; usize::from(length[0])];
            client.read_exact(&mut name)?;
            Err(String::from_utf8_lossy(&name).into_owned())
        }
        _ => return client.write_all(&[5, 8, 0, 1, 0, 0, 0, 0, 0, 0]),
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port)?;
    let port = u16::from_be_bytes(port);
    let asked = match host {
        Ok(ip) => Asked::Addr(SocketAddr::new(ip, port)),
        Err(name) => Asked::Name(name, port),
    };
    state.note(format!("socks5 {}", shown(&asked)));
    if request[1] != 1 {
        return client.write_all(&[5, 7, 0, 1, 0, 0, 0, 0, 0, 0]);
    }
    let upstream = state.reach(&asked).and_then(|a| TcpStream::connect(a).ok());
    let Some(upstream) = upstream else {
        return client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
    };
    // Bound to 127.0.0.1:0, as far as the client needs to know.
    client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0])?;
    relay(client, upstream)
}

fn shown(asked: &Asked) -> String {
    match asked {
        Asked::Addr(addr) => addr.to_string(),
        Asked::Name(name, port) => format!("{name}:{port}"),
    }
}

/// Copy both ways until either side closes.
fn relay(client: TcpStream, upstream: TcpStream) -> io::Result<()> {
    let (mut up_read, mut client_write) = (upstream.try_clone()?, client.try_clone()?);
    let back = thread::spawn(move || {
        let _ = io::copy(&mut up_read, &mut client_write);
        let _ = client_write.shutdown(std::net::Shutdown::Write);
    });
    let (mut client_read, mut up_write) = (client, upstream);
    let _ = io::copy(&mut client_read, &mut up_write);
    let _ = up_write.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
    Ok(())
}
