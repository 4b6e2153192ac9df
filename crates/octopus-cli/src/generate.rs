//! `octopus completions SHELL` and `octopus man`: generated from the clap definitions in
//! `args.rs`, so they never disagree with `--help`. The man page is clap_mangen's sections,
//! with a COMMANDS section of this page's own (clap_mangen's names a page per command, which
//! are not generated) and EXIT STATUS in place of its EXTRA; `code` in help texts becomes
//! bold, and characters outside ASCII become roff escapes (groff warns about raw UTF-8).

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
    match render_man() {
        Ok(page) => print(page.as_bytes()),
        Err(e) => {
            eprintln!("octopus: cannot render the man page: {e}");
            exit_codes::USAGE
        }
    }
}

/// The man page, as roff.
fn render_man() -> io::Result<String> {
    let command = Cli::command();
    let man = clap_mangen::Man::new(command.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    out.extend_from_slice(b".SH COMMANDS\n");
    for sub in command.get_subcommands() {
        let about = sub.get_about().map(ToString::to_string).unwrap_or_default();
        let about = about.replace('\\', "\\e").replace('-', "\\-");
        out.extend_from_slice(format!(".TP\n\\fB{}\\fR\n{about}\n", sub.get_name()).as_bytes());
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
