//! `octopus completions SHELL` and `octopus man`: generated from the clap definitions in
//! `args.rs`, so they never disagree with `--help`.

use std::io::{self, Write};

use clap::CommandFactory;

use super::args::Cli;
use super::exit_codes;

/// Print the completion script for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell) -> i32 {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "octopus", &mut out);
    print(&out)
}

/// Print the man page (roff) to stdout.
pub fn man_page() -> i32 {
    let mut out = Vec::new();
    match clap_mangen::Man::new(Cli::command()).render(&mut out) {
        Ok(()) => print(&out),
        Err(e) => {
            eprintln!("octopus: cannot render the man page: {e}");
            exit_codes::USAGE
        }
    }
}

fn print(bytes: &[u8]) -> i32 {
    let mut stdout = io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => exit_codes::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => exit_codes::OUTPUT_CLOSED,
        Err(e) => {
            eprintln!("octopus: cannot write: {e}");
            exit_codes::USAGE
        }
    }
}
