//! `octopus completions SHELL` and `octopus man`: generated from the clap definitions in
//! `args.rs`, so they never disagree with `--help`. The man pages are clap_mangen's sections:
//! octopus(1), with a COMMANDS section of its own naming each command's page, and a page per
//! command with its options (`octopus man crawl` is octopus-crawl(1), as git and cargo name
//! theirs); EXIT STATUS in place of clap_mangen's EXTRA; `code` in help texts becomes bold,
//! and characters outside ASCII become roff escapes (groff warns about raw UTF-8).

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

/// Commands with a man page of their own.
const PAGED: [&str; 3] = ["fetch", "crawl", "bench"];

/// Print the man page (roff) of octopus, or of one of its commands, to stdout.
pub fn man_page(command: Option<&str>) -> i32 {
    match render_man(command) {
        Ok(page) => print(page.as_bytes()),
        Err(e) => {
            eprintln!("octopus: cannot render the man page: {e}");
            exit_codes::USAGE
        }
    }
}

/// The man page of octopus, or of `name`'s command (octopus-NAME(1)), as roff.
fn render_man(name: Option<&str>) -> io::Result<String> {
    let mut command = Cli::command();
    command.build();
    let page = match name {
        Some(name) => {
            let sub = command
                .find_subcommand(name)
                .ok_or_else(|| io::Error::other(format!("no command {name}")))?;
            let title = format!("octopus-{name}");
            sub.clone()
                .name(title.clone())
                .display_name(title)
                .bin_name(format!("octopus {name}"))
                .version(env!("CARGO_PKG_VERSION"))
        }
        None => command.clone(),
    };
    let man = clap_mangen::Man::new(page);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    if name.is_none() {
        out.extend_from_slice(b".SH COMMANDS\n");
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
            let mut about = about.replace('\\', "\\e").replace('-', "\\-");
            if PAGED.contains(&sub.get_name()) {
                about += &format!(" (its options: \\fBoctopus\\-{}\\fR(1))", sub.get_name());
            }
            out.extend_from_slice(format!(".TP\n\\fB{}\\fR\n{about}\n", sub.get_name()).as_bytes());
        }
    }
    out.extend_from_slice(b".SH \"EXIT STATUS\"\n");
    for (code, meaning) in exit_codes::MEANINGS {
        let meaning = meaning.replace('-', "\\-");
        out.extend_from_slice(format!(".TP\n\\fB{code}\\fR\n{meaning}\n").as_bytes());
    }
    man.render_version_section(&mut out)?;
    Ok(roff_polish(&String::from_utf8_lossy(&out)))
}

/// `code` in backticks set in bold; every character outside ASCII as a roff escape.
fn roff_polish(roff: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    for line in roff.lines() {
        let mut bold = false;
        for c in line.chars() {
            match c {
                '`' => {
                    out.push_str(if bold { "\\fR" } else { "\\fB" });
                    bold = !bold;
                }
                c if c.is_ascii() => out.push(c),
                c => out.push_str(&format!("\\[u{:04X}]", u32::from(c))),
            }
        }
        if bold {
            out.push_str("\\fR");
        }
        out.push('\n');
    }
    out
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
