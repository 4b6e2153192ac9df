//! The `octopus` command line, built on the `octopus` library's public API alone: arguments
//! (`args.rs`, `report_args.rs`, their parsers in `parse.rs`), settings from them
//! (`settings.rs`), the `fetch` command (`fetch.rs`, with its input in `feed.rs`, its
//! printing in `output/`, its output file and `--resume` in `journal.rs`, `--keep-order` in
//! `order.rs`, and its stopping in `stop.rs`), `crawl` (`crawl.rs`, on the same settings and
//! printers), `bench` (`bench.rs`), shell completions and
//! the man page (`generate.rs`), and exit codes. Everything else is the library's.

mod args;
mod bench;
mod counts;
mod crawl;
mod exit_codes;
mod feed;
mod fetch;
mod generate;
mod hints;
mod journal;
mod order;
mod output;
mod parse;
mod report_args;
mod settings;
mod stop;

use args::{Cli, Command};
use clap::{CommandFactory, Parser};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) => match hints::better(&error, &args) {
            Some(hint) => {
                let usage = Cli::command().render_usage();
                eprintln!("error: {hint}\n\n{usage}\n\nFor more information, try '--help'.");
                std::process::exit(exit_codes::USAGE);
            }
            None => error.exit(),
        },
    };
    std::process::exit(run(cli));
}

/// Run the parsed command line; returns the process exit status.
fn run(cli: Cli) -> i32 {
    match cli.command {
        Some(Command::Fetch(args)) => fetch::fetch(&args),
        Some(Command::Crawl(args)) => crawl::crawl(&args),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Completions { shell }) => generate::completions(shell),
        Some(Command::Man) => generate::man_page(),
        None => fetch::fetch(&cli.fetch),
    }
}
