//! What travels through the engine: a `Ticket` for every enqueued request, a `Job` for one
//! that is to be fetched, a `Resumable` (a job whose request was sent and waits for its
//! answer) and a `Delivery` (a settled response and who receives it).
//!
//! Invariant: a `Consumer` is called exactly once (`consume` takes it by value).

use std::sync::Arc;
use std::time::{Duration, Instant};

use url::Url;

use crate::failure::Failure;
use crate::http::Pending;
use crate::input::{Origin, Request, Shape};
use crate::policy::Policy;
use crate::response::{Outcome, Response, Settled, Shared};
use crate::settings::Settings;
use crate::shared::Lease;
use crate::status::StatusSet;

/// Receives the response of one request, exactly once.
pub(crate) enum Consumer {
    /// A library handler: it may take any time.
    Handler(Box<dyn FnOnce(Response) + Send>),
    /// The pull's channel (`fetch_all`): a send that returns at once.
    Channel(crossbeam_channel::Sender<Response>),
}

impl Consumer {
    /// Returns at once, so a worker may take its next task before calling it (see
    /// `worker::run`).
    pub fn is_quick(&self) -> bool {
        matches!(self, Consumer::Channel(_))
    }

    pub fn consume(self, response: Response) {
        match self {
            Consumer::Handler(handler) => handler(response),
            // The receiver may be gone (the `Responses` was dropped): nothing to do then.
            Consumer::Channel(sender) => {
                let _ = sender.send(response);
            }
        }
    }
}

/// What every enqueued request carries until its response is settled.
pub(crate) struct Ticket {
    pub id: u64,
    /// The URL as shown in the response (normalised, password masked).
    pub shown: String,
    pub origin: Option<Origin>,
    pub consumer: Consumer,
    /// When it was enqueued: `elapsed` counts from here.
    pub taken: Instant,
}

/// How a settled outcome was reached, besides the time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Effort {
    pub waited: Duration,
    pub attempts: u32,
    pub cached: bool,
}

impl Ticket {
    /// The response for this request, settled at `now` with `outcome`.
    pub fn settle(
        self,
        outcome: Shared,
        now: Instant,
        effort: Effort,
        ok_status: &StatusSet,
    ) -> Delivery {
        // A skipped request is fine; an answer is when its status is, and its body was saved
        // if it was to be.
        let ok = match outcome.as_ref() {
            Outcome::Answered(f) => {
                ok_status.contains(f.status)
                    && !f
                        .captured()
                        .and_then(|c| c.saved.as_ref())
                        .is_some_and(Result::is_err)
            }
            Outcome::Skipped(_) => true,
            Outcome::Failed(_) => false,
        };
        let how = Settled {
            elapsed: now.saturating_duration_since(self.taken),
            waited: effort.waited,
            attempts: effort.attempts,
            cached: effort.cached,
            ok,
        };
        Delivery {
            consumer: self.consumer,
            response: Response::settled(self.shown, self.origin, outcome, how),
        }
    }
}

/// A request to fetch, with its state in the scheduler.
pub(crate) struct Job {
    pub ticket: Ticket,
    pub url: Url,
    /// The URL as a key for the cache and for merging repeats (when the cache is on).
    pub key: Option<Arc<str>>,
    /// `scheme://host:port`, when per-host limits or delays count by it.
    pub host: Option<String>,
    /// The prefix limit that applies, if any.
    pub limit: Option<usize>,
    /// Whether the shared limiter (Redis) decides when it starts, besides the local limits.
    pub shared: bool,
    /// When it last started waiting in the window.
    pub queued: Instant,
    /// Whether a limit held it back during this stay in the window.
    pub held: bool,
    /// Whether it was started and leads its URL (repeats wait for its outcome).
    pub leads: bool,
    /// Started to a host spaced by a delay, and not told yet when its request went out
    /// (`Engine::went_out`).
    pub spaced: bool,
    pub effort: Effort,
    /// The last attempt's outcome, while it waits for a retry.
    pub last: Option<Shared>,
    /// How the request asks where it differs from the settings.
    pub shape: Option<Box<Shape>>,
}

impl Job {
    /// Its host, once, while the scheduler is owed word of when its request went out
    /// (`spaced`): told then, it is owed no more.
    pub fn leaving_host(&mut self) -> Option<&str> {
        match std::mem::take(&mut self.spaced) {
            true => self.host.as_deref(),
            false => None,
        }
    }

    /// A job for `url`; `keyed`: cached and merged by its URL; `shared`: a shared limiter
    /// decides limited requests.
    pub fn new(ticket: Ticket, url: Url, policy: &Policy, keyed: bool, shared: bool) -> Job {
        let queued = ticket.taken;
        let limit = policy.limit_for(url.as_str());
        Job {
            shared: shared && crate::shared::SharedLimits::applies(policy, limit),
            key: keyed.then(|| Arc::from(url.as_str())),
            host: policy
                .counts_hosts()
                .then(|| url.origin().ascii_serialization()),
            limit,
            ticket,
            url,
            queued,
            held: false,
            leads: false,
            spaced: false,
            effort: Effort::default(),
            last: None,
            shape: None,
        }
    }

    /// The job's response, settled at `now` with `outcome`.
    pub fn settle(self, outcome: Shared, now: Instant, ok_status: &StatusSet) -> Delivery {
        self.ticket.settle(outcome, now, self.effort, ok_status)
    }
}

/// What becomes of a request handed to the engine.
pub(crate) enum Intake {
    /// It is to be fetched.
    Fetch(Job),
    /// It cannot be (its line is not a URL octopus fetches): delivered with why.
    Refused(Ticket, Failure),
    /// It is another shard's: dropped (and counted).
    OtherShard,
}

impl Intake {
    /// What becomes of `request`, taken at `taken` as number `id`; `shared`: a shared
    /// limiter decides limited requests.
    pub fn of(
        request: Request,
        consumer: Consumer,
        id: u64,
        taken: Instant,
        settings: &Settings,
        shared: bool,
    ) -> Intake {
        let resolved = request.resolve();
        if let Some(shard) = &settings.shard
            && !shard.takes(resolved.url.as_ref().ok(), &resolved.shown)
        {
            return Intake::OtherShard;
        }
        let ticket = Ticket {
            id,
            shown: resolved.shown,
            origin: resolved.origin,
            consumer,
            taken,
        };
        match resolved.url {
            Ok(url) => {
                // A request shaped its own way is fetched on its own.
                let keyed = settings.cache.is_some() && resolved.shape.is_none();
                let mut job = Job::new(ticket, url, &settings.policy, keyed, shared);
                job.shape = resolved.shape;
                Intake::Fetch(job)
            }
            Err(failure) => Intake::Refused(ticket, failure),
        }
    }
}

/// A job whose request was sent, waiting for its answer (in the waiting set, or ready for a
/// worker to go on with).
pub(crate) struct Resumable {
    pub job: Job,
    pub pending: Pending,
    /// Its shared limiter's lease, given back when it ends.
    pub lease: Option<Lease>,
}

/// A settled response and the consumer it goes to.
pub(crate) struct Delivery {
    pub consumer: Consumer,
    pub response: Response,
}
