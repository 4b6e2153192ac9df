//! Run the test crate's SOCKS proxy by itself, for checking it against other clients (curl
//! `--socks4`, `--socks4a`, `--socks5`, `--socks5-hostname`): `cargo run --example
//! socks_proxy [USER PASSWORD]` prints its address and serves until killed; it connects
//! only to loopback addresses, and resolves the name `origin.test` to 127.0.0.1.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let proxy = match args.as_slice() {
        [user, password] => octopus_testserver::SocksProxy::with_credentials(user, password),
        _ => octopus_testserver::SocksProxy::start(),
    };
    let proxy = match proxy {
        Ok(proxy) => proxy,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "cannot start the proxy: {e}");
            std::process::exit(1);
        }
    };
    proxy.name("origin.test", IpAddr::V4(Ipv4Addr::LOCALHOST));
    let url = proxy.url("socks5", None);
    let _ = writeln!(std::io::stdout(), "{}", url.trim_start_matches("socks5://"));
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
