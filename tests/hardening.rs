//! Faults and leaks: misbehaving servers, refused redirects, credentials across hosts,
//! name-resolution failure, empty inputs.

mod common;
use common::*;

#[test]
fn credentials_are_not_sent_to_another_host_after_a_redirect() {
    let first = server();
    let other = server();
    let target = other.url("/echo/landed");
    let out = octopus()
        .args([
            first.url(&format!("/redirect-to?url={target}")),
            "-H".into(),
            "Authorization: Bearer SECRET-A".into(),
            "-H".into(),
            "Cookie: session=SECRET-C".into(),
            "-H".into(),
            "Proxy-Authorization: Basic SECRET-P".into(),
            "-H".into(),
            "X-Other: kept".into(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let seen = other
        .last_request("/echo/landed")
        .expect("the redirect was followed");
    assert!(
        !seen.contains("SECRET"),
        "credentials leaked to another host:\n{seen}"
    );
    assert!(seen.to_lowercase().contains("x-other: kept"), "{seen}");
    let asked = first
        .last_request(&format!("/redirect-to?url={target}"))
        .unwrap();
    assert!(
        asked.contains("SECRET-A"),
        "the first host got them: {asked}"
    );
}
