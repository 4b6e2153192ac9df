use super::*;
use rcgen::{CertificateParams, KeyPair};

/// A certificate listing `names`, and its chain's digest (any 32 bytes will do here).
fn leaf(names: &[&str], digest: u8) -> (CertificateDer<'static>, Digest) {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(names)
        .unwrap()
        .self_signed(&key)
        .unwrap();
    (cert.der().clone(), [digest; 32])
}

fn name(s: &str) -> ServerName<'static> {
    ServerName::try_from(s.to_string()).unwrap()
}

/// A store that has seen `first` present a chain for `*.a.test`.
fn wildcard(first: &str) -> (Chains<u32>, CertificateDer<'static>, Digest) {
    let chains = Chains::default();
    let (cert, digest) = leaf(&["*.a.test"], 1);
    chains.presented(&name(first), digest, &cert);
    (chains, cert, digest)
}

#[test]
fn a_ticket_goes_to_the_names_its_certificate_covers_once_each() {
    let chains = Chains::<u32>::default();
    let (cert, digest) = leaf(&["*.a.test", "b.test"], 1);
    chains.presented(&name("u1.a.test"), digest, &cert);
    for ticket in 1..=4 {
        assert_eq!(
            chains.file(&name("u1.a.test"), ticket, Some(digest)),
            Ok(())
        );
    }
    assert_eq!(
        chains.take(&name("u2.a.test")),
        Some(4),
        "the wildcard covers it"
    );
    assert_eq!(chains.take(&name("B.test")), Some(3), "listed by name");
    assert_eq!(
        chains.take(&name("x.u2.a.test")),
        None,
        "a wildcard is one label"
    );
    assert_eq!(chains.take(&name("a.test")), None, "nor the parent itself");
    assert_eq!(chains.take(&name("other.test")), None);
    assert_eq!(chains.take(&name("u1.a.test")), Some(2), "its own name");
    assert_eq!(chains.take(&name("u3.a.test")), Some(1));
    assert_eq!(
        chains.take(&name("u4.a.test")),
        None,
        "each ticket taken once"
    );
}

#[test]
fn an_address_resumes_only_a_chain_it_presented_itself() {
    let (chains, cert, digest) = wildcard("u1.a.test");
    assert_eq!(chains.file(&name("u1.a.test"), 1, Some(digest)), Ok(()));
    assert_eq!(chains.take(&name("127.0.0.1")), None);
    chains.presented(&name("127.0.0.1"), digest, &cert);
    assert_eq!(chains.take(&name("127.0.0.1")), Some(1));
}

#[test]
fn the_key_exchange_a_chains_server_chose_is_the_hint_for_the_names_it_covers() {
    let (chains, _, _) = wildcard("u1.a.test");
    assert_eq!(chains.kx(&name("u2.a.test")), None);
    chains.chose(&name("u1.a.test"), None, NamedGroup::X25519);
    assert_eq!(chains.kx(&name("u2.a.test")), Some(NamedGroup::X25519));
    assert_eq!(chains.kx(&name("u2.b.test")), None);
}

#[test]
fn a_chain_keeps_its_newest_tickets() {
    let chains = Chains::<usize>::default();
    let (cert, digest) = leaf(&["a.test"], 1);
    chains.presented(&name("a.test"), digest, &cert);
    for ticket in 0..PER_CHAIN + 10 {
        assert_eq!(chains.file(&name("a.test"), ticket, Some(digest)), Ok(()));
    }
    let mut taken = Vec::new();
    while let Some(ticket) = chains.take(&name("a.test")) {
        taken.push(ticket);
    }
    assert_eq!(taken.len(), PER_CHAIN);
    assert_eq!(taken.last(), Some(&10), "the oldest ten dropped");
    assert_eq!(chains.known().held, 0);
}

#[test]
fn a_name_resumes_its_own_sessions_ticket_first() {
    let (chains, cert, digest) = wildcard("u1.a.test");
    chains.presented(&name("u2.a.test"), digest, &cert);
    assert_eq!(chains.file(&name("u1.a.test"), 1, Some(digest)), Ok(()));
    assert_eq!(chains.file(&name("u2.a.test"), 2, Some(digest)), Ok(()));
    assert_eq!(chains.take(&name("u1.a.test")), Some(1), "not the newer 2");
}

#[test]
fn a_server_that_refuses_other_names_tickets_is_offered_only_their_own() {
    let (chains, cert, digest) = wildcard("u0.a.test");
    for ticket in 0..10 {
        assert_eq!(
            chains.file(&name("u0.a.test"), ticket, Some(digest)),
            Ok(())
        );
    }
    for i in 1..=REFUSALS {
        let other = name(&format!("u{i}.a.test"));
        assert!(chains.take(&other).is_some(), "offered across names");
        // A full handshake followed: the server refused it.
        chains.presented(&other, digest, &cert);
    }
    assert_eq!(chains.take(&name("new.a.test")), None, "no longer offered");
    assert!(
        chains.take(&name("u0.a.test")).is_some(),
        "its own still are"
    );
}

#[test]
fn once_a_server_took_another_names_ticket_its_refusals_do_not_stop_the_offers() {
    let (chains, cert, digest) = wildcard("u0.a.test");
    assert_eq!(chains.file(&name("u0.a.test"), 1, Some(digest)), Ok(()));
    assert_eq!(chains.take(&name("u1.a.test")), Some(1));
    // Resumed: no verification, then the server's new ticket.
    assert_eq!(chains.file(&name("u1.a.test"), 2, Some(digest)), Ok(()));
    for i in 2..=REFUSALS + 2 {
        let other = name(&format!("u{i}.a.test"));
        assert_eq!(chains.file(&name("u0.a.test"), 3, Some(digest)), Ok(()));
        assert!(chains.take(&other).is_some());
        chains.presented(&other, digest, &cert);
    }
    assert!(
        chains.take(&name("new.a.test")).is_some(),
        "refusals after an acceptance: still offered"
    );
}

#[test]
fn a_ticket_is_filed_under_its_own_sessions_chain_or_kept_by_name() {
    let chains = Chains::<u32>::default();
    let (first, one) = leaf(&["*.a.test"], 1);
    let (second, two) = leaf(&["*.a.test"], 2);
    chains.presented(&name("u0.a.test"), one, &first);
    chains.presented(&name("u0.a.test"), two, &second);
    // Its name last presented the second chain; this session had the first.
    assert_eq!(chains.file(&name("u0.a.test"), 1, Some(one)), Ok(()));
    assert_eq!(
        chains.file(&name("u0.a.test"), 2, None),
        Err(2),
        "chain unknown"
    );
    assert_eq!(
        chains.file(&name("u0.a.test"), 3, Some([9; 32])),
        Err(3),
        "never verified"
    );
    let known = chains.known();
    assert_eq!(known.pools[&one].tickets.len(), 1);
    assert!(known.pools[&two].tickets.is_empty());
}

#[test]
fn the_session_being_processed_is_the_one_each_connection_says() {
    let (mut outer, mut inner) = (Some([1; 32]), None);
    let seen = during(&mut outer, || {
        // A TLS connection inside another's (an https proxy's tunnel): each its own.
        during(&mut inner, || {
            assert_eq!(SESSION.get(), None);
            verified([2; 32]);
        });
        SESSION.get()
    });
    assert_eq!(seen, Some([1; 32]));
    assert_eq!(inner, Some([2; 32]), "verified inside: kept");
    assert_eq!(outer, Some([1; 32]));
    assert_eq!(SESSION.get(), None, "nothing left behind");
}
