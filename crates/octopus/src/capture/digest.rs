//! Digests of response bodies: SHA-256 (the default), SHA-1, SHA-512 and MD5, computed as the
//! body streams through, in lower-case hex.

use std::fmt::Write as _;

use sha2::Digest as _;

/// A digest algorithm for [`crate::Builder::hashes`] and [`crate::Response::hash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Hash {
    /// SHA-256, the default (`sha256`).
    Sha256,
    /// SHA-1 (`sha1`), for lists that still name files by it.
    Sha1,
    /// SHA-512 (`sha512`).
    Sha512,
    /// MD5 (`md5`), for lists that still name files by it; not for security.
    Md5,
}

impl Hash {
    /// Every algorithm, in the order records list them.
    pub const ALL: [Hash; 4] = [Hash::Sha256, Hash::Sha1, Hash::Sha512, Hash::Md5];

    /// The algorithm's name: the record's field (`sha256`, `sha1`, `sha512`, `md5`).
    pub fn name(self) -> &'static str {
        match self {
            Hash::Sha256 => "sha256",
            Hash::Sha1 => "sha1",
            Hash::Sha512 => "sha512",
            Hash::Md5 => "md5",
        }
    }

    /// The algorithm of that name (any case, `sha-256` too), if octopus has it.
    pub fn from_name(name: &str) -> Option<Hash> {
        let name = name.trim().to_ascii_lowercase().replace('-', "");
        Hash::ALL.into_iter().find(|h| h.name() == name)
    }
}

/// A digest being computed.
pub(crate) enum Digester {
    Sha256(sha2::Sha256),
    Sha1(sha1::Sha1),
    Sha512(sha2::Sha512),
    Md5(md5::Md5),
}

impl Digester {
    pub fn new(hash: Hash) -> Digester {
        match hash {
            Hash::Sha256 => Digester::Sha256(sha2::Sha256::new()),
            Hash::Sha1 => Digester::Sha1(sha1::Sha1::new()),
            Hash::Sha512 => Digester::Sha512(sha2::Sha512::new()),
            Hash::Md5 => Digester::Md5(md5::Md5::new()),
        }
    }

    pub fn hash(&self) -> Hash {
        match self {
            Digester::Sha256(_) => Hash::Sha256,
            Digester::Sha1(_) => Hash::Sha1,
            Digester::Sha512(_) => Hash::Sha512,
            Digester::Md5(_) => Hash::Md5,
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Digester::Sha256(d) => d.update(bytes),
            Digester::Sha1(d) => d.update(bytes),
            Digester::Sha512(d) => d.update(bytes),
            Digester::Md5(d) => d.update(bytes),
        }
    }

    /// The digest in lower-case hex.
    pub fn finish(self) -> String {
        match self {
            Digester::Sha256(d) => hex(&d.finalize()),
            Digester::Sha1(d) => hex(&d.finalize()),
            Digester::Sha512(d) => hex(&d.finalize()),
            Digester::Md5(d) => hex(&d.finalize()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_of_abc() {
        let digest = |hash| {
            let mut d = Digester::new(hash);
            d.update(b"a");
            d.update(b"bc");
            d.finish()
        };
        assert_eq!(
            digest(Hash::Sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            digest(Hash::Sha1),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(digest(Hash::Md5), "900150983cd24fb0d6963f7d28e17f72");
        assert!(digest(Hash::Sha512).starts_with("ddaf35a193617aba"));
        assert_eq!(Hash::from_name("SHA-256"), Some(Hash::Sha256));
        assert_eq!(Hash::from_name("crc32"), None);
    }
}
