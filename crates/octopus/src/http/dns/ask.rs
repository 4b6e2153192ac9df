//! Asking name servers for one name's addresses, never blocking: an `A` and an `AAAA`
//! query on one UDP socket per try, the servers taken in turn. A try waits a few of the
//! server's recent round trips (`Plan::first`), each next one twice as long up to the
//! configured timeout, and tries go on until every server was asked as many times as
//! configured and the configured timeout times the attempts has passed (as c-ares
//! adapts its timeouts to the server's latency): a query a busy server dropped is asked
//! again after a fraction of a second, not after resolv.conf's five seconds, and a silent
//! server is given as long as the system's resolver gives it. No try ends past the
//! request's deadline. `Asking` is driven from outside: whoever holds it waits for its socket to be
//! readable or its try to end (in the waiting set, or in `poll` on a thread), then calls
//! `step`. The DNS messages are hickory-proto's.
//!
//! Invariants: an answer is taken only from the server asked, with the id and question
//! asked; a server that stays silent is passed over for the next; a server that answers
//! with a failure (SERVFAIL, REFUSED) is asked again in the next round, up to `attempts`
//! times in all, as the C library's resolver does (a resolver too busy says REFUSED: dnsmasq
//! under W-web's load, about once in 100,000 queries); one that refuses the datagrams (an
//! ICMP error) or cannot be sent to is not asked again by this lookup; when no server is
//! left the lookup fails at once with what the last one said (nothing is asked again in a
//! loop); no try ends after the deadline; a new try's socket is opened before the last one
//! closes (the waiting set never sees a descriptor number come back).

use std::hash::BuildHasher;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RecordType};

use super::DnsError;
use super::answer::{Answer, Said};

/// The largest answer read over UDP (EDNS is not offered: 512 bytes is the classic limit,
/// and a truncated answer still carries the addresses that fit).
const MAX_ANSWER: usize = 4096;

/// How to ask: the servers in turn; the first try's wait, doubled at each try after, never
/// over `timeout`; every server asked `attempts` times at least, and tries made until
/// `timeout × attempts` has passed (the system resolver's whole wait for a silent server).
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub servers: Vec<SocketAddr>,
    pub first: Duration,
    pub timeout: Duration,
    pub attempts: u32,
}

/// Where query ids come from: a keyed hash of a counter, so that they cannot be guessed.
#[derive(Debug, Clone)]
pub(super) struct Ids {
    pub keys: std::collections::hash_map::RandomState,
    pub counter: u64,
}

impl Ids {
    fn next(&mut self) -> u16 {
        self.counter = self.counter.wrapping_add(1);
        self.keys.hash_one(self.counter) as u16
    }
}

/// One name being asked.
#[derive(Debug)]
pub(super) struct Asking {
    name: Name,
    plan: Plan,
    ids: Ids,
    /// Tries made so far (the next one asks `plan.servers[tries % servers]`).
    tries: u32,
    /// When the first try was sent.
    began: Instant,
    /// How long the answer took to come, when a try was answered.
    rtt: Option<Duration>,
    /// Tries that ended with nothing heard (queries lost, or a server too slow).
    lost: u32,
    /// This try's socket, queries and answers so far (`None` between tries).
    try_: Option<Try>,
    /// When this try ends.
    until: Instant,
    /// What the last try that ended said.
    last: DnsError,
    /// The servers (by their place in `plan.servers`) not to ask again: they refused the
    /// datagrams, could not be sent to, or failed `attempts` times.
    out: Vec<bool>,
    /// Failures each server answered (SERVFAIL, REFUSED).
    failed: Vec<u32>,
}

#[derive(Debug)]
struct Try {
    /// The server asked (its place in `plan.servers`).
    server: usize,
    socket: UdpSocket,
    /// When its queries went out.
    sent: Instant,
    asked: [(u16, RecordType); 2],
    answers: [Option<Answer>; 2],
    /// The socket was handed to a waiting set before.
    watched: bool,
}

impl Asking {
    /// Start asking for `name` as `plan` says: the first try's queries are sent (or, when no
    /// server can be reached, it has failed already).
    pub fn new(name: &str, plan: Plan, ids: Ids, deadline: Instant) -> Result<Asking, DnsError> {
        let name = Name::from_ascii(format!("{name}."))
            .map_err(|_| DnsError::BadName(name.to_string()))?;
        let plan_servers = plan.servers.len();
        let mut asking = Asking {
            name,
            plan,
            ids,
            tries: 0,
            began: Instant::now(),
            rtt: None,
            lost: 0,
            try_: None,
            until: Instant::now(),
            last: DnsError::NoAnswer { tries: 0 },
            out: vec![false; plan_servers],
            failed: vec![0; plan_servers],
        };
        asking.next_try(deadline)?;
        Ok(asking)
    }

    /// The descriptor to wait on, and whether it was waited on before.
    pub fn watch(&mut self) -> (RawFd, bool) {
        match &mut self.try_ {
            Some(t) => (
                t.socket.as_raw_fd(),
                std::mem::replace(&mut t.watched, true),
            ),
            None => (-1, false),
        }
    }

    /// When the wait must end: this try's end.
    pub fn until(&self) -> Instant {
        self.until
    }

    /// Tries that ended with nothing heard so far.
    pub fn lost(&self) -> u32 {
        self.lost
    }

    /// How long the answer took to come (from its try's queries), once answered.
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// Read what came; when this try is over (answered, failed, or its time is up), go on
    /// to the next. `Ok(Some(..))`: the name's answer; `Ok(None)`: wait again (and whether
    /// anything was read); `Err`: no server answered, or the deadline passed.
    pub fn step(&mut self, deadline: Instant) -> Result<(Option<Said>, bool), DnsError> {
        let Some(t) = self.try_.as_mut() else {
            return Err(self.last.clone());
        };
        let (read, refused) = t.read(&self.name);
        let answered = t.answers.iter().all(Option::is_some);
        if !answered && refused.is_none() && Instant::now() < self.until {
            return Ok((None, read));
        }
        let answers = std::mem::take(&mut t.answers);
        if answered {
            self.rtt = Some(t.sent.elapsed());
        } else if !read && answers.iter().all(Option::is_none) && refused.is_none() {
            self.lost += 1;
        }
        let server = t.server;
        match Answer::combine(answers) {
            Ok(said) => Ok((Some(said), true)),
            Err(e) => {
                self.last = match refused {
                    Some(why) if matches!(e, DnsError::NoAnswer { .. }) => {
                        DnsError::unreachable(self.plan.servers[server], &why)
                    }
                    _ => e,
                };
                self.out[server] = match self.last {
                    DnsError::NoAnswer { .. } => false,
                    DnsError::ServerFailed(_) => {
                        self.failed[server] += 1;
                        self.failed[server] >= self.plan.attempts.max(1)
                    }
                    _ => true,
                };
                self.next_try(deadline)?;
                Ok((None, true))
            }
        }
    }

    /// Send the next try's queries on a new socket (servers that cannot be sent to are
    /// passed over); an error when the tries or the time are used up.
    fn next_try(&mut self, deadline: Instant) -> Result<(), DnsError> {
        let servers = self.plan.servers.len() as u32;
        let least = self.plan.attempts.max(1).saturating_mul(servers);
        let budget = self.plan.timeout.saturating_mul(self.plan.attempts.max(1));
        while self.out.contains(&false) && (self.tries < least || self.began.elapsed() < budget) {
            if Instant::now() >= deadline {
                self.try_ = None;
                return Err(DnsError::Deadline);
            }
            let server = (self.tries % servers) as usize;
            let wait = self
                .plan
                .first
                .saturating_mul(1 << (self.tries / servers).min(16))
                .min(self.plan.timeout);
            self.tries += 1;
            if self.out[server] {
                continue;
            }
            match self.send(server) {
                Ok(t) => {
                    // Assigned after the new socket is open: its number is not the last's.
                    self.try_ = Some(t);
                    self.until = (Instant::now() + wait).min(deadline);
                    return Ok(());
                }
                Err(e) => {
                    self.out[server] = true;
                    self.last = e;
                }
            }
        }
        self.try_ = None;
        Err(match &self.last {
            DnsError::NoAnswer { .. } if Instant::now() >= deadline => DnsError::Deadline,
            DnsError::NoAnswer { .. } => DnsError::NoAnswer { tries: self.tries },
            other => other.clone(),
        })
    }

    /// Both queries sent to `plan.servers[server]` on a new socket.
    fn send(&mut self, server: usize) -> Result<Try, DnsError> {
        let address = self.plan.servers[server];
        let unreachable = |e: std::io::Error| DnsError::unreachable(address, &e);
        let socket = open(address).map_err(unreachable)?;
        let mut asked = [(self.ids.next(), RecordType::A), (0, RecordType::AAAA)];
        asked[1].0 = self.ids.next();
        if asked[0].0 == asked[1].0 {
            asked[1].0 = asked[1].0.wrapping_add(1);
        }
        for (id, kind) in asked {
            let bytes = query(id, &self.name, kind)
                .map_err(|_| DnsError::BadName(self.name.to_string()))?;
            socket.send(&bytes).map_err(unreachable)?;
        }
        Ok(Try {
            server,
            socket,
            sent: Instant::now(),
            asked,
            answers: [None, None],
            watched: false,
        })
    }
}

impl Try {
    /// Take every datagram waiting that answers a query of this try: whether any came,
    /// and why the server refused the socket's datagrams, if it did (an ICMP error).
    fn read(&mut self, name: &Name) -> (bool, Option<std::io::Error>) {
        let mut buffer = [0u8; MAX_ANSWER];
        let mut any = false;
        loop {
            let n = match self.socket.recv(&mut buffer) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return (any, None),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return (true, Some(e)),
            };
            any = true;
            let Ok(message) = Message::from_vec(&buffer[..n]) else {
                continue;
            };
            let Some(slot) = self.asked.iter().position(|(id, kind)| {
                message.metadata.id == *id
                    && message.metadata.message_type == MessageType::Response
                    && message
                        .queries
                        .first()
                        .is_some_and(|q| q.query_type() == *kind && q.name() == name)
            }) else {
                continue;
            };
            self.answers[slot] = Some(Answer::of(&message));
        }
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
