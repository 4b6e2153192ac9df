//! Which URLs a crawl follows: its scope (by the seeds), its include and exclude patterns.
//!
//! Invariant: the rules are fixed before the first seed is admitted; deciding reads them
//! only.

use regex::Regex;
use url::Url;

/// How far from its seeds a crawl may go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Scope {
    /// URLs on a seed's host (scheme and port aside). The default.
    #[default]
    Host,
    /// URLs on a seed's host or any host under it (`a.example.com` under `example.com`).
    Domain,
    /// URLs under a seed's directory (its URL up to the last `/` of its path).
    Prefix,
    /// Any URL.
    Any,
}

/// A crawl's rules, made from its settings and seeds.
#[derive(Debug, Default)]
pub(super) struct Rules {
    pub scope: Scope,
    pub include: Vec<Regex>,
    pub exclude: Vec<Regex>,
    /// The seeds' hosts (`Host`, `Domain`) or directories (`Prefix`).
    marks: Vec<String>,
}

impl Rules {
    pub fn new(scope: Scope, include: Vec<Regex>, exclude: Vec<Regex>) -> Rules {
        Rules {
            scope,
            include,
            exclude,
            marks: Vec::new(),
        }
    }

    /// Take `seed` as one of the crawl's seeds: what it is in scope of.
    pub fn seed(&mut self, seed: &Url) {
        let mark = match self.scope {
            Scope::Host | Scope::Domain => seed.host_str().unwrap_or_default().to_string(),
            Scope::Prefix => {
                let text = seed.as_str();
                let path_end = text.len() - seed.query().map_or(0, |q| q.len() + 1);
                let dir = text[..path_end].rfind('/').map_or(path_end, |i| i + 1);
                text[..dir].to_string()
            }
            Scope::Any => return,
        };
        if !self.marks.contains(&mark) {
            self.marks.push(mark);
        }
    }

    /// Whether the crawl follows `url`: in scope, matching an include pattern (if any) and
    /// no exclude pattern.
    pub fn follows(&self, url: &Url) -> bool {
        let host = url.host_str().unwrap_or_default();
        let in_scope = match self.scope {
            Scope::Host => self.marks.iter().any(|m| m == host),
            Scope::Domain => self.marks.iter().any(|m| {
                host == m
                    || (host.ends_with(m.as_str()) && host[..host.len() - m.len()].ends_with('.'))
            }),
            Scope::Prefix => self
                .marks
                .iter()
                .any(|m| url.as_str().starts_with(m.as_str())),
            Scope::Any => true,
        };
        let text = url.as_str();
        in_scope
            && (self.include.is_empty() || self.include.iter().any(|r| r.is_match(text)))
            && !self.exclude.iter().any(|r| r.is_match(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(scope: Scope, seed: &str) -> Rules {
        let mut rules = Rules::new(scope, Vec::new(), Vec::new());
        rules.seed(&Url::parse(seed).unwrap());
        rules
    }

    fn follows(rules: &Rules, url: &str) -> bool {
        rules.follows(&Url::parse(url).unwrap())
    }

    #[test]
    fn each_scope_follows_what_it_says() {
        let host = rules(Scope::Host, "http://a.test/docs/index.html");
        assert!(follows(&host, "https://a.test:8443/other"));
        assert!(!follows(&host, "http://b.a.test/"));
        let domain = rules(Scope::Domain, "http://a.test/");
        assert!(follows(&domain, "http://b.a.test/x"));
        assert!(follows(&domain, "http://a.test/x"));
        assert!(
            !follows(&domain, "http://ba.test/x"),
            "a suffix that is not a subdomain"
        );
        let prefix = rules(Scope::Prefix, "http://a.test/docs/index.html?x=/y/");
        assert!(follows(&prefix, "http://a.test/docs/deep/page"));
        assert!(!follows(&prefix, "http://a.test/doc"));
        assert!(!follows(&prefix, "http://a.test/other/"));
        let any = rules(Scope::Any, "http://a.test/");
        assert!(follows(&any, "http://anywhere.test/"));
    }

    #[test]
    fn include_and_exclude_patterns_narrow_the_scope() {
        let mut rules = Rules::new(
            Scope::Host,
            vec![Regex::new("/docs/").unwrap()],
            vec![Regex::new(r"\.pdf$").unwrap()],
        );
        rules.seed(&Url::parse("http://a.test/docs/").unwrap());
        assert!(follows(&rules, "http://a.test/docs/a.html"));
        assert!(!follows(&rules, "http://a.test/docs/a.pdf"));
        assert!(!follows(&rules, "http://a.test/blog/"));
    }
}
