//! Asking name servers for one name's addresses: an `A` and an `AAAA` query on one UDP
//! socket per server, each try waiting at most the configured timeout and never past the
//! request's deadline, the servers taken in turn for as many rounds as configured. The DNS
//! messages are hickory-proto's.
//!
//! Invariants: an answer is taken only from the server asked, with the id and question
//! asked; a server that fails (SERVFAIL, REFUSED, a malformed answer) or stays silent is
//! passed over for the next; the call returns by the deadline.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use super::DnsError;

/// Negative answers are kept this long when the server names no SOA minimum.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);

/// The largest answer read over UDP (EDNS is not offered: 512 bytes is the classic limit,
/// and a truncated answer still carries the addresses that fit).
const MAX_ANSWER: usize = 4096;

/// What a server said of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Said {
    /// Its addresses (IPv6 first: connecting races the families, `connect.rs`), and how
    /// long they may be kept.
    Addresses(Vec<IpAddr>, Duration),
    /// The name does not exist (NXDOMAIN), for this long.
    NoSuchName(Duration),
    /// The name exists with no address (NODATA), for this long.
    NoAddress(Duration),
}

/// Ask for `name`'s addresses, as `servers`, `timeout` and `attempts` say, by `deadline`.
pub(super) fn ask(
    name: &str,
    servers: &[SocketAddr],
    timeout: Duration,
    attempts: u32,
    deadline: Instant,
    ids: &mut impl FnMut() -> u16,
) -> Result<Said, DnsError> {
    let query =
        Name::from_ascii(format!("{name}.")).map_err(|_| DnsError::BadName(name.to_string()))?;
    let mut last = DnsError::NoAnswer { tries: 0 };
    let mut tries = 0;
    for _ in 0..attempts {
        for server in servers {
            if Instant::now() >= deadline {
                return Err(DnsError::Deadline);
            }
            tries += 1;
            let until = (Instant::now() + timeout).min(deadline);
            match ask_one(&query, *server, until, ids) {
                Ok(said) => return Ok(said),
                Err(e) => last = e,
            }
        }
    }
    match last {
        DnsError::NoAnswer { .. } if Instant::now() >= deadline => Err(DnsError::Deadline),
        DnsError::NoAnswer { .. } => Err(DnsError::NoAnswer { tries }),
        other => Err(other),
    }
}

/// One try: both queries to `server`, answers until `until`.
fn ask_one(
    name: &Name,
    server: SocketAddr,
    until: Instant,
    ids: &mut impl FnMut() -> u16,
) -> Result<Said, DnsError> {
    let unreachable = |e: std::io::Error| DnsError::Unreachable(e.to_string());
    let socket = open(server).map_err(unreachable)?;
    let mut asked = [(ids(), RecordType::A), (ids(), RecordType::AAAA)];
    if asked[0].0 == asked[1].0 {
        asked[1].0 = asked[1].0.wrapping_add(1);
    }
    for (id, kind) in asked {
        let bytes = query(id, name, kind).map_err(|_| DnsError::BadName(name.to_string()))?;
        socket.send(&bytes).map_err(unreachable)?;
    }
    let mut answers: [Option<Answer>; 2] = [None, None];
    let mut buffer = [0u8; MAX_ANSWER];
    while answers.iter().any(Option::is_none) {
        if !readable(&socket, until) {
            break;
        }
        let Ok(n) = socket.recv(&mut buffer) else {
            continue;
        };
        let Ok(message) = Message::from_vec(&buffer[..n]) else {
            continue;
        };
        let Some(slot) = asked.iter().position(|(id, kind)| {
            message.metadata.id == *id
                && message.metadata.message_type == MessageType::Response
                && message
                    .queries
                    .first()
                    .is_some_and(|q| q.query_type() == *kind && q.name() == name)
        }) else {
            continue;
        };
        answers[slot] = Some(Answer::of(&message));
    }
    Answer::combine(answers)
}

/// What one response said.
#[derive(Debug)]
struct Answer {
    /// The server failed to answer this query (SERVFAIL, REFUSED, …), as it named it.
    failed: Option<String>,
    no_such_name: bool,
    addresses: Vec<IpAddr>,
    /// The smallest TTL of the addresses, or the SOA minimum of a negative answer.
    ttl: Duration,
}

impl Answer {
    fn of(message: &Message) -> Answer {
        let addresses: Vec<(IpAddr, u32)> = message
            .answers
            .iter()
            .filter_map(|record| match &record.data {
                RData::A(a) => Some((IpAddr::V4(a.0), record.ttl)),
                RData::AAAA(aaaa) => Some((IpAddr::V6(aaaa.0), record.ttl)),
                _ => None,
            })
            .collect();
        let soa_minimum = message
            .authorities
            .iter()
            .find_map(|record| match &record.data {
                RData::SOA(soa) => {
                    Some(Duration::from_secs(u64::from(soa.minimum.min(record.ttl))))
                }
                _ => None,
            });
        let ttl = match addresses.iter().map(|(_, ttl)| *ttl).min() {
            Some(ttl) => Duration::from_secs(u64::from(ttl)),
            None => soa_minimum.unwrap_or(NEGATIVE_TTL),
        };
        let code = message.metadata.response_code;
        Answer {
            failed: match code {
                ResponseCode::NoError | ResponseCode::NXDomain => None,
                other => Some(name_of(other)),
            },
            no_such_name: code == ResponseCode::NXDomain,
            addresses: addresses.into_iter().map(|(addr, _)| addr).collect(),
            ttl,
        }
    }

    /// The `A` and `AAAA` answers as one: addresses if either had some (IPv6 first, as
    /// RFC 6724 orders them; connecting races the families; a family the server failed to
    /// answer is passed over, as the C library does); else a failure of the server; else
    /// what the answers agree on; none at all is no answer.
    fn combine(answers: [Option<Answer>; 2]) -> Result<Said, DnsError> {
        let [v4, v6] = answers;
        let got: Vec<&Answer> = [&v6, &v4].into_iter().flatten().collect();
        if got.is_empty() {
            return Err(DnsError::NoAnswer { tries: 1 });
        }
        let ttl = got.iter().map(|a| a.ttl).min().unwrap_or(NEGATIVE_TTL);
        let addresses: Vec<IpAddr> = got.iter().flat_map(|a| a.addresses.clone()).collect();
        if !addresses.is_empty() {
            return Ok(Said::Addresses(addresses, ttl));
        }
        if let Some(code) = got.iter().find_map(|a| a.failed.clone()) {
            return Err(DnsError::ServerFailed(code));
        }
        if got.iter().any(|a| a.no_such_name) {
            return Ok(Said::NoSuchName(ttl));
        }
        // Both families asked and answered with nothing: the name has no address. One
        // family only: the other may yet have some (it was not heard in time).
        match got.len() {
            2 => Ok(Said::NoAddress(ttl)),
            _ => Err(DnsError::NoAnswer { tries: 1 }),
        }
    }
}

/// A response code as DNS people write it.
fn name_of(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".to_string(),
        ResponseCode::Refused => "REFUSED".to_string(),
        ResponseCode::FormErr => "FORMERR".to_string(),
        ResponseCode::NotImp => "NOTIMP".to_string(),
        other => other.to_string(),
    }
}

/// A UDP socket connected to `server` (answers from elsewhere are not read), not blocking.
fn open(server: SocketAddr) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => "0.0.0.0:0".parse().map_err(std::io::Error::other)?,
        SocketAddr::V6(_) => "[::]:0".parse().map_err(std::io::Error::other)?,
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(server)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// A query for `name`'s records of `kind`, recursion desired.
fn query(id: u16, name: &Name, kind: RecordType) -> Result<Vec<u8>, hickory_proto::ProtoError> {
    let mut message = Message::new(id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(name.clone(), kind));
    message.to_vec()
}

/// Wait until `socket` has something to read, or `until` passes.
fn readable(socket: &UdpSocket, until: Instant) -> bool {
    let left = until.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return false;
    }
    let millis = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as i32;
    let mut poll = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd for the call.
    let ready = unsafe { libc::poll(&mut poll, 1, millis) };
    ready > 0 || (ready < 0 && Instant::now() < until)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(no_such_name: bool, addresses: &[&str], ttl: u64) -> Option<Answer> {
        Some(Answer {
            failed: None,
            no_such_name,
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
            ttl: Duration::from_secs(ttl),
        })
    }

    #[test]
    fn the_two_answers_combine() {
        let both = Answer::combine([
            answer(false, &["10.0.0.1"], 60),
            answer(false, &["::1"], 30),
        ]);
        let addrs = vec!["::1".parse().unwrap(), "10.0.0.1".parse().unwrap()];
        assert_eq!(
            both.unwrap(),
            Said::Addresses(addrs, Duration::from_secs(30))
        );
        let missing = Answer::combine([answer(true, &[], 5), answer(true, &[], 9)]);
        assert_eq!(missing.unwrap(), Said::NoSuchName(Duration::from_secs(5)));
        let empty = Answer::combine([answer(false, &[], 7), answer(false, &[], 7)]);
        assert_eq!(empty.unwrap(), Said::NoAddress(Duration::from_secs(7)));
        // One family heard, empty: the other may have addresses.
        assert!(Answer::combine([answer(false, &[], 7), None]).is_err());
        let one = Answer::combine([answer(false, &["10.0.0.1"], 60), None]).unwrap();
        assert!(matches!(one, Said::Addresses(a, _) if a.len() == 1));
        // A family refused: the other's addresses still count; both refused is a failure.
        let refused = || {
            let mut a = answer(false, &[], 0);
            if let Some(a) = a.as_mut() {
                a.failed = Some("REFUSED".into());
            }
            a
        };
        let partly = Answer::combine([answer(false, &["10.0.0.1"], 60), refused()]).unwrap();
        assert!(matches!(partly, Said::Addresses(..)));
        let failed = Answer::combine([refused(), refused()]).unwrap_err();
        assert_eq!(failed, DnsError::ServerFailed("REFUSED".into()));
    }
}
