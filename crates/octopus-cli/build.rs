//! Which of the tools the full test suite needs besides Rust are on this machine, decided
//! once at build time so that a test without its tool is reported as ignored, with the
//! reason, in `cargo test`'s normal output (a test cannot skip itself at run time: it would
//! be counted as passed). `.ci/run` installs all of them:
//!
//! - `has_warcio`: Python's warcio (in `OCTOPUS_PYTHON`, the workspace's `.venv`, or
//!   `python3`), for the WARC tests;
//! - `has_redis`: `redis-server`, for the shared limits;
//! - `has_groff`: `groff`, to render the man page;
//! - `has_netns`: `unshare -rn` (an empty network namespace inside a user namespace, no
//!   root needed where the system allows it), for the name-resolution failure.
//!
//! Only the tests read these; the binary is the same either way.

use std::path::Path;
use std::process::{Command, Stdio};

fn main() {
    for cfg in ["has_warcio", "has_redis", "has_groff", "has_netns"] {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo::rerun-if-env-changed=OCTOPUS_PYTHON");
    println!("cargo::rerun-if-env-changed=PATH");
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    println!("cargo::rerun-if-changed={}", venv.display());
    let pythons = [
        std::env::var("OCTOPUS_PYTHON").ok(),
        Some(venv.display().to_string()),
    ];
    let pythons = pythons.into_iter().flatten().chain(["python3".to_string()]);
    let found = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut pythons = pythons;
    if pythons.any(|python| found(&python, &["-c", "import warcio"])) {
        println!("cargo::rustc-cfg=has_warcio");
    }
    if found("redis-server", &["--version"]) {
        println!("cargo::rustc-cfg=has_redis");
    }
    if found("groff", &["--version"]) {
        println!("cargo::rustc-cfg=has_groff");
    }
    if found("unshare", &["-rn", "true"]) {
        println!("cargo::rustc-cfg=has_netns");
    }
}
