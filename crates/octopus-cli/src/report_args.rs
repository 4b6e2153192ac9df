//! The flags that decide what a `fetch` run reports, and where: the record format, an output
//! file (a journal `--resume` continues), input order, matchers and filters, statistics, the
//! summary and the progress bar. Flattened into `FetchArgs`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::parse;

#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// Record format: `text` (awk-friendly lines), `json` (JSON Lines), `csv` (a header row,
    /// then a row per record)
    #[arg(
        long,
        value_enum,
        default_value = "text",
        value_name = "FORMAT",
        help_heading = "Output"
    )]
    pub format: FormatArg,

    /// Same as --format json
    #[arg(long, conflicts_with = "format", help_heading = "Output")]
    pub json: bool,

    /// Write records to FILE instead of stdout; FILE is replaced (see --append, --resume)
    #[arg(short, long, value_name = "FILE", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// With -o FILE: add records to the end of FILE instead of replacing it (it must hold
    /// records of the same format)
    #[arg(long, requires = "output", help_heading = "Output")]
    pub append: bool,

    /// With -o FILE in JSON Lines: skip the input lines FILE has a record of, fetch the rest
    /// and append their records (the file is the state; a torn last line is dropped). Files
    /// are recognised however named; stdin by line number: pipe the same list again
    #[arg(long, requires = "output", help_heading = "Output")]
    pub resume: bool,

    /// With --resume: refetch lines whose record is older than DUR
    #[arg(long, value_name = "DUR", value_parser = parse::duration, requires = "resume",
          help_heading = "Output")]
    pub max_age: Option<Duration>,

    /// With --resume: refetch lines whose record is not ok
    #[arg(long, requires = "resume", help_heading = "Output")]
    pub retry_failed: bool,

    /// Print records in input order (later records wait for a slow one, up to a window;
    /// then fetching waits too)
    #[arg(long, help_heading = "Output")]
    pub keep_order: bool,

    /// Add statistics to the summary: latency percentiles and histogram, the percentiles of
    /// each step (lookup, connect, TLS, first byte), statuses, the hosts that failed most
    /// (printed with the summary even with -q, which then hides only the progress bar)
    #[arg(long, help_heading = "Output")]
    pub stats: bool,

    /// No summary and no progress bar on stderr
    #[arg(short, long, help_heading = "Output")]
    pub quiet: bool,

    /// No progress bar (it is shown only when stderr is a terminal)
    #[arg(long, help_heading = "Output")]
    pub no_progress: bool,

    /// Print only records whose status is in LIST, e.g. `200,301-399`
    #[arg(long, value_name = "LIST", help_heading = "Matchers and filters")]
    pub match_status: Option<String>,

    /// Leave out records whose status is in LIST
    #[arg(long, value_name = "LIST", help_heading = "Matchers and filters")]
    pub filter_status: Option<String>,

    /// Print only records whose body size is in RANGE: `1k-64k`, `-100`, `1M-`, `0`
    #[arg(
        long,
        value_name = "RANGE",
        allow_hyphen_values = true,
        help_heading = "Matchers and filters"
    )]
    pub match_size: Option<String>,

    /// Leave out records whose body size is in RANGE
    #[arg(
        long,
        value_name = "RANGE",
        allow_hyphen_values = true,
        help_heading = "Matchers and filters"
    )]
    pub filter_size: Option<String>,

    /// Print only records whose decoded body matches the regular expression RE
    #[arg(
        long,
        value_name = "RE",
        allow_hyphen_values = true,
        help_heading = "Matchers and filters"
    )]
    pub match_regex: Option<String>,

    /// Leave out records whose decoded body matches RE
    #[arg(
        long,
        value_name = "RE",
        allow_hyphen_values = true,
        help_heading = "Matchers and filters"
    )]
    pub filter_regex: Option<String>,

    /// Print only records whose Content-Type starts with TYPE (e.g. `text/html`)
    #[arg(long, value_name = "TYPE", help_heading = "Matchers and filters")]
    pub match_type: Option<String>,

    /// Leave out records whose Content-Type starts with TYPE
    #[arg(long, value_name = "TYPE", help_heading = "Matchers and filters")]
    pub filter_type: Option<String>,

    /// Print only records that are not ok (failed transports and statuses outside
    /// --ok-status)
    #[arg(long, help_heading = "Matchers and filters")]
    pub failed: bool,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Text,
    Json,
    Csv,
}
