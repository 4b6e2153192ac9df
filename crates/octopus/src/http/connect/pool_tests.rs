//! The idle store, with connections that only say which they are.

use super::*;

/// A connection that only says which one it is (in its `Debug` form, which the
/// dead-code lint does not count as reading the number).
#[derive(Debug)]
struct Marked(#[allow(dead_code)] u32);

fn marked(n: u32) -> Marked {
    Marked(n)
}

fn resting(n: u32) -> Resting<Marked> {
    Resting {
        transport: marked(n),
        since: Instant::now(),
        peer: None,
    }
}

fn key(authority: &str) -> Key {
    Key {
        tls: false,
        authority: authority.into(),
    }
}

fn parked(max_idle: usize, max_per_host: usize) -> Parked<Marked> {
    Parked::new(max_idle, max_per_host, Budget::new(usize::MAX))
}

const LONG: Duration = Duration::from_secs(60);

fn which(r: Option<Resting<Marked>>) -> Option<String> {
    r.map(|r| format!("{:?}", r.transport))
}

#[test]
fn the_newest_is_handed_out_first_and_only_for_its_key() {
    let p = parked(10, 10);
    p.park(key("a:80"), resting(1));
    p.park(key("a:80"), resting(2));
    p.park(key("b:80"), resting(3));
    assert_eq!(which(p.take(&key("a:80"), LONG)), Some("Marked(2)".into()));
    assert_eq!(which(p.take(&key("a:80"), LONG)), Some("Marked(1)".into()));
    assert!(p.take(&key("a:80"), LONG).is_none());
    let tls = Key {
        tls: true,
        authority: "b:80".into(),
    };
    assert!(p.take(&tls, LONG).is_none(), "TLS and plain are apart");
    assert_eq!(p.lock().count, 1);
}

#[test]
fn the_pool_and_each_host_keep_no_more_than_their_bounds() {
    let p = parked(3, 2);
    p.park(key("a:80"), resting(1));
    p.park(key("a:80"), resting(2));
    p.park(key("a:80"), resting(3));
    p.park(key("b:80"), resting(4));
    p.park(key("c:80"), resting(5));
    assert_eq!(p.lock().count, 3);
    assert_eq!(which(p.take(&key("a:80"), LONG)), Some("Marked(2)".into()));
    assert_eq!(which(p.take(&key("b:80"), LONG)), Some("Marked(4)".into()));
    assert!(p.take(&key("c:80"), LONG).is_none());
}

#[test]
fn pools_sharing_a_budget_replace_within_it_and_keep_the_new_one() {
    let budget = Budget::new(3);
    let one: Parked<Marked> = Parked::new(10, 10, Arc::clone(&budget));
    let two: Parked<Marked> = Parked::new(10, 10, Arc::clone(&budget));
    one.park(key("a:80"), resting(1));
    one.park(key("b:80"), resting(2));
    two.park(key("c:80"), resting(3));
    // The budget is spent: a new one in `one` takes the place of one of its own (a:80's or
    // b:80's, whichever the map holds first), not of `two`'s...
    one.park(key("d:80"), resting(4));
    let kept = [key("a:80"), key("b:80")]
        .iter()
        .filter(|k| one.take(k, LONG).is_some())
        .count();
    assert_eq!(kept, 1, "one of a:80 and b:80 was closed");
    assert_eq!(
        which(one.take(&key("d:80"), LONG)),
        Some("Marked(4)".into())
    );
    assert_eq!(
        which(two.take(&key("c:80"), LONG)),
        Some("Marked(3)".into())
    );
    // ...and one taken out frees a place.
    two.park(key("e:80"), resting(5));
    assert_eq!(
        which(two.take(&key("e:80"), LONG)),
        Some("Marked(5)".into())
    );
    // A pool keeping none has nothing to give up: the new one is closed.
    one.park(key("f:80"), resting(6));
    one.park(key("h:80"), resting(8));
    two.park(key("i:80"), resting(9));
    let three: Parked<Marked> = Parked::new(10, 10, Arc::clone(&budget));
    three.park(key("g:80"), resting(7));
    assert!(three.take(&key("g:80"), LONG).is_none());
    assert_eq!(budget.parked.load(Ordering::SeqCst), 3);
}

#[test]
fn a_list_cycling_over_more_hosts_than_kept_still_reuses_some() {
    // 8 hosts in turn, room for 4: closing the oldest would close each host's connection
    // just before it is wanted (none reused); closing the map's first keeps the others.
    let budget = Budget::new(4);
    let p: Parked<Marked> = Parked::new(10, 10, budget);
    let mut reused = 0;
    for round in 0..10 {
        for host in 0..8 {
            let k = key(&format!("h{host}:80"));
            reused += usize::from(p.take(&k, LONG).is_some());
            p.park(k, resting(round * 8 + host));
        }
    }
    assert!(reused >= 2 * 9, "{reused} reused");
}

#[test]
fn connections_idle_too_long_are_closed_not_handed_out() {
    let p = parked(10, 10);
    p.park(key("a:80"), resting(1));
    p.park(key("a:80"), resting(2));
    p.park(key("b:80"), resting(3));
    assert!(p.take(&key("a:80"), Duration::ZERO).is_none());
    let idle = p.lock();
    assert_eq!(idle.count, 1, "both of a's closed, b's kept");
    assert!(!idle.by_key.contains_key(&key("a:80")));
}
