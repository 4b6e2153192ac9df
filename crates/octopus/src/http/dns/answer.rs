//! What a server's responses said of a name: each response read (`Answer::of`), and the
//! `A` and `AAAA` answers taken together (`Answer::combine`).

use std::net::IpAddr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RData;

use super::DnsError;

/// What a server said of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Said {
    /// Its addresses (IPv6 first: connecting races the families, `connect.rs`), and how
    /// long they may be kept.
    Addresses(Vec<IpAddr>, Duration),
    /// The name does not exist (NXDOMAIN), for this long.
    NoSuchName(Duration),
    /// The name exists with no address (NODATA), for this long.
    NoAddress(Duration),
}

/// Negative answers are kept this long when the server names no SOA minimum.
const NEGATIVE_TTL: Duration = Duration::from_secs(30);

/// What one response said.
#[derive(Debug)]
pub(super) struct Answer {
    /// The server failed to answer this query (SERVFAIL, REFUSED, …), as it named it.
    failed: Option<String>,
    no_such_name: bool,
    addresses: Vec<IpAddr>,
    /// The smallest TTL of the addresses, or the SOA minimum of a negative answer.
    ttl: Duration,
}

impl Answer {
    pub fn of(message: &Message) -> Answer {
        let addresses: Vec<(IpAddr, u32)> = message
            .answers
            .iter()
            .filter_map(|record| match &record.data {
                RData::A(a) => Some((IpAddr::V4(a.0), record.ttl)),
                RData::AAAA(aaaa) => Some((IpAddr::V6(aaaa.0), record.ttl)),
                _ => None,
            })
            .collect();
        let soa_minimum = message
            .authorities
            .iter()
            .find_map(|record| match &record.data {
                RData::SOA(soa) => {
                    Some(Duration::from_secs(u64::from(soa.minimum.min(record.ttl))))
                }
                _ => None,
            });
        let ttl = match addresses.iter().map(|(_, ttl)| *ttl).min() {
            Some(ttl) => Duration::from_secs(u64::from(ttl)),
            None => soa_minimum.unwrap_or(NEGATIVE_TTL),
        };
        let code = message.metadata.response_code;
        Answer {
            failed: match code {
                ResponseCode::NoError | ResponseCode::NXDomain => None,
                other => Some(name_of(other)),
            },
            no_such_name: code == ResponseCode::NXDomain,
            addresses: addresses.into_iter().map(|(addr, _)| addr).collect(),
            ttl,
        }
    }

    /// The `A` and `AAAA` answers as one: addresses if either had some (IPv6 first, as
    /// RFC 6724 orders them; connecting races the families; a family the server failed to
    /// answer is passed over, as the C library does); else a failure of the server; else
    /// what the answers agree on; none at all is no answer.
    pub fn combine(answers: [Option<Answer>; 2]) -> Result<Said, DnsError> {
        let [v4, v6] = answers;
        let got: Vec<&Answer> = [&v6, &v4].into_iter().flatten().collect();
        if got.is_empty() {
            return Err(DnsError::NoAnswer { tries: 1 });
        }
        let ttl = got.iter().map(|a| a.ttl).min().unwrap_or(NEGATIVE_TTL);
        let addresses: Vec<IpAddr> = got.iter().flat_map(|a| a.addresses.clone()).collect();
        if !addresses.is_empty() {
            return Ok(Said::Addresses(addresses, ttl));
        }
        if let Some(code) = got.iter().find_map(|a| a.failed.clone()) {
            return Err(DnsError::ServerFailed(code));
        }
        if got.iter().any(|a| a.no_such_name) {
            return Ok(Said::NoSuchName(ttl));
        }
        // Both families asked and answered with nothing: the name has no address. One
        // family only: the other may yet have some (it was not heard in time).
        match got.len() {
            2 => Ok(Said::NoAddress(ttl)),
            _ => Err(DnsError::NoAnswer { tries: 1 }),
        }
    }
}

/// A response code as DNS people write it.
fn name_of(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".to_string(),
        ResponseCode::Refused => "REFUSED".to_string(),
        ResponseCode::FormErr => "FORMERR".to_string(),
        ResponseCode::NotImp => "NOTIMP".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(no_such_name: bool, addresses: &[&str], ttl: u64) -> Option<Answer> {
        Some(Answer {
            failed: None,
            no_such_name,
            addresses: addresses.iter().map(|a| a.parse().unwrap()).collect(),
            ttl: Duration::from_secs(ttl),
        })
    }

    #[test]
    fn the_two_answers_combine() {
        let both = Answer::combine([
            answer(false, &["10.0.0.1"], 60),
            answer(false, &["::1"], 30),
        ]);
        let addrs = vec!["::1".parse().unwrap(), "10.0.0.1".parse().unwrap()];
        assert_eq!(
            both.unwrap(),
            Said::Addresses(addrs, Duration::from_secs(30))
        );
        let missing = Answer::combine([answer(true, &[], 5), answer(true, &[], 9)]);
        assert_eq!(missing.unwrap(), Said::NoSuchName(Duration::from_secs(5)));
        let empty = Answer::combine([answer(false, &[], 7), answer(false, &[], 7)]);
        assert_eq!(empty.unwrap(), Said::NoAddress(Duration::from_secs(7)));
        // One family heard, empty: the other may have addresses.
        assert!(Answer::combine([answer(false, &[], 7), None]).is_err());
        let one = Answer::combine([answer(false, &["10.0.0.1"], 60), None]).unwrap();
        assert!(matches!(one, Said::Addresses(a, _) if a.len() == 1));
        // A family refused: the other's addresses still count; both refused is a failure.
        let refused = || {
            let mut a = answer(false, &[], 0);
            if let Some(a) = a.as_mut() {
                a.failed = Some("REFUSED".into());
            }
            a
        };
        let partly = Answer::combine([answer(false, &["10.0.0.1"], 60), refused()]).unwrap();
        assert!(matches!(partly, Said::Addresses(..)));
        let failed = Answer::combine([refused(), refused()]).unwrap_err();
        assert_eq!(failed, DnsError::ServerFailed("REFUSED".into()));
    }
}
