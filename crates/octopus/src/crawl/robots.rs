//! robots.txt, as RFC 9309 says a crawler reads it: fetched once per origin before any
//! other URL of it; its rules for octopus's user agent honoured. A missing file (4xx)
//! allows everything; a server error (5xx) or no answer disallows everything.
//!
//! Its `Crawl-delay` (at most `MAX_CRAWL_DELAY`) becomes the origin's delay in the engine;
//! its `Sitemap:` lines are read as seeds.
//!
//! Invariant: an origin's URLs wait (`Pending`) until its robots.txt is answered, then each
//! is fetched or counted as disallowed, exactly once.

use std::collections::HashMap;
use std::time::Duration;

use texting_robots::Robot;
use url::Url;

use crate::response::Response;

/// The longest `Crawl-delay` honoured: a longer one would stall a crawl for hours.
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(30);

/// What is known of an origin's robots.txt.
pub(super) enum Robots {
    /// Asked for: these URLs wait for the answer.
    Pending(Vec<(Url, super::Visit)>),
    /// Answered: its rules.
    Known(Rules),
}

/// An origin's rules.
pub(super) enum Rules {
    AllowAll,
    DisallowAll,
    /// Not answered (no connection, a timeout, …): everything disallowed, as RFC 9309
    /// says, and each URL of the origin reported as failed with this kind of failure.
    Unanswered(&'static str),
    Parsed(Box<Robot>),
}

impl Rules {
    /// The rules a robots.txt response gives `agent`.
    pub fn of(response: &Response, agent: &str) -> Rules {
        match response.status() {
            Some(200..=299) => Robot::new(agent, response.body())
                .map_or(Rules::AllowAll, |robot| Rules::Parsed(Box::new(robot))),
            Some(400..=499) => Rules::AllowAll,
            None => match response.error() {
                Some(failure) => Rules::Unanswered(failure.kind().as_str()),
                None => Rules::DisallowAll,
            },
            // 5xx, a 3xx left (too many redirects): complete disallow.
            _ => Rules::DisallowAll,
        }
    }

    /// The `Crawl-delay` for our agent, at most [`MAX_CRAWL_DELAY`].
    pub fn delay(&self) -> Option<Duration> {
        let Rules::Parsed(robot) = self else {
            return None;
        };
        let seconds = robot.delay.filter(|s| s.is_finite() && *s > 0.0)?;
        Some(Duration::from_secs_f32(seconds).min(MAX_CRAWL_DELAY))
    }

    /// The sitemaps the file names (`Sitemap:` lines).
    pub fn sitemaps(&self) -> &[String] {
        match self {
            Rules::Parsed(robot) => &robot.sitemaps,
            _ => &[],
        }
    }

    /// What to do with `url` by these rules.
    pub fn verdict(&self, url: &Url) -> Verdict {
        let allowed = match self {
            Rules::AllowAll => true,
            Rules::DisallowAll => false,
            Rules::Unanswered(kind) => return Verdict::Unanswered(kind),
            Rules::Parsed(robot) => robot.allowed(url.as_str()),
        };
        match allowed {
            true => Verdict::Fetch,
            false => Verdict::Disallowed,
        }
    }
}

/// The robots of every origin met.
#[derive(Default)]
pub(super) struct Origins(HashMap<String, Robots>);

/// What to do with a URL, by its origin's robots.
pub(super) enum Verdict {
    Fetch,
    Disallowed,
    /// Not fetched: its origin's robots.txt failed with this kind of failure.
    Unanswered(&'static str),
    /// It waits for its origin's robots.txt.
    Waits,
    /// It waits, and the robots.txt at this URL is to be fetched.
    AskFirst(Url),
}

impl Origins {
    /// What to do with `url` (`visit` kept with it when it must wait).
    pub fn verdict(&mut self, url: &Url, visit: &super::Visit) -> Verdict {
        let origin = url.origin().ascii_serialization();
        match self.0.get_mut(&origin) {
            Some(Robots::Known(rules)) => rules.verdict(url),
            Some(Robots::Pending(waiting)) => {
                waiting.push((url.clone(), visit.clone()));
                Verdict::Waits
            }
            None => {
                let robots = url.join("/robots.txt").ok();
                let waiting = vec![(url.clone(), visit.clone())];
                match robots {
                    Some(robots) => {
                        self.0.insert(origin, Robots::Pending(waiting));
                        Verdict::AskFirst(robots)
                    }
                    None => Verdict::Fetch,
                }
            }
        }
    }

    /// The robots.txt of `origin` was answered with `rules`: the URLs that waited, each
    /// with what to do with it.
    pub fn answered(&mut self, origin: &str, rules: Rules) -> Vec<(Url, super::Visit, Verdict)> {
        let waiting = match self.0.remove(origin) {
            Some(Robots::Pending(waiting)) => waiting,
            _ => Vec::new(),
        };
        let verdicts = waiting
            .into_iter()
            .map(|(url, visit)| {
                let verdict = rules.verdict(&url);
                (url, visit, verdict)
            })
            .collect();
        self.0.insert(origin.to_string(), Robots::Known(rules));
        verdicts
    }
}
