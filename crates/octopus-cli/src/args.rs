//! The command line: every flag defined once, with its help and, for the library's
//! settings, the library's default (`octopus::defaults`, shown in the flags' own syntax by
//! `parse.rs`). Validation into settings happens in `settings.rs` (and the library's
//! builder); this module only describes what users can type.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser, Subcommand};
use octopus::defaults;

use super::exit_codes;
use super::parse::{self, show_duration, show_size, show_statuses};

pub use super::report_args::{FormatArg, ReportArgs};

#[derive(Debug, Parser)]
#[command(
    name = "octopus",
    version,
    about = "Fetch many URLs concurrently: one record per URL, a summary, honest exit codes",
    long_about = "Fetch many URLs concurrently: one record per URL on stdout (text or JSON Lines), \
a throughput summary on stderr, and an exit status scripts can trust.\n\n\
With no subcommand, `fetch` is assumed: `cat urls.txt | octopus --json`.",
    args_conflicts_with_subcommands = true,
    after_help = exit_codes::help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub fetch: FetchArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch URLs from arguments, files or stdin (the default command)
    #[command(
        after_help = exit_codes::help(),
        long_about = "Fetch URLs from arguments, files or stdin: one record per URL on stdout \
(text, JSON Lines or CSV), a throughput summary on stderr, and an exit status scripts can \
trust. The same as `octopus` with no command."
    )]
    Fetch(Box<FetchArgs>),
    /// Add URLs to a job shared through Redis (`fetch --queue`), from anywhere
    #[command(
        long_about = "Add URLs (arguments, files of URLs, or stdin) to a job shared \
through Redis, from any machine: processes running `octopus fetch --queue QUEUE` take them. \
Each URL keeps its input's name and line number in the records. Unless --more is given, the \
job's input is then marked whole: once every URL is done, its processes exit."
    )]
    Enqueue(EnqueueArgs),
    /// Look at a job shared through Redis (`fetch --queue`)
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Follow links from seeds within their hosts, robots.txt honoured: one record per page
    #[command(
        after_help = exit_codes::help(),
        long_about = "Follow links from seeds (URLs, files of URLs or stdin, as for `fetch`): \
each page fetched once, its links (a, area, iframe, frame, meta refresh, and the resources \
of link, img, script, source, video, audio, embed) resolved against its <base href> or URL, \
normalised (fragments dropped) and followed within the scope, up to --depth. Each origin's \
robots.txt is fetched first and honoured for the user agent `octopus` (missing: all allowed; \
a server error or no answer: all disallowed, and links to such a host reported broken). A \
page's depth is its shortest known distance from a seed. The sitemaps robots.txt names are \
read only with --follow-sitemaps. Records are those of `fetch` with the depth, the page the \
link was found on and its number of links; every `fetch` option applies to each request.\n\n\
With -o FILE, the crawl's state (every URL seen and the frontier, an SQLite file) is kept in \
FILE.crawl beside FILE, for --resume to continue from; it stays when the crawl ends, and a \
crawl with -o FILE and no --resume starts anew (FILE replaced, FILE.crawl removed). It takes \
about 25 MB for 200,000 pages; delete it once the crawl is done."
    )]
    Crawl(Box<CrawlArgs>),
    /// Reproduce the original benchmark offline: sequential vs octopus vs octopus+cache
    /// against an embedded server on 127.0.0.1 with simulated latency
    Bench(BenchArgs),
    /// Print a shell completion script: `octopus completions bash > /etc/bash_completion.d/octopus`
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `octopus man > octopus.1`; a command's own page with its
    /// options: `octopus man crawl > octopus-crawl.1`
    Man {
        /// The command whose page to print (`fetch`, `crawl` or `bench`); none: octopus(1)
        #[arg(value_parser = ["fetch", "crawl", "bench"])]
        command: Option<String>,
    },
}

#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Number of URLs to retrieve in each run
    #[arg(default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub urls: u64,

    /// Concurrency of the octopus runs (the original's thread count)
    #[arg(default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub threads: u32,

    /// Simulated server latency per request
    #[arg(long, default_value = "100ms", value_name = "DUR", value_parser = parse::duration)]
    pub latency: Duration,

    /// Distinct URLs the cached run draws its URLs from (the original used 13 sites)
    #[arg(long, default_value_t = 13, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub distinct: u64,

    /// Print the results as one JSON object instead of the RESULTS block
    #[arg(long)]
    pub json: bool,
}

/// `octopus crawl`: the fetch options, and what the crawl follows.
#[derive(Debug, Args, Clone)]
pub struct CrawlArgs {
    /// Follow links at most N away from a seed (0: the seeds only)
    #[arg(long, default_value_t = octopus::crawl::DEPTH, value_name = "N")]
    pub depth: u32,

    /// What the crawl follows: the seeds' hosts, their hosts and subdomains, URLs under
    /// the seeds' directories, or anything
    #[arg(long, value_enum, default_value_t = ScopeArg::Host)]
    pub scope: ScopeArg,

    /// Follow only URLs matching this regular expression (repeatable: any of them)
    #[arg(long, value_name = "REGEX")]
    pub include: Vec<String>,

    /// Never follow URLs matching this regular expression (repeatable)
    #[arg(long, value_name = "REGEX")]
    pub exclude: Vec<String>,

    /// Fetch at most N pages
    #[arg(long, value_name = "N")]
    pub max_pages: Option<u64>,

    /// Do not fetch or honour robots.txt, nor its Crawl-delay and sitemaps (the summary
    /// says so)
    #[arg(long)]
    pub ignore_robots: bool,

    /// Follow forms' action URLs too
    #[arg(long)]
    pub follow_forms: bool,

    /// Read this sitemap (a urlset or an index, gzipped or not) and crawl the pages it lists
    /// as seeds, found on the sitemap (repeatable)
    #[arg(long, value_name = "URL")]
    pub sitemap: Vec<String>,

    /// Read the sitemaps robots.txt names too: their pages are links of the site's root
    /// (depth 1), within the scope and --depth
    #[arg(long)]
    pub follow_sitemaps: bool,

    /// Fetch each link out of the scope once (HEAD, then GET if HEAD fails), never
    /// following it
    #[arg(long)]
    pub check_external: bool,

    /// Print a report instead of the records (these still go to -o FILE): `broken`, each
    /// page with its links that failed and their status or error kind
    #[arg(long, value_enum, value_name = "REPORT")]
    pub report: Option<CrawlReport>,

    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// `crawl --report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CrawlReport {
    Broken,
}

/// `--scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    Host,
    Domain,
    Prefix,
    Any,
}

#[derive(Debug, Args, Clone)]
pub struct FetchArgs {
    /// URLs (anything containing `://`), files of URLs (one per line), or `-` for stdin.
    /// With none, URLs are read from stdin.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Number of requests in flight at once
    #[arg(short, long, default_value_t = defaults::CONCURRENCY, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new()
              .range(1..=octopus::MAX_CONCURRENCY as u64))]
    pub concurrency: usize,

    /// Deadline for each whole request: connect, headers, redirects and the full body
    #[arg(long, default_value = show_duration(defaults::TIMEOUT), value_name = "DUR",
          value_parser = parse::duration)]
    pub timeout: Duration,

    /// Deadline for establishing each connection (TCP and TLS)
    #[arg(long, default_value = show_duration(defaults::CONNECT_TIMEOUT), value_name = "DUR",
          value_parser = parse::duration)]
    pub connect_timeout: Duration,

    /// Follow at most N redirects; 0 does not follow them (the 3xx is the result)
    #[arg(long, default_value_t = defaults::MAX_REDIRECTS, value_name = "N")]
    pub max_redirects: u32,

    /// HTTP method (default GET, or POST when --data is given)
    #[arg(short = 'X', long, value_name = "METHOD")]
    pub method: Option<String>,

    /// Extra request header, `Name: value` (repeatable)
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// Request body: a string, or @FILE to send a file's contents
    #[arg(short = 'd', long, value_name = "DATA")]
    pub data: Option<String>,

    /// User-Agent header [default: octopus/VERSION]
    #[arg(short = 'A', long, value_name = "UA")]
    pub user_agent: Option<String>,

    /// Do not verify TLS certificates
    #[arg(short = 'k', long)]
    pub insecure: bool,

    /// Speak HTTP/1.1 only (ALPN offers http/1.1 alone); by default https speaks HTTP/2
    /// where the server chooses it, and requests to one origin share its connections
    #[arg(long = "http1.1", conflicts_with_all = ["http2", "http2_prior_knowledge"])]
    pub http1_1: bool,

    /// Speak HTTP/2 where the server chooses it in the TLS handshake, HTTP/1.1 otherwise
    /// (the default, as curl's --http2)
    #[arg(long)]
    pub http2: bool,

    /// Speak HTTP/2 to plain http servers too, without asking (h2c), for servers known to
    /// speak it; https as --http2
    #[arg(long, conflicts_with = "http2")]
    pub http2_prior_knowledge: bool,

    /// Give every host name its own HTTP/2 connections; by default a name goes on one made
    /// for another name at the same address whose verified certificate covers it too (as
    /// browsers do; a 421 from the server sends the request again on its own)
    #[arg(long)]
    pub no_coalesce: bool,

    /// Trust only the certificate authorities in FILE (PEM), like curl. Without it, the
    /// system's trusted roots (SSL_CERT_FILE and SSL_CERT_DIR override them)
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Client certificate (PEM chain, may include the key) for servers that ask for one
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of --cert, when it is not in the --cert file
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Proxy for every request, as curl's -x: http://, https://, socks4://, socks4a://,
    /// socks5:// or socks5h:// (the proxy resolves names), user:password@ for credentials,
    /// port 1080 by default (443 for https://); '' for none. Without it: http_proxy
    /// (lowercase only), https_proxy, all_proxy and no_proxy, as curl reads them
    /// Given more than once, requests are spread over the proxies (see --proxy-pick), a
    /// proxy that fails is set aside for a while and its requests go to another
    #[arg(short = 'x', long, value_name = "URL")]
    pub proxy: Vec<String>,

    /// Proxies to spread requests over, one URL a line (blank lines and # comments
    /// skipped), with any --proxy
    #[arg(long, value_name = "FILE")]
    pub proxy_file: Option<PathBuf>,

    /// How the next proxy of several is picked: round-robin or random
    #[arg(long, value_name = "HOW", default_value = "round-robin", value_parser = ["round-robin", "random"])]
    pub proxy_pick: String,

    /// Hosts to reach without the proxy, as curl's: comma-separated names (with their
    /// subdomains), addresses and CIDR ranges, or '*' for all (in place of NO_PROXY)
    #[arg(long, value_name = "LIST")]
    pub noproxy: Option<String>,

    /// Trust only the certificate authorities in FILE (PEM) for an https:// proxy
    #[arg(long, value_name = "FILE")]
    pub proxy_cacert: Option<PathBuf>,

    /// Accept any certificate from an https:// proxy
    #[arg(long)]
    pub proxy_insecure: bool,

    /// Tunnel plain http through the proxy with CONNECT too (curl's -p), for proxies that
    /// only tunnel; by default plain http goes to an http:// proxy in absolute-form
    #[arg(short = 'p', long, visible_alias = "proxytunnel")]
    pub proxy_tunnel: bool,

    /// Connect to ADDR for HOST:PORT instead of resolving HOST (like curl), repeatable
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<String>,

    /// Ask the name server at ADDR (port 53 unless given) instead of /etc/resolv.conf's,
    /// repeatable (asked in turn); /etc/hosts and --resolve still come first
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse::dns_server)]
    pub dns_server: Vec<std::net::SocketAddr>,

    /// At most N names looked up at once (the others wait their turn, so a burst of new
    /// names does not overwhelm a name server that drops what it cannot take; fewer while
    /// queries are lost)
    #[arg(long, default_value_t = defaults::DNS_CONCURRENCY, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=100_000))]
    pub dns_concurrency: usize,

    /// Largest body read per URL (e.g. 100MiB, 512k); a larger one is an error record
    #[arg(long, default_value = show_size(defaults::MAX_BODY), value_name = "SIZE",
          value_parser = parse::size)]
    pub max_body: u64,

    /// Statuses that count as success, e.g. `200-299,304`
    #[arg(long, default_value = show_statuses(defaults::OK_STATUS), value_name = "LIST")]
    pub ok_status: String,

    /// How long a response stays in the cache
    #[arg(long, default_value = show_duration(defaults::CACHE_TTL), value_name = "DUR",
          value_parser = parse::duration)]
    pub cache_ttl: Duration,

    /// Most responses kept in the cache
    #[arg(long, default_value_t = defaults::CACHE_SIZE, value_name = "N")]
    pub cache_size: usize,

    /// Fetch every line, even repeats (no cache, no coalescing)
    #[arg(long)]
    pub no_cache: bool,

    /// At most N requests in flight to one host (scheme, host and port)
    #[arg(long, value_name = "N", value_parser = RangedU64ValueParser::<usize>::new().range(1..),
          help_heading = "Politeness")]
    pub per_host: Option<usize>,

    /// At most N requests in flight to URLs starting with PREFIX (repeatable; the first
    /// matching prefix applies)
    #[arg(long = "limit", value_name = "PREFIX=N", help_heading = "Politeness")]
    pub limits: Vec<String>,

    /// At most N request starts per second or minute, overall: `20/s`, `90/m`
    #[arg(long, value_name = "N/s", help_heading = "Politeness")]
    pub rate: Option<String>,

    /// At least DUR between two requests to the same host, from when the last went out
    #[arg(long, value_name = "DUR", value_parser = parse::duration, help_heading = "Politeness")]
    pub delay: Option<Duration>,

    /// How many lines past a waiting one may be looked at for a URL that can start
    #[arg(long, default_value_t = defaults::LOOKAHEAD, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(1..=10_000_000),
          help_heading = "Politeness")]
    pub lookahead: usize,

    /// Retry transport errors, timeouts and --retry-on statuses up to N times
    #[arg(long, default_value_t = defaults::RETRIES, value_name = "N", help_heading = "Retries")]
    pub retries: u32,

    /// Statuses that are retried
    #[arg(long, default_value = show_statuses(defaults::RETRY_ON), value_name = "LIST",
          help_heading = "Retries")]
    pub retry_on: String,

    /// Base of the exponential backoff between retries (with jitter)
    #[arg(long, default_value = show_duration(defaults::RETRY_DELAY), value_name = "DUR",
          value_parser = parse::duration, help_heading = "Retries")]
    pub retry_delay: Duration,

    /// Longest wait before a retry, a server's Retry-After included
    #[arg(long, default_value = show_duration(defaults::MAX_RETRY_WAIT), value_name = "DUR",
          value_parser = parse::duration, help_heading = "Retries")]
    pub max_retry_wait: Duration,

    /// Add the final response's headers to JSON records (`headers`)
    #[arg(long, help_heading = "Content")]
    pub include_headers: bool,

    /// Add the body to JSON records: `body` when it is UTF-8 text, else `body_base64`
    #[arg(long, help_heading = "Content")]
    pub include_body: bool,

    /// Add digests of the body to records: sha256 (the default), or --hash=LIST of sha256,
    /// sha1, sha512, md5
    #[arg(long, value_name = "LIST", num_args = 0..=1, require_equals = true,
          default_missing_value = "sha256", help_heading = "Content")]
    pub hash: Option<String>,

    /// Add the <title> of HTML pages to records (`title`)
    #[arg(long, help_heading = "Content")]
    pub title: bool,

    /// Save bodies under DIR (those with an --ok-status; see --save-all)
    #[arg(long, value_name = "DIR", help_heading = "Content")]
    pub output_dir: Option<PathBuf>,

    /// With --output-dir: save every response's body, whatever its status
    #[arg(long, requires = "output_dir", help_heading = "Content")]
    pub save_all: bool,

    /// With --output-dir: `mirror` (HOST[_PORT]/PATH, like wget -x) or `hash`
    /// (ab/abcdef….body, by SHA-256, each content once)
    #[arg(
        long,
        value_enum,
        default_value = defaults::LAYOUT.name(),
        requires = "output_dir",
        help_heading = "Content"
    )]
    pub layout: LayoutArg,

    /// With --output-dir (mirror layout): do not fetch a URL whose file is already there
    #[arg(long, requires = "output_dir", help_heading = "Content")]
    pub skip_existing: bool,

    /// Archive every exchange (redirects included) into a WARC file: FILE.warc.gz (a gzip
    /// member per record) or FILE.warc (uncompressed); appended to if it exists
    #[arg(long, value_name = "FILE", help_heading = "Content")]
    pub warc: Option<PathBuf>,

    /// With --warc: write numbered files (FILE-00000.warc.gz, …) of at most about SIZE each
    #[arg(long, value_name = "SIZE", value_parser = parse::size, requires = "warc",
          help_heading = "Content")]
    pub warc_max_size: Option<u64>,

    /// Take only shard K of N of the input (1-based), by a stable hash of each URL's host:
    /// N processes with K = 1..N fetch the whole list between them, disjoint
    #[arg(long, value_name = "K/N", help_heading = "Many machines")]
    pub shard: Option<String>,

    /// With --shard: `host` (every URL of a host in one shard) or `url` (spread one host)
    #[arg(
        long,
        value_enum,
        default_value = defaults::SHARD_BY.name(),
        requires = "shard",
        help_heading = "Many machines"
    )]
    pub shard_by: ShardByArg,

    /// Share --per-host, --limit, --rate and --delay with every process using this Redis
    /// (redis://host:port/db): together they never exceed them
    #[arg(long, value_name = "URL", help_heading = "Many machines")]
    pub redis: Option<String>,

    /// With --redis: the namespace of the shared limits (processes share limits when they
    /// use the same one)
    #[arg(
        long,
        value_name = "NAME",
        default_value = defaults::REDIS_PREFIX,
        requires = "redis",
        help_heading = "Many machines"
    )]
    pub redis_prefix: String,

    /// With --redis: how long a dead process's slots stay taken
    #[arg(long, value_name = "DUR", default_value = show_duration(defaults::REDIS_LEASE),
          value_parser = parse::duration, requires = "redis", help_heading = "Many machines")]
    pub redis_lease: Duration,

    /// With --redis: how long Redis may stay unreachable mid-run before the run stops
    /// (exit 75; `--resume` finishes it later)
    #[arg(long, value_name = "DUR", default_value = show_duration(defaults::REDIS_OUTAGE),
          value_parser = parse::duration, requires = "redis", help_heading = "Many machines")]
    pub redis_outage: Duration,

    /// Take part in a job shared through Redis (redis://HOST[:PORT]/JOB). fetch: the first
    /// process given INPUTs feeds them to the job, every process takes batches of it until
    /// it is over. crawl: the frontier and the seen-set are shared, each host fetched by one
    /// process at a time. A dead process's part goes to the living
    #[arg(long, value_name = "URL", help_heading = "Many machines",
          conflicts_with_all = ["shard", "resume", "keep_order"])]
    pub queue: Option<String>,

    /// With --queue: how long a dead process's batches (a crawl's hosts) wait before the
    /// living take them (and how long Redis may stay unreachable before the run stops with
    /// status 75)
    #[arg(long, value_name = "DUR", default_value = show_duration(defaults::QUEUE_LEASE),
          value_parser = parse::duration, requires = "queue", help_heading = "Many machines")]
    pub queue_lease: Duration,

    /// What is reported, where and how.
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `octopus enqueue`.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// The job: redis://HOST[:PORT]/JOB
    #[arg(value_name = "QUEUE")]
    pub queue: String,

    /// URLs, files of URLs, or `-` for stdin (none: stdin)
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// More URLs will be added later: do not mark the job's input whole
    #[arg(long)]
    pub more: bool,
}

/// `octopus queue …`.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Where a job stands: URLs added, pending, done and dead, and whether its input is whole
    Status {
        /// The job: redis://HOST[:PORT]/JOB
        #[arg(value_name = "QUEUE")]
        queue: String,

        /// One JSON object instead of a line of text
        #[arg(long)]
        json: bool,
    },
}

/// `--shard-by`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShardByArg {
    Host,
    Url,
}

/// `--layout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LayoutArg {
    Mirror,
    Hash,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
