//! The `octopus` command line, built on the `octopus` library's public API alone: arguments
//! (`args.rs`, `report_args.rs`, their parsers in `parse.rs`), settings from them
//! (`settings.rs`), the `fetch` command (`fetch.rs`, with its input in `feed.rs`, its
//! printing in `output/`, its output file and `--resume` in `journal.rs`, `--keep-order` in
//! `order.rs`, its part in a job shared through Redis and `enqueue` and `queue status` in
//! `queue.rs`, and its stopping in `stop.rs`), `crawl` (`crawl.rs`, on the same settings and
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
mod queue;
mod report_args;
mod settings;
mod stop;

use args::{Cli, Command, QueueCommand};
use clap::{CommandFactory, Parser};

fn main() {
    let args = subcommand_first(std::env::args().collect());
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

/// The command line with its subcommand moved before the options given ahead of it
/// (`octopus --json crawl URL` read as `octopus crawl --json URL`), as git and cargo take
/// options anywhere: every option of the top level is also the subcommands'. Only the first
/// word that is no option nor an option's value is looked at: a URL or a file there means
/// `fetch` with no subcommand named.
fn subcommand_first(mut args: Vec<String>) -> Vec<String> {
    // The usual line (`octopus crawl …`, `octopus URL`) has nothing to move: no need to
    // build the command's definition twice.
    if !args
        .get(1)
        .is_some_and(|first| first.starts_with('-') && first != "-")
    {
        return args;
    }
    let command = Cli::command();
    let mut at = 1;
    while let Some(arg) = args.get(at) {
        if arg == "--" || arg == "-" {
            break;
        }
        let takes_value = |found: Option<&clap::Arg>| {
            found.is_some_and(|a| {
                a.get_action().takes_values()
                    && !a.is_require_equals_set()
                    && a.get_num_args().is_none_or(|n| n.min_values() > 0)
            })
        };
        if let Some(long) = arg.strip_prefix("--") {
            let found = command.get_arguments().find(|a| a.get_long() == Some(long));
            at += 1 + usize::from(takes_value(found));
        } else if let Some(shorts) = arg.strip_prefix('-') {
            // A cluster (`-kc 5`): a short flag that takes a value takes the rest, or the
            // next word when it is the last.
            let mut next = 1;
            for (i, c) in shorts.char_indices() {
                let found = command.get_arguments().find(|a| a.get_short() == Some(c));
                if takes_value(found) {
                    next += usize::from(i + c.len_utf8() == shorts.len());
                    break;
                }
            }
            at += next;
        } else {
            let named = command
                .get_subcommands()
                .any(|s| s.get_name() == arg || s.get_all_aliases().any(|a| a == arg));
            if named && at > 1 {
                let subcommand = args.remove(at);
                args.insert(1, subcommand);
            }
            break;
        }
    }
    args
}

/// Run the parsed command line; returns the process exit status.
fn run(cli: Cli) -> i32 {
    match cli.command {
        Some(Command::Fetch(args)) => fetch::fetch(&args),
        Some(Command::Crawl(args)) => crawl::crawl(&args),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Enqueue(args)) => queue::enqueue(&args),
        Some(Command::Queue {
            command: QueueCommand::Status { queue, json },
        }) => queue::status(&queue, json),
        Some(Command::Completions { shell }) => generate::completions(shell),
        Some(Command::Man { command }) => generate::man_page(command.as_deref()),
        None => fetch::fetch(&cli.fetch),
    }
}
