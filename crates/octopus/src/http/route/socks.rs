//! The SOCKS handshake, client side, as a machine fed with what the proxy sends: SOCKS4
//! and 4a (the proxy resolves the name), SOCKS5 (RFC 1928) with no authentication or a
//! user name and password (RFC 1929), the name resolved by octopus (`socks5://`) or by the
//! proxy (`socks5h://`), as curl speaks them.
//!
//! Invariants: every reply is read to its exact length, nothing of the target's bytes is
//! taken; a refusal is said in words with the proxy's code; the proxy being unable to
//! reach the target is a `connect` failure, as it is without a proxy.

use std::io;
use std::net::{IpAddr, SocketAddr};

use crate::http::route::proxy::{ProxyError, Target};

/// What the handshake does next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// Send these bytes, then read the reply.
    Send(Vec<u8>),
    /// The connection is the target's from here on.
    Open,
}

/// A SOCKS handshake under way.
#[derive(Debug)]
pub(crate) struct Socks {
    version: Version,
    target: Target,
    credentials: Option<(String, String)>,
    stage: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    Four,
    Five,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// SOCKS5: the methods offered; SOCKS4: the request sent.
    Greeted,
    /// SOCKS5: user name and password sent.
    Authenticating,
    /// SOCKS5: the connect request sent.
    Requested,
}

impl Socks {
    /// A handshake to `target` (SOCKS5 when `five`), and the bytes that open it.
    pub fn begin(
        five: bool,
        target: Target,
        credentials: Option<(String, String)>,
    ) -> io::Result<(Socks, Vec<u8>)> {
        let version = match five {
            true => Version::Five,
            false => Version::Four,
        };
        let socks = Socks {
            version,
            target,
            credentials,
            stage: Stage::Greeted,
        };
        let opening = match version {
            // No authentication, and user name/password when there are credentials.
            Version::Five if socks.credentials.is_some() => vec![5, 2, 0, 2],
            Version::Five => vec![5, 1, 0],
            Version::Four => socks.four_request()?,
        };
        Ok((socks, opening))
    }

    /// Take the proxy's reply at the start of `input`: `None` until it is all there, else
    /// how many bytes it was and what comes next.
    pub fn reply(&mut self, input: &[u8]) -> io::Result<Option<(usize, Next)>> {
        match (self.version, self.stage) {
            (Version::Four, _) => four_reply(input),
            (Version::Five, Stage::Greeted) => self.method_reply(input),
            (Version::Five, Stage::Authenticating) => self.auth_reply(input),
            (Version::Five, Stage::Requested) => five_reply(input),
        }
    }

    /// SOCKS4's request: `04 01 port ip user 00`, and for a name (4a) `0.0.0.1` as the
    /// address and the name after the user.
    fn four_request(&self) -> io::Result<Vec<u8>> {
        let user = self.credentials.as_ref().map(|(user, _)| user.as_str());
        let mut out = vec![4, 1];
        match &self.target {
            Target::Addr(SocketAddr::V4(addr)) => {
                out.extend_from_slice(&addr.port().to_be_bytes());
                out.extend_from_slice(&addr.ip().octets());
                push_c_string(&mut out, user.unwrap_or_default());
            }
            Target::Addr(SocketAddr::V6(_)) => {
                return Err(ProxyError::refused(
                    "SOCKS4 cannot connect to an IPv6 address (use socks5:// or socks4a://)",
                ));
            }
            Target::Name(name, port) => {
                out.extend_from_slice(&port.to_be_bytes());
                out.extend_from_slice(&[0, 0, 0, 1]);
                push_c_string(&mut out, user.unwrap_or_default());
                push_c_string(&mut out, name);
            }
        }
        Ok(out)
    }

    /// SOCKS5's choice of method: go on with the request, or authenticate first.
    fn method_reply(&mut self, input: &[u8]) -> io::Result<Option<(usize, Next)>> {
        let [version, method, ..] = *input else {
            return Ok(None);
        };
        if version != 5 {
            return Err(not_socks(5));
        }
        match (method, &self.credentials) {
            (0, _) => {
                self.stage = Stage::Requested;
                Ok(Some((2, Next::Send(self.five_request()?))))
            }
            (2, Some((user, password))) => {
                let (user, password) = (user.as_bytes(), password.as_bytes());
                if user.len() > 255 || password.len() > 255 {
                    return Err(ProxyError::refused(
                        "SOCKS5 user names and passwords are at most 255 bytes",
                    ));
                }
                let mut out = vec![1, user.len() as u8];
                out.extend_from_slice(user);
                out.push(password.len() as u8);
                out.extend_from_slice(password);
                self.stage = Stage::Authenticating;
                Ok(Some((2, Next::Send(out))))
            }
            (2, None) => Err(ProxyError::refused(
                "the SOCKS5 proxy wants a user name and password (give them in the proxy \
                 URL: socks5://user:password@host:port)",
            )),
            (_, Some(_)) => Err(ProxyError::refused(
                "the SOCKS5 proxy accepts none of the authentication methods offered",
            )),
            (_, None) => Err(ProxyError::refused(
                "the SOCKS5 proxy accepts none of the authentication methods offered (it may \
                 want a user name and password: socks5://user:password@host:port)",
            )),
        }
    }

    /// RFC 1929's answer to the user name and password.
    fn auth_reply(&mut self, input: &[u8]) -> io::Result<Option<(usize, Next)>> {
        let [_, status, ..] = *input else {
            return Ok(None);
        };
        if status != 0 {
            return Err(ProxyError::refused(
                "the SOCKS5 proxy refused the user name and password",
            ));
        }
        self.stage = Stage::Requested;
        Ok(Some((2, Next::Send(self.five_request()?))))
    }

    /// SOCKS5's connect request: `05 01 00`, the address (IPv4, IPv6 or a name), the port.
    fn five_request(&self) -> io::Result<Vec<u8>> {
        let mut out = vec![5, 1, 0];
        let port = match &self.target {
            Target::Addr(addr) => {
                match addr.ip() {
                    IpAddr::V4(ip) => {
                        out.push(1);
                        out.extend_from_slice(&ip.octets());
                    }
                    IpAddr::V6(ip) => {
                        out.push(4);
                        out.extend_from_slice(&ip.octets());
                    }
                }
                addr.port()
            }
            Target::Name(name, port) => {
                let Ok(length) = u8::try_from(name.len()) else {
                    return Err(ProxyError::refused("the host name is too long for SOCKS5"));
                };
                out.push(3);
                out.push(length);
                out.extend_from_slice(name.as_bytes());
                *port
            }
        };
        out.extend_from_slice(&port.to_be_bytes());
        Ok(out)
    }
}

/// SOCKS4's reply: 8 bytes, `5A` granted.
fn four_reply(input: &[u8]) -> io::Result<Option<(usize, Next)>> {
    let Some(reply) = input.get(..8) else {
        return Ok(None);
    };
    if reply[0] != 0 {
        return Err(not_socks(4));
    }
    match reply[1] {
        0x5A => Ok(Some((8, Next::Open))),
        0x5B => Err(ProxyError::unreachable(
            "the SOCKS4 proxy could not connect to the target (request rejected or failed, \
             code 91)",
        )),
        code => Err(ProxyError::refused(format!(
            "the SOCKS4 proxy refused the request (code {code}: it could not check the user \
             with identd)"
        ))),
    }
}

/// SOCKS5's reply to the connect request: `05 REP 00 ATYP address port`.
fn five_reply(input: &[u8]) -> io::Result<Option<(usize, Next)>> {
    let [version, code, _, kind, ..] = *input else {
        return Ok(None);
    };
    if version != 5 {
        return Err(not_socks(5));
    }
    if code != 0 {
        return Err(five_refusal(code));
    }
    let address = match kind {
        1 => 4,
        4 => 16,
        3 => match input.get(4) {
            Some(&length) => 1 + usize::from(length),
            None => return Ok(None),
        },
        other => {
            return Err(ProxyError::failed(format!(
                "the SOCKS5 proxy answered with an unknown address type ({other})"
            )));
        }
    };
    let length = 4 + address + 2;
    Ok((input.len() >= length).then_some((length, Next::Open)))
}

/// SOCKS5's reply codes (RFC 1928, 6) in words: the target unreachable is a `connect`
/// failure, the rest the proxy's.
fn five_refusal(code: u8) -> io::Error {
    let said = |what: &str| format!("the SOCKS5 proxy {what} (reply {code})");
    match code {
        2 => ProxyError::refused(said("does not allow the connection by its rules")),
        3 => ProxyError::unreachable(said("could not connect: network unreachable")),
        4 => ProxyError::unreachable(said("could not connect: host unreachable")),
        5 => ProxyError::unreachable(said("could not connect: connection refused")),
        6 => ProxyError::unreachable(said("could not connect: TTL expired")),
        7 => ProxyError::refused(said("does not support CONNECT")),
        8 => ProxyError::refused(said("does not support the address type")),
        _ => ProxyError::failed(said("failed")),
    }
}

fn not_socks(version: u8) -> io::Error {
    ProxyError::failed(format!("the proxy does not speak SOCKS{version}"))
}

fn push_c_string(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
    out.push(0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::ErrorKind;

    fn said(e: &io::Error) -> &ProxyError {
        e.get_ref().and_then(|e| e.downcast_ref()).unwrap()
    }

    #[test]
    fn socks5_with_credentials_goes_through_every_step() {
        let target = Target::Name("a.test".into(), 443);
        let creds = Some(("u".to_string(), "pw".to_string()));
        let (mut socks, opening) = Socks::begin(true, target, creds).unwrap();
        assert_eq!(opening, [5, 2, 0, 2]);
        assert_eq!(socks.reply(&[5]).unwrap(), None);
        let auth = socks.reply(&[5, 2]).unwrap().unwrap();
        assert_eq!(auth, (2, Next::Send(vec![1, 1, b'u', 2, b'p', b'w'])));
        let (_, Next::Send(request)) = socks.reply(&[1, 0]).unwrap().unwrap() else {
            panic!("a request")
        };
        assert_eq!(request, b"\x05\x01\x00\x03\x06a.test\x01\xbb");
        let reply = [5, 0, 0, 1, 127, 0, 0, 1, 0, 80, 0x16];
        assert_eq!(socks.reply(&reply[..9]).unwrap(), None);
        assert_eq!(socks.reply(&reply).unwrap(), Some((10, Next::Open)));
    }

    #[test]
    fn socks5_refusals_are_said() {
        let target = Target::Addr("127.0.0.1:80".parse().unwrap());
        let (mut socks, opening) = Socks::begin(true, target.clone(), None).unwrap();
        assert_eq!(opening, [5, 1, 0]);
        let e = socks.reply(&[5, 2]).unwrap_err();
        assert!(said(&e).message.contains("wants a user name"));
        let (mut socks, _) = Socks::begin(true, target.clone(), None).unwrap();
        let (_, Next::Send(request)) = socks.reply(&[5, 0]).unwrap().unwrap() else {
            panic!("a request")
        };
        assert_eq!(request, [5, 1, 0, 1, 127, 0, 0, 1, 0, 80]);
        let e = socks.reply(&[5, 5, 0, 1]).unwrap_err();
        assert_eq!(said(&e).kind, ErrorKind::Connect);
        let creds = Some(("u".to_string(), "x".to_string()));
        let (mut socks, _) = Socks::begin(true, target, creds).unwrap();
        socks.reply(&[5, 2]).unwrap();
        let e = socks.reply(&[1, 1]).unwrap_err();
        assert_eq!(said(&e).kind, ErrorKind::Proxy);
        assert!(!said(&e).retried);
    }

    #[test]
    fn socks4_and_4a_requests() {
        let target = Target::Addr("127.0.0.1:8080".parse().unwrap());
        let creds = Some(("me".to_string(), String::new()));
        let (mut socks, opening) = Socks::begin(false, target, creds).unwrap();
        assert_eq!(opening, [4, 1, 0x1f, 0x90, 127, 0, 0, 1, b'm', b'e', 0]);
        assert_eq!(socks.reply(&[0, 0x5A, 0, 0]).unwrap(), None);
        assert_eq!(
            socks.reply(&[0, 0x5A, 0, 0, 0, 0, 0, 0]).unwrap(),
            Some((8, Next::Open))
        );
        let (_, opening) = Socks::begin(false, Target::Name("a.test".into(), 80), None).unwrap();
        assert_eq!(opening, b"\x04\x01\x00\x50\x00\x00\x00\x01\x00a.test\x00");
        let v6 = Target::Addr("[::1]:80".parse().unwrap());
        assert!(Socks::begin(false, v6, None).is_err());
    }
}
