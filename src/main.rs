//! The `octopus` command line: parse the arguments, run the command, exit with its status.

mod cli;

use clap::Parser;

fn main() {
    let args = cli::args::Cli::parse();
    std::process::exit(cli::run(args));
}
