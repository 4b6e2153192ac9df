//! From the parsed command line to what `fetch` runs with: the library's `Builder` (which
//! validates the fetch settings), the inputs (checked readable before anything is fetched),
//! and the output choices. Parsers for the flags' small languages (`200-299,304`, `20/s`,
//! `PREFIX=N`, `Name: value`, `HOST:PORT:ADDR`, `@FILE`) live here, with messages naming
//! the flag.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use octopus::input::{ShardBy, Source};
use octopus::{Builder, Hash, Layout, Octopus};

use super::args::{FetchArgs, FormatArg, LayoutArg, ShardByArg};
use super::journal::Resume;
use super::output::select::Selection;
use super::output::{Format, Style};

/// What the `fetch` command runs with.
pub struct FetchSettings {
    pub builder: Builder,
    pub sources: Vec<Source>,
    pub style: Style,
    /// Which records are printed.
    pub selection: Selection,
    /// Print the summary on stderr.
    pub summary: bool,
    /// Show a progress bar (only when stderr is a terminal).
    pub progress: bool,
    /// Records go to this file (`-o`), resumed or not, instead of stdout.
    pub output: Option<(PathBuf, Option<Resume>)>,
    /// With `--keep-order`: how many lines may be handed over and not yet printed.
    pub keep_order: Option<usize>,
    /// Statistics in the text summary (`--stats`).
    pub stats: bool,
    /// The shard taken (`--shard K/N`), as the summary names it.
    pub shard: Option<String>,
    /// The shared limiter's Redis (`--redis`), if any.
    pub redis: Option<String>,
}

impl FetchSettings {
    /// Read the command line. `Err` is a usage message (exit status 2).
    pub fn from_args(args: &FetchArgs) -> Result<FetchSettings, String> {
        let sources = sources(&args.inputs)?;
        for source in &sources {
            source.check().map_err(|e| e.to_string())?;
        }
        let report = &args.report;
        let selection = Selection::from_args(report)?;
        let mut builder = politeness(args, request(args)?)?;
        if selection.needs_bodies() {
            builder = builder.keep_bodies(true);
        }
        let format = match (report.json, report.format) {
            (true, _) | (false, FormatArg::Json) => Format::Json,
            (false, FormatArg::Text) => Format::Text,
            (false, FormatArg::Csv) => Format::Csv,
        };
        if report.resume && format != Format::Json {
            return Err("--resume reads the output file as JSON Lines: add --json".into());
        }
        let resume = report.resume.then_some(Resume {
            max_age: report.max_age,
            retry_failed: report.retry_failed,
        });
        // A slow line holds back what the engine may have in hand anyway: its look-ahead
        // and its requests in flight.
        let window = args.lookahead as usize + args.concurrency as usize;
        Ok(FetchSettings {
            keep_order: report.keep_order.then_some(window),
            stats: report.stats,
            shard: args.shard.as_ref().map(|s| s.replace(' ', "")),
            redis: args.redis.clone(),
            output: report.output.clone().map(|path| (path, resume)),
            builder,
            sources,
            style: Style {
                format,
                bodies: args.include_body,
            },
            selection,
            summary: !report.quiet,
            progress: !report.quiet && !report.no_progress && std::io::stderr().is_terminal(),
        })
    }
}

/// What shapes each request, and the cache.
fn request(args: &FetchArgs) -> Result<Builder, String> {
    let mut b = Octopus::builder()
        .concurrency(args.concurrency as usize)
        .timeout(args.timeout)
        .connect_timeout(args.connect_timeout)
        .max_redirects(args.max_redirects)
        .max_body(args.max_body)
        .accept_invalid_certs(args.insecure)
        // Records carry bodies and headers only when asked: memory stays flat otherwise.
        .keep_bodies(args.include_body)
        .keep_headers(args.include_headers)
        .titles(args.title)
        .ok_status(status_list("--ok-status", &args.ok_status)?)
        .cache_size(usize::try_from(args.cache_size).unwrap_or(usize::MAX));
    if let Some(method) = &args.method {
        b = b.method(method);
    }
    let mut has_content_type = false;
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| format!("--header '{h}': expected 'Name: value'"))?;
        has_content_type |= name.trim().eq_ignore_ascii_case("content-type");
        b = b.header(name, value);
    }
    if let Some(data) = &args.data {
        b = b.body(read_data(data)?);
        if !has_content_type {
            b = b.header("Content-Type", "application/x-www-form-urlencoded");
        }
    }
    if let Some(ua) = &args.user_agent {
        b = b.user_agent(ua);
    }
    if let Some(proxy) = &args.proxy {
        b = b.proxy(proxy);
    }
    if let Some(file) = &args.cacert {
        b = b.root_certs_pem(read_file("--cacert", file)?);
    }
    if let Some(cert) = &args.cert {
        let chain = read_file("--cert", cert)?;
        let key = match &args.key {
            Some(key) => read_file("--key", key)?,
            None => chain.clone(),
        };
        b = b.client_cert_pem(chain, key);
    }
    for rule in &args.resolve {
        let (host, port, addr) = resolve_rule(rule)?;
        b = b.resolve(host, port, addr);
    }
    if !args.no_cache {
        b = b.cache_ttl(args.cache_ttl);
    }
    if let Some(list) = &args.hash {
        b = b.hashes(hash_list(list)?);
    }
    if let Some(dir) = &args.output_dir {
        let layout = match args.layout {
            LayoutArg::Mirror => Layout::Mirror,
            LayoutArg::Hash => Layout::Hash,
        };
        b = b
            .save_to(dir)
            .save_layout(layout)
            .save_all(args.save_all)
            .skip_existing(args.skip_existing);
    }
    if let Some(file) = &args.warc {
        b = b.warc(file);
    }
    if let Some(size) = args.warc_max_size {
        b = b.warc_max_size(size);
    }
    if let Some(url) = &args.redis {
        b = b
            .redis(url)
            .redis_prefix(&args.redis_prefix)
            .redis_lease(args.redis_lease)
            .redis_outage(args.redis_outage);
    }
    if let Some(shard) = &args.shard {
        let (index, count) = shard_arg(shard)?;
        let by = match args.shard_by {
            ShardByArg::Host => ShardBy::Host,
            ShardByArg::Url => ShardBy::Url,
        };
        b = b.shard(index, count).shard_by(by);
    }
    Ok(b)
}

/// `sha256,md5`: digest names.
fn hash_list(list: &str) -> Result<Vec<Hash>, String> {
    list.split(',')
        .filter(|name| !name.trim().is_empty())
        .map(|name| {
            Hash::from_name(name).ok_or_else(|| {
                format!("--hash '{list}': '{name}' is not one of sha256, sha1, sha512, md5")
            })
        })
        .collect()
}

/// Limits, rate, delay and retries.
fn politeness(args: &FetchArgs, mut b: Builder) -> Result<Builder, String> {
    if let Some(n) = args.per_host {
        b = b.per_host(n as usize);
    }
    for limit in &args.limits {
        let (prefix, n) = prefix_limit(limit)?;
        b = b.limit(prefix, n);
    }
    if let Some(rate) = &args.rate {
        b = b.rate(per_second(rate)?);
    }
    if let Some(delay) = args.delay {
        b = b.delay(delay);
    }
    Ok(
        b.lookahead(usize::try_from(args.lookahead).unwrap_or(usize::MAX))
            .retries(args.retries)
            .retry_on(status_list("--retry-on", &args.retry_on)?)
            .retry_delay(args.retry_delay)
            .max_retry_wait(args.max_retry_wait),
    )
}

/// How `fetch` reports a builder error: in the words of the flag.
pub fn describe(error: &octopus::Error) -> String {
    match error {
        octopus::Error::Setting {
            setting,
            value,
            reason,
        } => format!("--{setting} '{value}': {reason}"),
        other => other.to_string(),
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
fn read_data(data: &str) -> Result<Vec<u8>, String> {
    match data.strip_prefix('@') {
        Some(path) => {
            std::fs::read(path).map_err(|e| format!("--data @{path}: cannot read file: {e}"))
        }
        None => Ok(data.as_bytes().to_vec()),
    }
}

/// The contents of a file a flag names.
fn read_file(flag: &str, path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{flag} {}: cannot read file: {e}", path.display()))
}

/// `200-299, 304`: inclusive ranges of statuses (their bounds are the builder's to check).
pub fn status_list(flag: &str, s: &str) -> Result<Vec<RangeInclusive<u16>>, String> {
    let bad =
        |part: &str| format!("{flag} '{s}': '{part}' is not a status or a range like 200-299");
    let mut ranges = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let lo: u16 = lo.trim().parse().map_err(|_| bad(part))?;
        let hi: u16 = hi.trim().parse().map_err(|_| bad(part))?;
        ranges.push(lo..=hi);
    }
    if ranges.is_empty() {
        return Err(bad(s));
    }
    Ok(ranges)
}

/// `K/N`: shard K of N, 1 <= K <= N.
fn shard_arg(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--shard '{s}': expected K/N with 1 <= K <= N, e.g. 2/5");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    match (1..=n).contains(&k) {
        true => Ok((k, n)),
        false => Err(bad()),
    }
}

/// `N/s`, `N/m` (or a bare `N`, per second), as starts per second.
fn per_second(s: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "--rate '{s}': expected a number of requests per second or minute, e.g. 20/s or 90/m"
        )
    };
    let (n, per) = s.split_once('/').unwrap_or((s, "s"));
    let n: f64 = n.trim().parse().map_err(|_| bad())?;
    let per_second = match per.trim() {
        "s" | "sec" | "second" => n,
        "m" | "min" | "minute" => n / 60.0,
        _ => return Err(bad()),
    };
    if !per_second.is_finite() || per_second <= 0.0 {
        return Err(bad());
    }
    if per_second < 1.0 / octopus::MAX_DURATION.as_secs_f64() {
        return Err(format!(
            "--rate '{s}': too slow (at least one request a year)"
        ));
    }
    Ok(per_second)
}

/// `PREFIX=N`.
fn prefix_limit(s: &str) -> Result<(&str, usize), String> {
    let bad = || format!("--limit '{s}': expected PREFIX=N, e.g. http://a.example/=2");
    let (prefix, n) = s.rsplit_once('=').ok_or_else(bad)?;
    let max: usize = n.trim().parse().map_err(|_| bad())?;
    if prefix.is_empty() || max == 0 {
        return Err(bad());
    }
    Ok((prefix, max))
}

/// curl's `HOST:PORT:ADDR` (ADDR may be a bracketed IPv6 address).
fn resolve_rule(s: &str) -> Result<(&str, u16, IpAddr), String> {
    let bad =
        || format!("--resolve '{s}': expected HOST:PORT:ADDR, e.g. example.com:443:127.0.0.1");
    let (host, rest) = s.split_once(':').ok_or_else(bad)?;
    let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host, port, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lists() {
        let r = status_list("--ok-status", "200-299, 304").unwrap();
        assert_eq!(r, vec![200..=299, 304..=304]);
        for bad in ["", "abc", "200-", "70000"] {
            assert!(status_list("--ok-status", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shard_args() {
        assert_eq!(shard_arg("2/5"), Ok((2, 5)));
        assert_eq!(shard_arg("1/1"), Ok((1, 1)));
        for bad in ["0/3", "4/3", "2", "a/b", "2/0"] {
            assert!(shard_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_lists() {
        assert_eq!(hash_list("sha256,MD5"), Ok(vec![Hash::Sha256, Hash::Md5]));
        assert!(hash_list("sha256,crc").unwrap_err().contains("crc"));
    }

    #[test]
    fn rates_limits_and_resolve_rules() {
        assert_eq!(per_second("20/s"), Ok(20.0));
        assert_eq!(per_second("90/m"), Ok(1.5));
        assert_eq!(per_second("5"), Ok(5.0));
        assert!(per_second("0/s").is_err());
        assert!(per_second("x/h").is_err());
        assert!(per_second("1e-19/s").unwrap_err().contains("too slow"));
        assert!(per_second("1/m").is_ok());
        assert_eq!(
            prefix_limit("http://a.example/x=2"),
            Ok(("http://a.example/x", 2))
        );
        assert!(prefix_limit("http://a/=0").is_err());
        assert!(prefix_limit("nolimit").is_err());
        let (host, port, _) = resolve_rule("Example.com:443:127.0.0.1").unwrap();
        assert_eq!((host, port), ("Example.com", 443));
        let (_, _, v6) = resolve_rule("h:80:[::1]").unwrap();
        assert_eq!(v6, "::1".parse::<IpAddr>().unwrap());
        for bad in ["h:80", "h:x:127.0.0.1", ":80:127.0.0.1", "h:80:nothost"] {
            assert!(resolve_rule(bad).is_err(), "{bad}");
        }
    }
}
