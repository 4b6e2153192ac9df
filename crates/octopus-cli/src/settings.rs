//! From the parsed command line to what `fetch` runs with: the library's `Builder` (which
//! validates the fetch settings), the inputs (checked readable before anything is fetched),
//! and the output choices. The flags' small languages are read by `parse.rs`; files a
//! flag names (`--data @FILE`, `--cacert`, `--cert`, `--key`) are read here, with messages
//! naming the flag.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use octopus::input::{ShardBy, Source};
use octopus::{Builder, HttpVersion, Layout, Octopus};

use super::args::{FetchArgs, FormatArg, LayoutArg, ShardByArg};
use super::journal::{Mode, Resume};
use super::output::select::Selection;
use super::output::{Format, Style};
use super::parse;

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
    /// Records go to this file (`-o`), replaced, appended to or resumed, instead of stdout.
    pub output: Option<(PathBuf, Mode)>,
    /// With `--keep-order`: how many lines may be handed over and not yet printed.
    pub keep_order: Option<usize>,
    /// Statistics in the text summary (`--stats`).
    pub stats: bool,
    /// The shard taken (`--shard K/N`), as the summary names it.
    pub shard: Option<String>,
    /// The shared limiter's Redis (`--redis`), if any.
    pub redis: Option<String>,
    /// The shared job (`--queue`) and its batches' lease.
    pub queue: Option<(String, std::time::Duration)>,
}

impl FetchSettings {
    /// Read the command line. `Err` is a usage message (exit status 2).
    pub fn from_args(args: &FetchArgs) -> Result<FetchSettings, String> {
        let sources = match (&args.queue, args.inputs.is_empty()) {
            // A worker of a shared job needs no input of its own: stdin is not read then.
            (Some(_), true) => Vec::new(),
            _ => sources(&args.inputs)?,
        };
        for (i, source) in sources.iter().enumerate() {
            source.check().map_err(|e| match i {
                // `octopus fecth urls.txt`: the first INPUT may be a command mistyped.
                0 => with_command_hint(e.to_string(), &args.inputs[0]),
                _ => e.to_string(),
            })?;
        }
        Self::with_sources(args, sources)
    }

    /// The settings for `sources`, as read (and checked) by `from_args`.
    fn with_sources(args: &FetchArgs, sources: Vec<Source>) -> Result<FetchSettings, String> {
        let report = &args.report;
        let selection = Selection::from_args(report)?;
        let mut builder = builder(args)?;
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
        let mode = match (report.resume, report.append) {
            (true, _) => Mode::Resume(Resume {
                max_age: report.max_age,
                retry_failed: report.retry_failed,
            }),
            (false, true) => Mode::Append,
            // A worker of a shared job started again keeps the records its file has: the
            // job, not the file, says what is left.
            (false, false) if args.queue.is_some() => Mode::Append,
            (false, false) => Mode::Replace,
        };
        // A slow line holds back what the engine may have in hand anyway: its look-ahead
        // and its requests in flight.
        let window = args.lookahead + args.concurrency;
        Ok(FetchSettings {
            keep_order: report.keep_order.then_some(window),
            stats: report.stats,
            shard: args.shard.as_ref().map(|s| s.replace(' ', "")),
            redis: args.redis.clone(),
            queue: args.queue.clone().map(|url| (url, args.queue_lease)),
            output: report.output.clone().map(|path| (path, mode)),
            builder,
            sources,
            style: Style {
                format,
                bodies: args.include_body,
                crawl: false,
            },
            selection,
            // `-q --stats`: the statistics asked for are printed; -q hides the bar.
            summary: !report.quiet || report.stats,
            progress: !report.quiet && !report.no_progress && std::io::stderr().is_terminal(),
        })
    }
}

/// The fetch settings, from the flags: each group below sets the builder's settings of one
/// concern. A flag of the library's whose value needs no reading is one call here.
fn builder(args: &FetchArgs) -> Result<Builder, String> {
    let b = Octopus::builder()
        .concurrency(args.concurrency)
        .timeout(args.timeout)
        .connect_timeout(args.connect_timeout)
        .max_redirects(args.max_redirects)
        .max_body(args.max_body)
        .ok_status(parse::statuses("--ok-status", &args.ok_status)?)
        .cache_size(args.cache_size)
        .lookahead(args.lookahead);
    let b = request(args, b)?;
    let b = tls(args, b)?;
    let b = content(args, b)?;
    let b = politeness(args, b)?;
    sharing(args, b)
}

/// What each request says: method, headers, body, user agent.
fn request(args: &FetchArgs, mut b: Builder) -> Result<Builder, String> {
    if let Some(method) = &args.method {
        b = b.method(method);
    }
    let mut has_content_type = false;
    for h in &args.headers {
        let (name, value) = parse::header(h)?;
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
    Ok(b)
}

/// Where requests go and whom they trust: proxy, names (`--resolve`, DNS), certificates.
fn tls(args: &FetchArgs, mut b: Builder) -> Result<Builder, String> {
    b = b.accept_invalid_certs(args.insecure);
    b = b.http_version(match (args.http1_1, args.http2_prior_knowledge) {
        (true, _) => HttpVersion::Http1,
        (false, true) => HttpVersion::Http2PriorKnowledge,
        (false, false) => HttpVersion::Auto,
    });
    b = b.proxy_tunnel(args.proxy_tunnel);
    b = b.coalesce_hosts(!args.no_coalesce);
    let mut proxies = args.proxy.clone();
    if let Some(file) = &args.proxy_file {
        let text = String::from_utf8_lossy(&read_file("--proxy-file", file)?).into_owned();
        let listed: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(str::to_string)
            .collect();
        if listed.is_empty() {
            return Err(format!("--proxy-file {}: no proxy in it", file.display()));
        }
        proxies.extend(listed);
    }
    match proxies.as_slice() {
        [] => {}
        [one] if args.proxy_file.is_none() => b = b.proxy(one),
        many => b = b.proxies(many),
    }
    if args.proxy_pick == "random" {
        b = b.proxy_pick(octopus::ProxyPick::Random);
    }
    if let Some(list) = &args.noproxy {
        b = b.no_proxy(list);
    }
    b = b.proxy_accept_invalid_certs(args.proxy_insecure);
    if let Some(file) = &args.proxy_cacert {
        b = b.proxy_root_certs_pem(read_file("--proxy-cacert", file)?);
    }
    for rule in &args.resolve {
        let (host, port, addr) = parse::resolve_rule(rule)?;
        b = b.resolve(host, port, addr);
    }
    for server in &args.dns_server {
        b = b.dns_server(*server);
    }
    b = b.dns_concurrency(args.dns_concurrency);
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
    Ok(b)
}

/// What is kept of responses: bodies, headers, titles, digests, saved files, the archive,
/// and the cache.
fn content(args: &FetchArgs, mut b: Builder) -> Result<Builder, String> {
    // Records carry bodies and headers only when asked: memory stays flat otherwise.
    b = b
        .keep_bodies(args.include_body)
        .keep_headers(args.include_headers)
        .titles(args.title);
    if !args.no_cache {
        b = b.cache_ttl(args.cache_ttl);
    }
    if let Some(list) = &args.hash {
        b = b.hashes(parse::hashes(list)?);
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
    Ok(b)
}

/// Limits, rate, delay and retries.
fn politeness(args: &FetchArgs, mut b: Builder) -> Result<Builder, String> {
    if let Some(n) = args.per_host {
        b = b.per_host(n);
    }
    for limit in &args.limits {
        let (prefix, n) = parse::prefix_limit(limit)?;
        b = b.limit(prefix, n);
    }
    if let Some(rate) = &args.rate {
        b = b.rate(parse::rate(rate)?);
    }
    if let Some(delay) = args.delay {
        b = b.delay(delay);
    }
    Ok(b.retries(args.retries)
        .retry_on(parse::statuses("--retry-on", &args.retry_on)?)
        .retry_delay(args.retry_delay)
        .max_retry_wait(args.max_retry_wait))
}

/// Sharing the work and the limits with other processes: the shard, the shared limiter.
fn sharing(args: &FetchArgs, mut b: Builder) -> Result<Builder, String> {
    if let Some(url) = &args.redis {
        b = b
            .redis(url)
            .redis_prefix(&args.redis_prefix)
            .redis_lease(args.redis_lease)
            .redis_outage(args.redis_outage);
    }
    if let Some(shard) = &args.shard {
        let (index, count) = parse::shard(shard)?;
        let by = match args.shard_by {
            ShardByArg::Host => ShardBy::Host,
            ShardByArg::Url => ShardBy::Url,
        };
        b = b.shard(index, count).shard_by(by);
    }
    Ok(b)
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

/// `message`, with "did you mean the command …?" when `arg` is a command's name mistyped.
fn with_command_hint(message: String, arg: &str) -> String {
    use clap::CommandFactory;
    let cli = crate::args::Cli::command();
    let commands = cli.get_subcommands().map(|c| c.get_name()).chain(["help"]);
    let close = commands
        .into_iter()
        .find(|c| parse::distance(arg, c) <= 2 && arg.len() >= 3);
    match close {
        Some(command) => format!("{message}; did you mean the command `{command}`?"),
        None => message,
    }
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};
    use octopus::defaults;

    use super::*;
    use crate::args::Cli;

    /// Flags that other flags with a default require, and an input.
    const BASE: [&str; 7] = [
        "--output-dir",
        "out",
        "--redis",
        "redis://127.0.0.1:1",
        "--shard",
        "1/1",
        "http://127.0.0.1:9/",
    ];

    /// The builder the command line makes of `BASE` and `more`.
    fn built(more: &[&str]) -> Builder {
        let args = ["octopus"].iter().chain(&BASE).chain(more);
        let cli = Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{more:?}: {e}"));
        match FetchSettings::from_args(&cli.fetch) {
            Ok(settings) => settings.builder,
            Err(e) => panic!("{more:?}: {e}"),
        }
    }

    /// Every default `--help` shows, as rendered, is what the command line uses when the
    /// flag is not given (and so, with the next test, the library's): given explicitly, it
    /// changes nothing.
    #[test]
    fn every_default_in_help_is_the_one_used() {
        let omitted = built(&[]);
        let help = Cli::command().render_long_help().to_string();
        let mut flag = None;
        let mut checked = 0;
        for line in help.lines().map(str::trim) {
            if line.starts_with('-') {
                // `-c, --concurrency <N>` or `--timeout <DUR>`: the option's block begins.
                flag = line.split(' ').find_map(|word| word.strip_prefix("--"));
                continue;
            }
            let (Some(name), Some(default)) = (flag, shown_default(line)) else {
                continue;
            };
            // The library computes this one (`octopus/VERSION`); tests/requests.rs checks
            // what is sent.
            if name == "user-agent" {
                continue;
            }
            let given = format!("--{name}={default}");
            assert_eq!(built(&[&given]), omitted, "{given}");
            checked += 1;
        }
        assert!(checked >= 18, "only {checked} defaults found in:\n{help}");
    }

    /// `… [default: X]` (clap's, or one written in a flag's help): X.
    fn shown_default(line: &str) -> Option<&str> {
        let (_, rest) = line.split_once("[default: ")?;
        rest.split_once(']').map(|(default, _)| default)
    }

    /// With no flag given, the command line's builder is the library's defaults, but for
    /// what the command line documents doing otherwise.
    #[test]
    fn no_flag_given_is_the_librarys_defaults() {
        let library = Octopus::builder()
            .save_to("out")
            .redis("redis://127.0.0.1:1")
            .shard(1, 1)
            // Records carry bodies and headers only when asked; the cache is on.
            .keep_bodies(false)
            .keep_headers(false)
            .cache_ttl(defaults::CACHE_TTL);
        assert_eq!(built(&[]), library);
    }

    /// The command lines of the README's `sh` blocks that run octopus: each from the word
    /// `octopus` to the end of its command (a pipe, a redirection, a comment, a quote).
    fn readme_commands() -> Vec<Vec<String>> {
        let readme = include_str!("../../../README.md");
        let mut commands = Vec::new();
        let mut in_sh = false;
        for line in readme.lines() {
            if line.starts_with("```") {
                in_sh = line == "```sh";
                continue;
            }
            if !in_sh {
                continue;
            }
            for (at, _) in line.match_indices("octopus ") {
                let before = line[..at].trim_end();
                let starts =
                    before.is_empty() || ["|", "if", "'"].iter().any(|end| before.ends_with(end));
                if starts {
                    commands.push(words(&line[at..]));
                }
            }
        }
        commands
    }

    /// Shell words up to the end of the command; `{}` (GNU parallel's) as `1`.
    fn words(text: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut word = String::new();
        let mut quote = None;
        for c in text.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') if !word.is_empty() || c == '"' || c == '\'' => {
                    quote = Some(c);
                }
                (None, '|' | '>' | ';' | '#' | '&') => break,
                (None, c) if c.is_whitespace() => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                (None, c) => word.push(c),
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        words.into_iter().map(|w| w.replace("{}", "1")).collect()
    }

    /// Every octopus command line in the README parses, and a fetch's flags make valid
    /// settings (files it names need not exist here).
    #[test]
    fn every_command_line_in_the_readme_is_valid() {
        use crate::args::Command;
        let commands = readme_commands();
        assert!(commands.len() >= 15, "{commands:?}");
        for command in commands {
            let cli = Cli::try_parse_from(&command)
                .unwrap_or_else(|e| panic!("{}: {e}", command.join(" ")));
            let fetch = match cli.command {
                Some(Command::Fetch(fetch)) => *fetch,
                None => cli.fetch,
                Some(_) => continue,
            };
            if let Err(e) = FetchSettings::with_sources(&fetch, Vec::new()) {
                panic!("{}: {e}", command.join(" "));
            }
        }
    }
}
