//! The floor under octopus's raw throughput: ureq alone on threads, with nothing of octopus
//! (no scheduler, records, capture or output). Each of N threads takes the next URL of a
//! file and GETs it with one shared agent, reading the body to the end; failures are
//! counted. Used for BENCHMARKS.md ("Why W3 stops at about 20% of wrk"):
//!
//! `cargo run --release --example ureq_floor -- URLS_FILE THREADS`

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(threads)) = (args.next(), args.next()) else {
        return Err("usage: ureq_floor URLS_FILE THREADS".into());
    };
    let threads: usize = threads.parse()?;
    let urls: Arc<Vec<String>> = Arc::new(
        std::fs::read_to_string(file)?
            .lines()
            .map(String::from)
            .collect(),
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .max_idle_connections(threads)
        .max_idle_connections_per_host(threads)
        .build()
        .into();
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (agent, next, urls, failed) = (
                agent.clone(),
                Arc::clone(&next),
                Arc::clone(&urls),
                Arc::clone(&failed),
            );
            std::thread::spawn(move || {
                let mut body = Vec::new();
                while let Some(url) = urls.get(next.fetch_add(1, Ordering::Relaxed)) {
                    body.clear();
                    let read =
                        agent
                            .get(url)
                            .call()
                            .map_err(|e| e.to_string())
                            .and_then(|mut r| {
                                let mut reader = r.body_mut().as_reader();
                                reader.read_to_end(&mut body).map_err(|e| e.to_string())
                            });
                    if read.is_err() {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.join();
    }
    eprintln!(
        "{} URLs, {} failed",
        urls.len(),
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}
