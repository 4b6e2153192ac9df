//! Settings by name, for bindings to other languages (the Python package) and
//! configuration files: [`Builder::set`] takes a [`Setting`] and a [`SettingValue`], a
//! value of no Rust type, and converts it to what the table (`table.rs`) says the setting
//! holds. Nothing here is written per setting: a setting added to the table is reachable by
//! name at once.
//!
//! Invariant: a value that does not fit is an [`Error::Setting`] naming the setting and
//! saying what it takes; nothing is set half.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use super::{Builder, Error, Setting};
use crate::capture::{Hash, Layout};
use crate::http::{HttpVersion, ProxyPick};
use crate::input::ShardBy;

/// A setting's value, as a binding or a configuration file gives it ([`Builder::set`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SettingValue {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number (a count, a size in bytes, seconds, a status).
    Int(i64),
    /// A number (seconds, a rate).
    Float(f64),
    /// Text (a name, a URL, a path, an address).
    Text(String),
    /// Bytes (a body, PEM).
    Bytes(Vec<u8>),
    /// Several values: a list, or a tuple (`(name, value)`, `(prefix, n)`, …).
    List(Vec<SettingValue>),
}

impl fmt::Display for SettingValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingValue::Bool(b) => write!(f, "{b}"),
            SettingValue::Int(n) => write!(f, "{n}"),
            SettingValue::Float(x) => write!(f, "{x}"),
            SettingValue::Text(t) => f.write_str(t),
            SettingValue::Bytes(b) => write!(f, "{} bytes", b.len()),
            SettingValue::List(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// A type a setting holds, made from a [`SettingValue`].
pub(crate) trait FromValue: Sized {
    /// What it takes, in words (for errors).
    const TAKES: &'static str;
    fn from_value(value: &SettingValue) -> Option<Self>;
    /// A value it takes (for tests and documentation).
    fn example() -> SettingValue;
}

impl Builder {
    /// Set `setting` to `value`, converted to what the setting holds (a binding's way to
    /// reach every setting by name; in Rust, call the setter). A repeatable setting (a
    /// header, a limit, a `resolve`) takes the whole list and replaces what was set.
    ///
    /// ```
    /// use octopus::{Setting, SettingValue};
    /// let builder = octopus::Octopus::builder()
    ///     .set(Setting::Timeout, SettingValue::Float(2.5))?
    ///     .set(Setting::Header, SettingValue::List(vec![SettingValue::List(vec![
    ///         SettingValue::Text("Accept".into()),
    ///         SettingValue::Text("text/html".into()),
    ///     ])]))?;
    /// assert!(builder.set(Setting::Concurrency, SettingValue::Text("many".into())).is_err());
    /// # Ok::<(), octopus::Error>(())
    /// ```
    pub fn set(mut self, setting: Setting, value: SettingValue) -> Result<Builder, Error> {
        self.assign(setting, &value)
            .map_err(|takes| Error::setting(setting, &value, format!("takes {takes}")))?;
        Ok(self)
    }
}

impl Setting {
    /// The setting named `name` (`connect-timeout`; `connect_timeout` too).
    pub fn from_name(name: &str) -> Option<Setting> {
        let name = name.replace('_', "-");
        Setting::ALL.iter().copied().find(|s| s.name() == name)
    }
}

impl FromValue for bool {
    const TAKES: &'static str = "true or false";
    fn from_value(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn example() -> SettingValue {
        SettingValue::Bool(true)
    }
}

macro_rules! whole_numbers {
    ($($ty:ty),*) => {$(
        impl FromValue for $ty {
            const TAKES: &'static str = "a whole number, 0 or more";
            fn from_value(value: &SettingValue) -> Option<Self> {
                match value {
                    SettingValue::Int(n) => <$ty>::try_from(*n).ok(),
                    _ => None,
                }
            }
            fn example() -> SettingValue {
                SettingValue::Int(2)
            }
        }
    )*};
}
whole_numbers!(u16, u32, u64, usize);

impl FromValue for f64 {
    const TAKES: &'static str = "a number";
    fn from_value(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::Float(x) => Some(*x),
            SettingValue::Int(n) => Some(*n as f64),
            _ => None,
        }
    }
    fn example() -> SettingValue {
        SettingValue::Float(2.5)
    }
}

impl FromValue for Duration {
    const TAKES: &'static str = "a number of seconds, 0 or more";
    fn from_value(value: &SettingValue) -> Option<Self> {
        let seconds = f64::from_value(value)?;
        Duration::try_from_secs_f64(seconds).ok()
    }
    fn example() -> SettingValue {
        SettingValue::Float(1.5)
    }
}

impl FromValue for String {
    const TAKES: &'static str = "text";
    fn from_value(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
    fn example() -> SettingValue {
        SettingValue::Text("octopus-example".into())
    }
}

impl FromValue for Vec<u8> {
    const TAKES: &'static str = "bytes or text";
    fn from_value(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::Bytes(b) => Some(b.clone()),
            SettingValue::Text(t) => Some(t.clone().into_bytes()),
            _ => None,
        }
    }
    fn example() -> SettingValue {
        SettingValue::Bytes(b"example".to_vec())
    }
}

impl FromValue for PathBuf {
    const TAKES: &'static str = "a path";
    fn from_value(value: &SettingValue) -> Option<Self> {
        String::from_value(value).map(PathBuf::from)
    }
    fn example() -> SettingValue {
        // Relative: where it lands is the caller's working directory.
        SettingValue::Text("octopus-example".into())
    }
}

/// Types read from text by parsing.
macro_rules! parsed {
    ($($ty:ty => $takes:literal, $example:literal;)*) => {$(
        impl FromValue for $ty {
            const TAKES: &'static str = $takes;
            fn from_value(value: &SettingValue) -> Option<Self> {
                String::from_value(value)?.parse().ok()
            }
            fn example() -> SettingValue {
                SettingValue::Text($example.into())
            }
        }
    )*};
}
parsed! {
    IpAddr => "an IP address", "127.0.0.1";
    SocketAddr => "an address and port", "127.0.0.1:53";
}

/// Types named by a word.
macro_rules! named {
    ($($ty:ty: $takes:literal [$($variant:expr),*];)*) => {$(
        impl FromValue for $ty {
            const TAKES: &'static str = $takes;
            fn from_value(value: &SettingValue) -> Option<Self> {
                let name = String::from_value(value)?;
                [$($variant),*].into_iter().find(|v| v.name() == name)
            }
            fn example() -> SettingValue {
                let first = [$($variant),*][0];
                SettingValue::Text(first.name().into())
            }
        }
    )*};
}
named! {
    Hash: "sha256, sha1, sha512 or md5" [Hash::Sha256, Hash::Sha1, Hash::Sha512, Hash::Md5];
    Layout: "mirror or hash" [Layout::Mirror, Layout::Hash];
    ShardBy: "host or url" [ShardBy::Host, ShardBy::Url];
    ProxyPick: "round-robin or random" [ProxyPick::RoundRobin, ProxyPick::Random];
    HttpVersion: "auto, 1.1 or 2-prior-knowledge"
        [HttpVersion::Auto, HttpVersion::Http1, HttpVersion::Http2PriorKnowledge];
}

impl FromValue for RangeInclusive<u16> {
    const TAKES: &'static str = "a status or a (first, last) pair of statuses";
    fn from_value(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::List(pair) => {
                let [first, last] = pair.as_slice() else {
                    return None;
                };
                Some(u16::from_value(first)?..=u16::from_value(last)?)
            }
            single => u16::from_value(single).map(|s| s..=s),
        }
    }
    fn example() -> SettingValue {
        SettingValue::List(vec![SettingValue::Int(200), SettingValue::Int(299)])
    }
}

impl<T: FromValue> FromValue for Option<T> {
    const TAKES: &'static str = T::TAKES;
    fn from_value(value: &SettingValue) -> Option<Self> {
        T::from_value(value).map(Some)
    }
    fn example() -> SettingValue {
        T::example()
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    const TAKES: &'static str = "a list";
    fn from_value(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::List(items) => items.iter().map(T::from_value).collect(),
            _ => None,
        }
    }
    fn example() -> SettingValue {
        SettingValue::List(vec![T::example()])
    }
}

impl<A: FromValue, B: FromValue> FromValue for (A, B) {
    const TAKES: &'static str = "a pair";
    fn from_value(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::List(items) => match items.as_slice() {
                [a, b] => Some((A::from_value(a)?, B::from_value(b)?)),
                _ => None,
            },
            _ => None,
        }
    }
    fn example() -> SettingValue {
        SettingValue::List(vec![A::example(), B::example()])
    }
}

impl<A: FromValue, B: FromValue, C: FromValue> FromValue for (A, B, C) {
    const TAKES: &'static str = "a triple";
    fn from_value(value: &SettingValue) -> Option<Self> {
        match value {
            SettingValue::List(items) => match items.as_slice() {
                [a, b, c] => Some((A::from_value(a)?, B::from_value(b)?, C::from_value(c)?)),
                _ => None,
            },
            _ => None,
        }
    }
    fn example() -> SettingValue {
        SettingValue::List(vec![A::example(), B::example(), C::example()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_reachable_by_name_with_a_value_of_its_kind() {
        for &setting in Setting::ALL {
            assert_eq!(Setting::from_name(setting.name()), Some(setting));
            let snake = setting.name().replace('-', "_");
            assert_eq!(Setting::from_name(&snake), Some(setting));
            let example = setting.example();
            let set = Builder::default().set(setting, example.clone());
            assert!(set.is_ok(), "{setting} = {example}: {set:?}");
            assert!(!setting.takes().is_empty());
        }
    }

    #[test]
    fn a_value_of_another_kind_is_refused_saying_what_the_setting_takes() {
        let refused = Builder::default()
            .set(Setting::Timeout, SettingValue::Text("soon".into()))
            .unwrap_err();
        assert_eq!(
            refused.to_string(),
            "timeout 'soon': takes a number of seconds, 0 or more"
        );
        let header = Builder::default().set(Setting::Header, SettingValue::Int(3));
        assert!(header.is_err());
        let status = Builder::default()
            .set(
                Setting::OkStatus,
                SettingValue::List(vec![SettingValue::Int(200), SettingValue::Int(204)]),
            )
            .unwrap();
        assert_eq!(status.ok_status, vec![200..=200, 204..=204]);
    }
}
