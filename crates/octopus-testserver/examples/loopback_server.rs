//! Run the embedded loopback test server by itself, for trying octopus by hand:
//! `cargo run --release --example loopback_server` prints its base URL and serves until
//! killed. Routes are listed in `src/lib.rs`.

use std::io::Write;

fn main() {
    let server = match octopus_testserver::Server::start() {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "cannot start the server: {e}");
            std::process::exit(1);
        }
    };
    let _ = writeln!(std::io::stdout(), "{}", server.url(""));
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
