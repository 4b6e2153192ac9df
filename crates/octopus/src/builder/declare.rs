//! `settings!`: the builder's settings declared once each (the table is `table.rs`).
//!
//! An entry is its documentation, then
//!
//! ```text
//! KIND setter: TYPE [= DEFAULT] [=> Variant "name" [, check CHECK]];
//! ```
//!
//! and the macro makes of it the `Builder` field (named after the setter) with its default
//! (`Default::default()` when none is written), the setter with that documentation, and,
//! when a `Setting` is named, that variant of [`Setting`](crate::Setting) with its name and,
//! when a check is named, the check that `Builder::build` runs before anything else.
//!
//! KIND says what the setter takes and how the field holds it:
//!
//! | kind | field | setter takes | check sees |
//! |---|---|---|---|
//! | `set` | `TYPE` | `TYPE` | the value |
//! | `some` | `Option<TYPE>` | `TYPE` | the value, when set |
//! | `into` | `Option<TYPE>` | `impl Into<TYPE>` | the value, when set |
//! | `text` | `Option<String>` (TYPE is `String`) | `&str` | the value, when set |
//! | `list` | `Vec<TYPE>` | `impl IntoIterator<Item = TYPE>` | the list |
//! | `field` | `TYPE` | (a setter written by hand in `mod.rs`) | the value |
//!
//! A check is a function of `checks.rs`, `fn(&T) -> Result<(), Refused>`: it sees the value
//! and says why it is refused.

/// See the module documentation.
macro_rules! settings {
    (
        $(
            $(#[$doc:meta])*
            $kind:ident $setter:ident : $ty:ty $(= $default:expr)?
            $(=> $variant:ident $name:literal $(, check $check:path)?)?;
        )*
    ) => {
        /// Settings for an [`Octopus`](crate::Octopus); [`Builder::build`] checks them all
        /// and starts it. The defaults are in [`defaults`](crate::defaults); the rest
        /// starts unset (no cache, no limits, no proxy but the environment's, …).
        #[derive(Debug, Clone, PartialEq)]
        pub struct Builder {
            $( pub(super) $setter: settings!(@field $kind $ty), )*
        }

        impl Default for Builder {
            fn default() -> Self {
                Builder {
                    $( $setter: settings!(@default $($default)?), )*
                }
            }
        }

        impl Builder {
            $( settings!(@setter $kind $setter $ty; $(#[$doc])*); )*

            /// Set `setting`'s field to `value` ([`Builder::set`]); `Err`: what it takes.
            pub(super) fn assign(
                &mut self,
                setting: Setting,
                value: &$crate::builder::by_name::SettingValue,
            ) -> Result<(), &'static str> {
                use $crate::builder::by_name::FromValue;
                match setting {
                    $( $(
                        Setting::$variant => {
                            self.$setter = FromValue::from_value(value)
                                .ok_or(<settings!(@field $kind $ty) as FromValue>::TAKES)?;
                        }
                    )? )*
                }
                Ok(())
            }

            /// Every setting's own check, in the table's order: the first refused, with
            /// which setting it is.
            pub(super) fn refused(&self) -> Result<(), (Setting, $crate::builder::checks::Refused)> {
                $( $( $(
                    settings!(@check $kind self.$setter, $check)
                        .map_err(|refused| (Setting::$variant, refused))?;
                )? )? )*
                Ok(())
            }
        }

        /// A builder setting, as named in [`Error::Setting`](crate::Error::Setting). The
        /// names are the command line's flags: `timeout`, `connect-timeout`, `header`, …
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub enum Setting {
            $( $(
                #[doc = concat!("[`Builder::", stringify!($setter), "`](crate::Builder::", stringify!($setter), ")")]
                $variant,
            )? )*
        }

        impl Setting {
            /// Every setting, in the builder's order.
            pub const ALL: &[Setting] = &[ $( $( Setting::$variant, )? )* ];

            /// The setting's name in kebab case, e.g. `connect-timeout`.
            pub fn name(self) -> &'static str {
                match self {
                    $( $( Setting::$variant => $name, )? )*
                }
            }

            /// What the setting takes by name ([`Builder::set`]), in words: `a number of
            /// seconds, 0 or more`, `a list`, …
            pub fn takes(self) -> &'static str {
                use $crate::builder::by_name::FromValue;
                match self {
                    $( $( Setting::$variant => <settings!(@field $kind $ty) as FromValue>::TAKES, )? )*
                }
            }

            /// A value the setting takes by name ([`Builder::set`]): for tests and
            /// documentation.
            pub fn example(self) -> $crate::builder::by_name::SettingValue {
                use $crate::builder::by_name::FromValue;
                match self {
                    $( $( Setting::$variant => <settings!(@field $kind $ty) as FromValue>::example(), )? )*
                }
            }
        }

        impl std::fmt::Display for Setting {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }
    };

    (@field set $ty:ty) => { $ty };
    (@field field $ty:ty) => { $ty };
    (@field some $ty:ty) => { Option<$ty> };
    (@field into $ty:ty) => { Option<$ty> };
    (@field text $ty:ty) => { Option<$ty> };
    (@field list $ty:ty) => { Vec<$ty> };

    (@default) => { Default::default() };
    (@default $default:expr) => { $default };

    (@setter set $setter:ident $ty:ty; $(#[$doc:meta])*) => {
        $(#[$doc])*
        pub fn $setter(mut self, value: $ty) -> Self {
            self.$setter = value;
            self
        }
    };
    (@setter some $setter:ident $ty:ty; $(#[$doc:meta])*) => {
        $(#[$doc])*
        pub fn $setter(mut self, value: $ty) -> Self {
            self.$setter = Some(value);
            self
        }
    };
    (@setter into $setter:ident $ty:ty; $(#[$doc:meta])*) => {
        $(#[$doc])*
        pub fn $setter(mut self, value: impl Into<$ty>) -> Self {
            self.$setter = Some(value.into());
            self
        }
    };
    (@setter text $setter:ident $ty:ty; $(#[$doc:meta])*) => {
        $(#[$doc])*
        pub fn $setter(mut self, value: &str) -> Self {
            self.$setter = Some(value.to_string());
            self
        }
    };
    (@setter list $setter:ident $ty:ty; $(#[$doc:meta])*) => {
        $(#[$doc])*
        pub fn $setter(mut self, values: impl IntoIterator<Item = $ty>) -> Self {
            self.$setter = values.into_iter().collect();
            self
        }
    };
    (@setter field $setter:ident $ty:ty; $(#[$doc:meta])*) => {};

    (@check set $value:expr, $check:path) => { $check(&$value) };
    (@check field $value:expr, $check:path) => { $check(&$value) };
    (@check list $value:expr, $check:path) => { $check(&$value) };
    (@check $kind:ident $value:expr, $check:path) => {
        match &$value {
            Some(value) => $check(value),
            None => Ok(()),
        }
    };
}
