//! The flags' small languages, read and written: durations (`10s`, `1m30s`, `1.5`), sizes
//! (`100MiB`, `512k`), status lists (`200-299,304`), digests (`sha256,md5`), shards (`K/N`),
//! rates (`20/s`, `90/m`), prefix limits (`PREFIX=N`), headers (`Name: value`) and curl's
//! `HOST:PORT:ADDR`. Each error names the flag and what was expected; nothing here reads a
//! file or the network. The `show_*` functions write a library default the way its flag
//! reads it, for `--help`.
//!
//! A leaf: the flag definitions (`args.rs`), the settings (`settings.rs`) and the record
//! selection (`output/select.rs`) all use it.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use octopus::Hash;

/// A duration such as `10s`, `250ms`, `1m30s`; a bare number means seconds. At most 365
/// days (the library's `MAX_DURATION`).
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(format!(
            "'{s}': a duration cannot be negative (write it as 10s, 250ms, 1m30s)"
        ));
    }
    let bad = || format!("'{s}' is not a duration: write it as 10s, 250ms, 1m30s or 2.5 (seconds)");
    let parsed = match s.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => {
            Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
        }
        Ok(_) => return Err(bad()),
        Err(_) => humantime::parse_duration(s).map_err(|_| bad())?,
    };
    if parsed > octopus::MAX_DURATION {
        return Err(format!("'{s}' is too long (at most 365 days)"));
    }
    Ok(parsed)
}

/// A duration as `duration` reads it: `10s`, `1m`, `100ms`.
pub fn show_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A byte size such as `100MiB`, `10M`, `512k`, `1024` (k/M/G are 1024-based, like curl).
pub fn size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size (e.g. 100MiB, 512k, 1024)"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(format!("'{s}': unknown size unit '{unit}' (use k, M or G)")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("'{s}' is too large"))
}

/// A size as `size` reads it, in the largest unit that divides it: `100MiB`, `512KiB`.
pub fn show_size(bytes: u64) -> String {
    let units = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    match units
        .iter()
        .find(|(unit, _)| bytes > 0 && bytes % unit == 0)
    {
        Some((unit, name)) => format!("{}{name}", bytes / unit),
        None => bytes.to_string(),
    }
}

/// `200-299, 304, 4xx`: inclusive ranges of statuses, a class `Nxx` for N00-N99 (their
/// bounds are the builder's to check).
pub fn statuses(flag: &str, s: &str) -> Result<Vec<RangeInclusive<u16>>, String> {
    let bad = |part: &str| {
        format!("{flag} '{s}': '{part}' is not a status, a range like 200-299 or a class like 2xx")
    };
    let mut ranges = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(class) = part.strip_suffix("xx").or_else(|| part.strip_suffix("XX")) {
            let class: u16 = class.parse().map_err(|_| bad(part))?;
            if !(1..=9).contains(&class) {
                return Err(bad(part));
            }
            ranges.push(class * 100..=class * 100 + 99);
            continue;
        }
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let lo: u16 = lo.trim().parse().map_err(|_| bad(part))?;
        let hi: u16 = hi.trim().parse().map_err(|_| bad(part))?;
        ranges.push(lo..=hi);
    }
    if ranges.is_empty() {
        return Err(bad(s));
    }
    Ok(ranges)
}

/// Status ranges as `statuses` reads them: `429,500-599`.
pub fn show_statuses(ranges: &[RangeInclusive<u16>]) -> String {
    let shown: Vec<String> = ranges
        .iter()
        .map(|r| match r.start() == r.end() {
            true => r.start().to_string(),
            false => format!("{}-{}", r.start(), r.end()),
        })
        .collect();
    shown.join(",")
}

/// `sha256,md5`: digest names.
pub fn hashes(list: &str) -> Result<Vec<Hash>, String> {
    list.split(',')
        .filter(|name| !name.trim().is_empty())
        .map(|name| {
            Hash::from_name(name).ok_or_else(|| {
                format!("--hash '{list}': '{name}' is not one of sha256, sha1, sha512, md5")
            })
        })
        .collect()
}

/// `K/N`: shard K of N, 1 <= K <= N.
pub fn shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || format!("--shard '{s}': expected K/N with 1 <= K <= N, e.g. 2/5");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    match (1..=n).contains(&k) {
        true => Ok((k, n)),
        false => Err(bad()),
    }
}

/// `N/s`, `N/m` (or a bare `N`, per second), as starts per second.
pub fn rate(s: &str) -> Result<f64, String> {
    let bad = || {
        format!(
            "--rate '{s}': expected a number of requests per second or minute, e.g. 20/s or 90/m"
        )
    };
    let (n, per) = s.split_once('/').unwrap_or((s, "s"));
    let n: f64 = n.trim().parse().map_err(|_| bad())?;
    let per_second = match per.trim() {
        "s" | "sec" | "second" => n,
        "m" | "min" | "minute" => n / 60.0,
        _ => return Err(bad()),
    };
    if !per_second.is_finite() || per_second <= 0.0 {
        return Err(bad());
    }
    if per_second < 1.0 / octopus::MAX_DURATION.as_secs_f64() {
        return Err(format!(
            "--rate '{s}': too slow (at least one request a year)"
        ));
    }
    Ok(per_second)
}

/// `PREFIX=N`.
pub fn prefix_limit(s: &str) -> Result<(&str, usize), String> {
    let bad = || format!("--limit '{s}': expected PREFIX=N, e.g. http://a.example/=2");
    let (prefix, n) = s.rsplit_once('=').ok_or_else(bad)?;
    let max: usize = n.trim().parse().map_err(|_| bad())?;
    if prefix.is_empty() || max == 0 {
        return Err(bad());
    }
    Ok((prefix, max))
}

/// `Name: value` (the builder checks what a header may hold).
pub fn header(s: &str) -> Result<(&str, &str), String> {
    s.split_once(':')
        .ok_or_else(|| format!("--header '{s}': expected 'Name: value'"))
}

/// curl's `HOST:PORT:ADDR` (ADDR may be a bracketed IPv6 address).
pub fn resolve_rule(s: &str) -> Result<(&str, u16, IpAddr), String> {
    let bad =
        || format!("--resolve '{s}': expected HOST:PORT:ADDR, e.g. example.com:443:127.0.0.1");
    let (host, rest) = s.split_once(':').ok_or_else(bad)?;
    let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    let addr: IpAddr = addr.parse().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host, port, addr))
}

/// `ADDR` or `ADDR:PORT` of a name server (`[::1]:5353` for IPv6 with a port); port 53
/// unless given.
pub fn dns_server(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("'{s}' is not an address: write 10.0.0.2, 10.0.0.2:5353 or [::1]:53"))
}

/// The edit distance between `a` and `b` (insertions, deletions, substitutions), for
/// suggestions.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb))
                .min(above + 1)
                .min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(duration("-1").is_err());
        assert!(duration("soon").is_err());
        assert!(duration("99999999999999999999y").is_err());
        for huge in ["1e30", "1e19", "366d"] {
            let e = duration(huge).unwrap_err();
            assert!(e.contains("too long"), "{huge}: {e}");
        }
        assert_eq!(duration("365d"), Ok(octopus::MAX_DURATION));
    }

    #[test]
    fn dns_servers() {
        assert_eq!(dns_server("10.0.0.2"), Ok("10.0.0.2:53".parse().unwrap()));
        assert_eq!(
            dns_server("127.0.0.1:5353"),
            Ok("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(dns_server("[::1]:54"), Ok("[::1]:54".parse().unwrap()));
        assert_eq!(dns_server("::1"), Ok("[::1]:53".parse().unwrap()));
        assert!(
            dns_server("dns.example")
                .unwrap_err()
                .contains("not an address")
        );
    }

    #[test]
    fn distances() {
        assert_eq!(distance("fecth", "fetch"), 2);
        assert_eq!(distance("fetch", "fetch"), 0);
        assert_eq!(distance("bnch", "bench"), 1);
        assert!(distance("urls.txt", "fetch") > 2);
    }

    #[test]
    fn durations_say_how_to_write_them() {
        let e = duration("abc").unwrap_err();
        assert!(e.contains("10s") && !e.contains("at 0"), "{e}");
        assert!(duration("-1s").unwrap_err().contains("cannot be negative"));
    }

    #[test]
    fn sizes() {
        assert_eq!(size("100MiB"), Ok(100 << 20));
        assert_eq!(size("512k"), Ok(512 << 10));
        assert_eq!(size("1024"), Ok(1024));
        assert!(size("12 parsecs").is_err());
        assert!(size("x").is_err());
    }

    #[test]
    fn what_is_shown_reads_back_the_same() {
        for d in [100, 1000, 30_000, 60_000, 90_500].map(Duration::from_millis) {
            assert_eq!(duration(&show_duration(d)), Ok(d), "{}", show_duration(d));
        }
        for n in [
            0,
            1,
            1023,
            1024,
            512 << 10,
            100 << 20,
            3 << 30,
            (1 << 20) + 1,
        ] {
            assert_eq!(size(&show_size(n)), Ok(n), "{}", show_size(n));
        }
        assert_eq!(show_size(100 << 20), "100MiB");
        let ranges = vec![429..=429, 500..=599];
        assert_eq!(show_statuses(&ranges), "429,500-599");
        assert_eq!(statuses("--retry-on", &show_statuses(&ranges)), Ok(ranges));
    }

    #[test]
    fn status_lists() {
        let r = statuses("--ok-status", "200-299, 304").unwrap();
        assert_eq!(r, vec![200..=299, 304..=304]);
        let r = statuses("--match-status", "2xx,404,5XX").unwrap();
        assert_eq!(r, vec![200..=299, 404..=404, 500..=599]);
        for bad in ["", "abc", "200-", "70000", "xx", "0xx", "12xx"] {
            assert!(statuses("--ok-status", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards() {
        assert_eq!(shard("2/5"), Ok((2, 5)));
        assert_eq!(shard("1/1"), Ok((1, 1)));
        for bad in ["0/3", "4/3", "2", "a/b", "2/0"] {
            assert!(shard(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_lists() {
        assert_eq!(hashes("sha256,MD5"), Ok(vec![Hash::Sha256, Hash::Md5]));
        assert!(hashes("sha256,crc").unwrap_err().contains("crc"));
    }

    #[test]
    fn rates_limits_headers_and_resolve_rules() {
        assert_eq!(rate("20/s"), Ok(20.0));
        assert_eq!(rate("90/m"), Ok(1.5));
        assert_eq!(rate("5"), Ok(5.0));
        assert!(rate("0/s").is_err());
        assert!(rate("x/h").is_err());
        assert!(rate("1e-19/s").unwrap_err().contains("too slow"));
        assert!(rate("1/m").is_ok());
        assert_eq!(
            prefix_limit("http://a.example/x=2"),
            Ok(("http://a.example/x", 2))
        );
        assert!(prefix_limit("http://a/=0").is_err());
        assert!(prefix_limit("nolimit").is_err());
        assert_eq!(header("Accept: */*"), Ok(("Accept", " */*")));
        assert!(header("Accept").is_err());
        let (host, port, _) = resolve_rule("Example.com:443:127.0.0.1").unwrap();
        assert_eq!((host, port), ("Example.com", 443));
        let (_, _, v6) = resolve_rule("h:80:[::1]").unwrap();
        assert_eq!(v6, "::1".parse::<IpAddr>().unwrap());
        for bad in ["h:80", "h:x:127.0.0.1", ":80:127.0.0.1", "h:80:nothost"] {
            assert!(resolve_rule(bad).is_err(), "{bad}");
        }
    }
}
