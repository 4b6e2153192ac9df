//! Name resolution of octopus's own, shared by every connection of a client: `/etc/hosts`,
//! then a cache, then the name servers of `/etc/resolv.conf` (or the `dns_server`
//! settings) asked over UDP (`ask.rs`, hickory-proto's messages; `conf.rs` reads the
//! files). The system's resolver (`getaddrinfo`) asked again for every new connection,
//! had no bound on lookups at once (a burst of thousands lost some to a server that drops
//! what it cannot take), did not retry, and took its own timeouts, not the request's.
//!
//! Invariants:
//! - a name is asked at most once at a time: other lookups of it wait for that answer
//!   (single-flight), and then take it from the cache;
//! - answers are kept for their TTL (at most an hour), a name that does not exist for the
//!   SOA minimum (at most five minutes); a server that did not answer is not remembered;
//! - at most `concurrency` names are asked at once (fewer while queries are being lost:
//!   `Window`): the others wait their turn, first come first;
//! - a lookup never outlives the request's deadline (it is then `DnsError::Deadline`).
//!
//! A lookup waits on no thread (`Looked::Wait`): it is given back with a descriptor to
//! wait on (its query's socket, or its bell: `bell.rs`) and a time, and goes into the
//! engine's waiting set as a request waiting for its answer does; `resume` goes on with
//! it once that descriptor is ready or the time has come. `resume` never waits: called
//! early, it gives the lookup back to be waited for again (when it waited in `poll` for
//! what it had not got, a lookup resumed as soon as it was begun held its worker: 1,947
//! threads on W-web). Every step under the lock is short: sending or reading datagrams
//! happens outside it. A thread that must wait (`OctopusResolver::lookup`, in tests) waits
//! on the same descriptor in `poll` between the same steps.

mod answer;
mod ask;
mod bell;
mod conf;
mod error;
mod known;
pub(crate) mod resolver;
mod window;

use crate::http::error::out_of_descriptors;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use answer::Said;
use ask::{Asking, Ids, Plan};
use bell::{Bell, Told};
use conf::Conf;
pub(crate) use error::DnsError;
use known::Known;
use window::Window;

/// The resolver: its configuration, and what it knows and is asking.
#[derive(Debug)]
pub(crate) struct Dns {
    conf: Conf,
    state: Mutex<State>,
    /// Keys the query ids.
    keys: std::collections::hash_map::RandomState,
    /// Where each lookup's ids start (a lookup takes a few).
    counter: AtomicU64,
    /// The servers' smoothed round trip, in microseconds (0: none measured yet).
    srtt: AtomicU64,
}

/// The first try's wait before a round trip is measured (TCP's initial RTO, RFC 6298).
const FIRST_WAIT: Duration = Duration::from_secs(1);

/// The shortest first try's wait, whatever the round trips measured.
const LEAST_WAIT: Duration = Duration::from_millis(100);

#[derive(Debug, Default)]
struct State {
    known: Known,
    /// Names being asked (or waiting for a place to be), with the bells of the other
    /// lookups of each, told its answer when it comes.
    flights: HashMap<String, Vec<Arc<Bell>>>,
    /// Names being asked of the servers now.
    asking: usize,
    /// How many may be (`window`): grown as answers come, halved when queries are lost.
    window: Window,
    /// The bells of lookups waiting for a place among the names asked at once, first come
    /// first: a place that frees is given to the first (`asking` counts it from then).
    queue: VecDeque<Arc<Bell>>,
}

/// What a lookup came to so far.
#[derive(Debug)]
pub(crate) enum Looked {
    /// The host's addresses.
    Found(Vec<IpAddr>),
    /// Not yet: wait for `Lookup::watch`'s descriptor or `Lookup::deadline`, then
    /// `Dns::resume` it.
    Wait(Lookup),
}

/// A lookup under way, held by no thread while it waits. Dropped unfinished (its request
/// ended otherwise), it gives up its place and tells the name's other lookups to ask again.
#[derive(Debug)]
pub(crate) struct Lookup {
    dns: Arc<Dns>,
    /// The name (lower case, no final dot).
    name: String,
    /// `None` only once taken by `resume`.
    role: Option<Role>,
}

impl Drop for Lookup {
    fn drop(&mut self) {
        match self.role.take() {
            Some(Role::Asking { .. }) => {
                let _ = self.dns.finish(&self.name, Err(DnsError::Deadline));
            }
            Some(Role::Queued(bell, _)) => {
                let _ = self.dns.give_up(&self.name, &bell);
            }
            Some(Role::Joined(..)) | None => {}
        }
    }
}

#[derive(Debug)]
enum Role {
    /// Asking the servers for `candidates[at]` (resolv.conf's search list, in order).
    Asking {
        /// Boxed: a request waiting for its lookup is no bigger than one sent.
        asking: Box<Asking>,
        candidates: Vec<String>,
        at: usize,
    },
    /// Asking for the name, once a place among the names asked at once is given.
    Queued(Arc<Bell>, bool),
    /// Waiting for another lookup's answer for the name.
    Joined(Arc<Bell>, bool),
}

impl Lookup {
    /// The descriptor to wait on, and whether it was waited on before.
    pub fn watch(&mut self) -> (RawFd, bool) {
        match &mut self.role {
            Some(Role::Asking { asking, .. }) => asking.watch(),
            Some(Role::Queued(bell, watched) | Role::Joined(bell, watched)) => {
                (bell.fd(), std::mem::replace(watched, true))
            }
            None => (-1, false),
        }
    }

    /// When the wait must end, for a request that must end by `deadline`.
    pub fn deadline(&self, deadline: Instant) -> Instant {
        match &self.role {
            Some(Role::Asking { asking, .. }) => asking.until().min(deadline),
            _ => deadline,
        }
    }
}

impl Dns {
    /// The system's configuration, with `servers` instead of its name servers when given,
    /// at most `concurrency` names asked at once.
    pub fn new(servers: &[SocketAddr], concurrency: usize) -> Dns {
        Dns {
            conf: Conf::system(servers),
            state: Mutex::new(State {
                window: Window::new(concurrency.max(1)),
                ..State::default()
            }),
            keys: std::collections::hash_map::RandomState::new(),
            counter: AtomicU64::new(0),
            srtt: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Begin looking `host` up (a name, not an address literal): known (from the hosts
    /// file or the cache), or a lookup to wait for.
    pub fn begin(self: &Arc<Self>, host: &str, deadline: Instant) -> Result<Looked, DnsError> {
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some(addrs) = self.conf.hosts.get(&name) {
            return Ok(Looked::Found(addrs.clone()));
        }
        let mut state = self.lock();
        if let Some(answer) = state.known.get(&name) {
            return answer.map(Looked::Found);
        }
        let bell = || {
            Bell::new()
                .map(Arc::new)
                .map_err(|e| match out_of_descriptors(&e) {
                    true => DnsError::NoDescriptors(format!("no eventfd for the lookup ({e})")),
                    false => DnsError::Unreachable(format!("no eventfd for the lookup ({e})")),
                })
        };
        if let Some(waiting) = state.flights.get_mut(&name) {
            let bell = bell()?;
            waiting.push(Arc::clone(&bell));
            return Ok(self.wait(name, Role::Joined(bell, false)));
        }
        if state.asking >= state.window.places() {
            let bell = bell()?;
            state.queue.push_back(Arc::clone(&bell));
            state.flights.insert(name.clone(), Vec::new());
            return Ok(self.wait(name, Role::Queued(bell, false)));
        }
        state.flights.insert(name.clone(), Vec::new());
        state.asking += 1;
        drop(state);
        let candidates = self.conf.candidates(&name);
        self.ask(name, candidates, 0, deadline)
    }

    /// Go on with `lookup` once its descriptor is readable or its deadline passed. Called
    /// before, it finds nothing and is to be waited for again: a lookup never waits on the
    /// thread that resumes it.
    pub fn resume(
        self: &Arc<Self>,
        mut lookup: Lookup,
        deadline: Instant,
    ) -> Result<Looked, DnsError> {
        let name = std::mem::take(&mut lookup.name);
        let Some(role) = lookup.role.take() else {
            return Err(DnsError::Deadline);
        };
        drop(lookup);
        match role {
            Role::Asking {
                mut asking,
                candidates,
                at,
            } => {
                let lost = asking.lost();
                let stepped = asking.step(deadline);
                if asking.lost() > lost {
                    self.lock().window.lost(self.first_wait());
                }
                let said = match stepped {
                    Ok((said, _)) => said,
                    Err(e) => return self.finish(&name, Err(e)),
                };
                match said {
                    Some(Said::NoSuchName(_)) if at + 1 < candidates.len() => {
                        self.note_rtt(asking.rtt());
                        self.ask(name, candidates, at + 1, deadline)
                    }
                    Some(said) => {
                        self.note_rtt(asking.rtt());
                        if asking.lost() == 0 {
                            self.lock().window.answered();
                        }
                        self.finish(&name, Ok(said))
                    }
                    None => {
                        let role = Role::Asking {
                            asking,
                            candidates,
                            at,
                        };
                        Ok(self.wait(name, role))
                    }
                }
            }
            Role::Queued(bell, watched) => match bell.told() {
                Some(Told::Place) => {
                    let candidates = self.conf.candidates(&name);
                    self.ask(name, candidates, 0, deadline)
                }
                _ if Instant::now() >= deadline => self.give_up(&name, &bell),
                _ => Ok(self.wait(name, Role::Queued(bell, watched))),
            },
            Role::Joined(bell, watched) => match bell.told() {
                // The lookup asking gave up at its own deadline, not this one's: again.
                Some(Told::Answer(Err(DnsError::Deadline))) | Some(Told::Place)
                    if Instant::now() < deadline =>
                {
                    self.begin(&name, deadline)
                }
                Some(Told::Answer(answer)) => answer.map(Looked::Found),
                _ if Instant::now() >= deadline => Err(DnsError::Deadline),
                _ => Ok(self.wait(name, Role::Joined(bell, watched))),
            },
        }
    }

    /// How long a first try waits: four smoothed round trips (at least `LEAST_WAIT`), or
    /// `FIRST_WAIT` before any was measured; never over resolv.conf's timeout.
    fn first_wait(&self) -> Duration {
        let wait = match self.srtt.load(Ordering::Relaxed) {
            0 => FIRST_WAIT,
            srtt => Duration::from_micros(srtt.saturating_mul(4)).max(LEAST_WAIT),
        };
        wait.min(self.conf.timeout)
    }

    /// Fold a round trip measured into the smoothed one (by eighths, as TCP does).
    fn note_rtt(&self, rtt: Option<Duration>) {
        let Some(rtt) = rtt else {
            return;
        };
        let sample = (rtt.as_micros() as u64).max(1);
        let srtt = self.srtt.load(Ordering::Relaxed);
        let next = match srtt {
            0 => sample,
            _ => srtt - srtt / 8 + sample / 8,
        };
        self.srtt.store(next.max(1), Ordering::Relaxed);
    }

    fn lookup(self: &Arc<Self>, name: String, role: Role) -> Lookup {
        Lookup {
            dns: Arc::clone(self),
            name,
            role: Some(role),
        }
    }

    fn wait(self: &Arc<Self>, name: String, role: Role) -> Looked {
        Looked::Wait(self.lookup(name, role))
    }

    /// Ask for `candidates[at]` (the lookup of `name` has its place).
    fn ask(
        self: &Arc<Self>,
        name: String,
        candidates: Vec<String>,
        at: usize,
        deadline: Instant,
    ) -> Result<Looked, DnsError> {
        let Some(candidate) = candidates.get(at) else {
            return self.finish(&name, Err(DnsError::NoSuchHost));
        };
        let conf = &self.conf;
        let plan = Plan {
            servers: conf.servers.clone(),
            first: self.first_wait(),
            timeout: conf.timeout,
            attempts: conf.attempts,
        };
        let ids = Ids {
            keys: self.keys.clone(),
            counter: self.counter.fetch_add(1 << 8, Ordering::Relaxed),
        };
        match Asking::new(candidate, plan, ids, deadline) {
            Ok(asking) => {
                let asking = Box::new(asking);
                let role = Role::Asking {
                    asking,
                    candidates,
                    at,
                };
                Ok(self.wait(name, role))
            }
            Err(e) => self.finish(&name, Err(e)),
        }
    }

    /// The lookup asking for `name` ended with `result`: kept (unless no server answered),
    /// told to the lookups waiting for it, its place given to the first waiting for one.
    fn finish(&self, name: &str, result: Result<Said, DnsError>) -> Result<Looked, DnsError> {
        let mut state = self.lock();
        state.asking = state.asking.saturating_sub(1);
        let waiting = state.flights.remove(name).unwrap_or_default();
        let answer = match result {
            Ok(said) => state.known.remember(name, said),
            // Not remembered: the next lookup asks again.
            Err(e) => Err(e),
        };
        for bell in waiting {
            bell.tell(Told::Answer(answer.clone()));
        }
        pass_place(&mut state);
        answer.map(Looked::Found)
    }

    /// A lookup waiting for a place to ask for `name` reached its deadline: out of the
    /// queue (or the place it was just given passed on), its name's other lookups told
    /// (they ask again if they still have time).
    fn give_up(&self, name: &str, bell: &Arc<Bell>) -> Result<Looked, DnsError> {
        let mut state = self.lock();
        match bell.told() {
            Some(Told::Place) => {
                state.asking = state.asking.saturating_sub(1);
                pass_place(&mut state);
            }
            _ => state.queue.retain(|queued| !Arc::ptr_eq(queued, bell)),
        }
        for waiting in state.flights.remove(name).unwrap_or_default() {
            waiting.tell(Told::Answer(Err(DnsError::Deadline)));
        }
        Err(DnsError::Deadline)
    }
}

/// Give the places free among the names asked at once to the first lookups waiting for
/// one.
fn pass_place(state: &mut State) {
    while state.asking < state.window.places()
        && let Some(bell) = state.queue.pop_front()
    {
        state.asking += 1;
        bell.tell(Told::Place);
    }
}
