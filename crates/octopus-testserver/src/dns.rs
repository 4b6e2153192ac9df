//! A DNS server on a UDP port of 127.0.0.1, for tests of name resolution: it answers `A`
//! and `AAAA` queries from a table, with a delay when asked, NXDOMAIN (with an SOA minimum)
//! for names it does not know, SERVFAIL or silence for names marked so, and it can drop
//! the first queries of a name, or wait for a test's word before answering (`before`); it
//! counts the queries it receives per name. The messages
//! are hickory-proto's, as a real server's would be.
//!
//! Invariants: binds only to loopback; dropping the `DnsServer` stops it.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// The TTL of the addresses answered.
const TTL: u32 = 300;

/// The SOA minimum of a negative answer (how long a name's absence may be kept).
const NEGATIVE_TTL: u32 = 60;

/// Told of each query (its name, and `A` or `AAAA`) before it is answered, on a thread of
/// its own; the query is answered only if it returns true.
type Hook = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

#[derive(Default)]
struct Table {
    hook: Option<Hook>,
    addresses: HashMap<String, Vec<IpAddr>>,
    /// Names answered with SERVFAIL.
    failing: HashSet<String>,
    /// Queries still to answer with REFUSED, per name (a busy resolver).
    to_refuse: HashMap<String, usize>,
    /// Names never answered.
    silent: HashSet<String>,
    /// Queries still to drop, per name.
    to_drop: HashMap<String, usize>,
    /// Queries received, per name.
    queries: HashMap<String, usize>,
    delay: Duration,
}

/// A running DNS server; dropping it stops it.
pub struct DnsServer {
    addr: SocketAddr,
    table: Arc<Mutex<Table>>,
    stopping: Arc<AtomicBool>,
}

impl DnsServer {
    /// Start on an ephemeral UDP port of 127.0.0.1.
    pub fn start() -> io::Result<DnsServer> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        let addr = socket.local_addr()?;
        let table = Arc::new(Mutex::new(Table::default()));
        let stopping = Arc::new(AtomicBool::new(false));
        let (served, stop) = (Arc::clone(&table), Arc::clone(&stopping));
        thread::Builder::new()
            .name("dns-server".into())
            .spawn(move || serve(&socket, &served, &stop))?;
        Ok(DnsServer {
            addr,
            table,
            stopping,
        })
    }

    /// The address it answers on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answer `name` with `addr` (repeatable: a name may have several).
    pub fn add(&self, name: &str, addr: IpAddr) -> &Self {
        self.table()
            .addresses
            .entry(key(name))
            .or_default()
            .push(addr);
        self
    }

    /// Answer every query after `delay`.
    pub fn delay(&self, delay: Duration) -> &Self {
        self.table().delay = delay;
        self
    }

    /// Drop the next `n` queries for `name` (a server that lost them).
    pub fn drop_next(&self, name: &str, n: usize) -> &Self {
        self.table().to_drop.insert(key(name), n);
        self
    }

    /// Before answering any query, call `hook` with its name and type (`A` or `AAAA`), on a
    /// thread of the query's own (it may block); answer only if it returns true.
    pub fn before(&self, hook: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> &Self {
        self.table().hook = Some(Arc::new(hook));
        self
    }

    /// Never answer queries for `name`.
    pub fn silent(&self, name: &str) -> &Self {
        self.table().silent.insert(key(name));
        self
    }

    /// Answer queries for `name` with SERVFAIL.
    pub fn failing(&self, name: &str) -> &Self {
        self.table().failing.insert(key(name));
        self
    }

    /// Answer the next `n` queries for `name` with REFUSED (as a resolver does when it is
    /// too busy), then as usual.
    pub fn refuse_next(&self, name: &str, n: usize) -> &Self {
        self.table().to_refuse.insert(key(name), n);
        self
    }

    /// Queries received for `name` (of any type), dropped ones included.
    pub fn queries(&self, name: &str) -> usize {
        self.table().queries.get(&key(name)).copied().unwrap_or(0)
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
    }
}

fn key(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn serve(socket: &UdpSocket, table: &Arc<Mutex<Table>>, stopping: &AtomicBool) {
    let mut buffer = [0u8; 4096];
    while !stopping.load(Ordering::SeqCst) {
        let Ok((n, from)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let Ok(query) = Message::from_vec(&buffer[..n]) else {
            continue;
        };
        let Some((answer, delay)) = answer(&query, table) else {
            continue;
        };
        let Ok(bytes) = answer.to_vec() else {
            continue;
        };
        let Ok(reply) = socket.try_clone() else {
            continue;
        };
        let hook = table.lock().unwrap_or_else(|p| p.into_inner()).hook.clone();
        if delay.is_zero() && hook.is_none() {
            let _ = reply.send_to(&bytes, from);
            continue;
        }
        let asked = query.queries.first().map(|q| {
            let kind = match q.query_type() {
                RecordType::AAAA => "AAAA",
                _ => "A",
            };
            (key(&q.name().to_ascii()), kind)
        });
        thread::spawn(move || {
            if let (Some(hook), Some((name, kind))) = (hook, asked)
                && !hook(&name, kind)
            {
                return;
            }
            thread::sleep(delay);
            let _ = reply.send_to(&bytes, from);
        });
    }
}

/// The answer to `query` and when to send it, or `None` to send nothing.
fn answer(query: &Message, table: &Mutex<Table>) -> Option<(Message, Duration)> {
    let question = query.queries.first()?;
    let name = key(&question.name().to_ascii());
    let mut table = table.lock().unwrap_or_else(|p| p.into_inner());
    *table.queries.entry(name.clone()).or_default() += 1;
    if let Some(left) = table.to_drop.get_mut(&name).filter(|left| **left > 0) {
        *left -= 1;
        return None;
    }
    if table.silent.contains(&name) {
        return None;
    }
    let mut answer = Message::new(
        query.metadata.id,
        MessageType::Response,
        query.metadata.op_code,
    );
    answer.metadata.recursion_desired = query.metadata.recursion_desired;
    answer.metadata.recursion_available = true;
    answer.add_query(question.clone());
    let owner = question.name().clone();
    if table.failing.contains(&name) {
        answer.metadata.response_code = ResponseCode::ServFail;
        return Some((answer, table.delay));
    }
    if let Some(left) = table.to_refuse.get_mut(&name).filter(|left| **left > 0) {
        *left -= 1;
        answer.metadata.response_code = ResponseCode::Refused;
        return Some((answer, table.delay));
    }
    match table.addresses.get(&name) {
        None => {
            answer.metadata.response_code = ResponseCode::NXDomain;
            answer.authorities.push(soa(&owner));
        }
        Some(addrs) => {
            for addr in addrs {
                let data = match (addr, question.query_type()) {
                    (IpAddr::V4(v4), RecordType::A) => RData::A(A(*v4)),
                    (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(*v6)),
                    _ => continue,
                };
                answer.add_answer(Record::from_rdata(owner.clone(), TTL, data));
            }
            if answer.answers.is_empty() {
                answer.authorities.push(soa(&owner));
            }
        }
    }
    Some((answer, table.delay))
}

/// An SOA record for a negative answer about `name`.
fn soa(name: &Name) -> Record {
    let zone = Name::from_ascii("test.").unwrap_or_else(|_| name.clone());
    let data = SOA::new(
        zone.clone(),
        zone.clone(),
        1,
        3600,
        600,
        86400,
        NEGATIVE_TTL,
    );
    Record::from_rdata(zone, NEGATIVE_TTL, RData::SOA(data))
}
