//! Validated settings for a run, built from the command line. Everything a user can get
//! wrong is caught here, before anything is fetched, with a message naming the problem.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use ureq::http::{HeaderName, HeaderValue, Method};

use crate::cli::FetchArgs;
use crate::client::ClientConfig;
use crate::input::Source;
use crate::policy::{Policy, PrefixLimit, Rate, RetryPolicy};
use crate::resolver::ResolveRule;

/// How records are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Inclusive ranges of statuses that count as success (`--ok-status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRanges(Vec<(u16, u16)>);

impl StatusRanges {
    pub fn contains(&self, status: u16) -> bool {
        self.0.iter().any(|&(lo, hi)| (lo..=hi).contains(&status))
    }
}

impl std::str::FromStr for StatusRanges {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |part: &str| {
            format!("--ok-status '{s}': '{part}' is not a status or a range like 200-299")
        };
        let mut ranges = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            let lo: u16 = lo.trim().parse().map_err(|_| bad(part))?;
            let hi: u16 = hi.trim().parse().map_err(|_| bad(part))?;
            if !(100..=999).contains(&lo) || !(100..=999).contains(&hi) || lo > hi {
                return Err(bad(part));
            }
            ranges.push((lo, hi));
        }
        if ranges.is_empty() {
            return Err(bad(s));
        }
        Ok(StatusRanges(ranges))
    }
}

/// The cache's settings, when it is on.
#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    pub ttl: Duration,
    pub capacity: u64,
}

/// Everything a fetch run needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub sources: Vec<Source>,
    pub concurrency: usize,
    pub client: ClientConfig,
    pub cache: Option<CacheConfig>,
    pub ok_status: StatusRanges,
    pub format: Format,
    /// Print the summary on stderr.
    pub summary: bool,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
    pub policy: Policy,
}

impl Config {
    /// Validate the command line. `Err` is a usage message (exit status 2).
    pub fn from_args(args: &FetchArgs) -> Result<Config, String> {
        let sources = sources(&args.inputs)?;
        for source in &sources {
            source.check()?;
        }
        let body = match &args.data {
            None => None,
            Some(d) => Some(read_data(d)?),
        };
        let method = match &args.method {
            Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("-X '{m}' is not an HTTP method"))?,
            None if body.is_some() => Method::POST,
            None => Method::GET,
        };
        let mut headers = args
            .headers
            .iter()
            .map(|h| parse_header(h))
            .collect::<Result<Vec<_>, _>>()?;
        if body.is_some() && !headers.iter().any(|(n, _)| n == "content-type") {
            headers.push((
                HeaderName::from_static("content-type"),
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            ));
        }
        let resolve = args
            .resolve
            .iter()
            .map(|r| r.parse::<ResolveRule>())
            .collect::<Result<Vec<_>, _>>()?;
        if args.timeout.is_zero() {
            return Err("--timeout must be more than zero".into());
        }
        if args.connect_timeout.is_zero() {
            return Err("--connect-timeout must be more than zero".into());
        }
        let concurrency = args.concurrency as usize;
        let client = ClientConfig {
            method,
            headers,
            body,
            user_agent: args
                .user_agent
                .clone()
                .unwrap_or_else(|| format!("octopus/{}", env!("CARGO_PKG_VERSION"))),
            timeout: args.timeout,
            connect_timeout: args.connect_timeout,
            max_redirects: args.max_redirects,
            max_body: args.max_body,
            insecure: args.insecure,
            proxy: args.proxy.clone(),
            resolve,
            pool_shards: crate::client::pool_shards(concurrency),
            idle_per_shard: concurrency,
        };
        let cache = (!args.no_cache && args.cache_size > 0 && !args.cache_ttl.is_zero()).then_some(
            CacheConfig {
                ttl: args.cache_ttl,
                capacity: args.cache_size,
            },
        );
        let policy = Policy {
            per_host: args.per_host.map(|n| n as usize),
            limits: args
                .limits
                .iter()
                .map(|l| l.parse())
                .collect::<Result<Vec<PrefixLimit>, _>>()?,
            rate: args.rate.as_deref().map(str::parse::<Rate>).transpose()?,
            delay: args.delay.filter(|d| !d.is_zero()),
            retry: RetryPolicy {
                retries: args.retries,
                on_status: args
                    .retry_on
                    .parse()
                    .map_err(|e: String| e.replace("--ok-status", "--retry-on"))?,
                base: args.retry_delay,
                max_wait: args.max_retry_wait,
            },
            lookahead: args.lookahead as usize,
        };
        Ok(Config {
            policy,
            sources,
            concurrency,
            client,
            cache,
            ok_status: args.ok_status.parse()?,
            format: if args.json {
                Format::Json
            } else {
                Format::Text
            },
            summary: !args.quiet,
            progress: !args.quiet && !args.no_progress && std::io::stderr().is_terminal(),
        })
    }
}

/// INPUT arguments to sources; none means stdin, unless stdin is a terminal.
fn sources(inputs: &[String]) -> Result<Vec<Source>, String> {
    if inputs.is_empty() {
        if std::io::stdin().is_terminal() {
            return Err(
                "no URLs given: pass URLs or files of URLs, or pipe URLs on stdin \
                        (e.g. `octopus fetch urls.txt` or `cat urls.txt | octopus`)"
                    .into(),
            );
        }
        return Ok(vec![Source::Stdin]);
    }
    Ok(inputs.iter().map(|a| Source::from_arg(a)).collect())
}

/// `-d STRING` or `-d @FILE`.
fn read_data(data: &str) -> Result<Arc<[u8]>, String> {
    match data.strip_prefix('@') {
        Some(path) => std::fs::read(path)
            .map(Arc::from)
            .map_err(|e| format!("--data @{path}: cannot read file: {e}")),
        None => Ok(Arc::from(data.as_bytes())),
    }
}

/// `Name: value`, refusing anything that could not be sent as one header line.
pub fn parse_header(h: &str) -> Result<(HeaderName, HeaderValue), String> {
    let (name, value) = h
        .split_once(':')
        .ok_or_else(|| format!("--header '{h}': expected 'Name: value'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
        format!(
            "--header '{h}': '{}' is not a valid header name",
            name.trim()
        )
    })?;
    let value = HeaderValue::from_str(value.trim())
        .map_err(|_| format!("--header '{h}': the value contains characters not allowed in a header (CR, LF, NUL or other control characters)"))?;
    Ok((name, value))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A client configuration with defaults, for unit tests.
    pub(crate) fn client_config() -> ClientConfig {
        ClientConfig {
            method: Method::GET,
            headers: vec![],
            body: None,
            user_agent: "octopus/test".into(),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 10,
            max_body: 1 << 20,
            insecure: false,
            proxy: None,
            resolve: vec![],
            pool_shards: 1,
            idle_per_shard: 4,
        }
    }

    #[test]
    fn status_ranges() {
        let r: StatusRanges = "200-299, 304".parse().unwrap();
        assert!(r.contains(200) && r.contains(299) && r.contains(304));
        assert!(!r.contains(300) && !r.contains(404));
        for bad in ["", "abc", "300-200", "2000", "200-"] {
            assert!(bad.parse::<StatusRanges>().is_err(), "{bad}");
        }
    }

    #[test]
    fn headers() {
        let (n, v) = parse_header("X-Token:  abc ").unwrap();
        assert_eq!((n.as_str(), v.to_str().unwrap()), ("x-token", "abc"));
        assert!(
            parse_header("no colon")
                .unwrap_err()
                .contains("Name: value")
        );
        assert!(parse_header("Bad Name: x").is_err());
        assert!(parse_header("X: a\r\nInjected: 1").is_err());
    }
}
