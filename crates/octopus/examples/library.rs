//! The library's example from the crate docs, as a program: `cargo run --example library`
//! runs it against the embedded loopback server; `cargo run --example library -- URL`
//! against a server of yours (e.g. `http://127.0.0.1:8080`, which must answer `/a` and `/b`).

use std::time::Duration;

use octopus::{Octopus, Response};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the embedded server alive for the whole run when it is used.
    let mut embedded = None;
    let site = match std::env::args().nth(1) {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => embedded
            .insert(octopus_testserver::Server::start()?)
            .url(""),
    };

    // 4 requests in flight; repeats inside 10 s come from the cache;
    // at most 2 requests in flight to URLs under the prefix (the original's limiter).
    let otto = Octopus::builder()
        .concurrency(4)
        .cache_ttl(Duration::from_secs(10))
        .timeout(Duration::from_secs(5))
        .limit(&format!("{site}/"), 2)
        .build()?;

    let handle = |response: &Response| match response.error() {
        None => println!(
            "{} {} {} bytes",
            response.url(),
            response.status().unwrap_or(0),
            response.body().len()
        ),
        Some(failure) => println!("{} failed: {failure}", response.url()),
    };
    otto.enqueue(format!("{site}/a"), handle);
    otto.enqueue(format!("{site}/a"), handle); // served from the cache
    otto.enqueue(format!("{site}/b"), handle);
    otto.wait(); // returns when every handler has run
    Ok(())
}
