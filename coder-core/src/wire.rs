//! Tolerant decoding helpers shared by every wire type.
//!
//! A long-lived client must keep working against a newer server, so decoding forgives what a
//! newer (or older) Coder may send: `null` where an array is expected, enum strings it has never
//! heard of, and missing optional fields. Encoding stays strict: we always emit Coder's spelling.

use serde::{Deserialize, Deserializer};

/// Deserializes an array that may be `null` (or absent, with `#[serde(default)]`) as empty.
///
/// Go's `encoding/json` writes a nil slice as `null`; callers should never see that distinction.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Page {
///     #[serde(default, deserialize_with = "coder_core::wire::null_as_empty")]
///     items: Vec<u32>,
/// }
/// let page: Page = serde_json::from_str(r#"{"items":null}"#).unwrap();
/// assert!(page.items.is_empty());
/// ```
pub fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Deserializes a string that may be `null` as empty (Go's zero value).
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A string enum as Coder spells it on the wire, with an `Unknown` fallback.
///
/// Implemented by every type declared with [`wire_enum!`](crate::wire_enum).
pub trait WireEnum: Sized + 'static {
    /// Every variant this crate knows, in declaration order (not `Unknown`).
    const KNOWN: &'static [Self];
    /// The wire string of this value (`Unknown` keeps the string it was decoded from).
    fn as_str(&self) -> &str;
    /// Parses a wire string; never fails, unknown strings become `Unknown`.
    fn from_wire(s: &str) -> Self;
}

/// Declares a wire enum: Coder's strings, `Unknown(String)` for anything newer, and
/// `Serialize`/`Deserialize`/`Display`/[`WireEnum`] implementations.
///
/// ```
/// coder_core::wire_enum! {
///     /// Colours a server may send.
///     pub enum Colour {
///         /// Red.
///         Red = "red",
///         /// Dark blue.
///         DarkBlue = "dark_blue",
///     }
/// }
/// let c: Colour = serde_json::from_str("\"mauve\"").unwrap();
/// assert_eq!(c, Colour::Unknown("mauve".into()));
/// assert_eq!(serde_json::to_string(&Colour::DarkBlue).unwrap(), "\"dark_blue\"");
/// ```
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of the SDK does not know (sent by a newer server).
            Unknown(::std::string::String),
        }

        impl $crate::wire::WireEnum for $name {
            const KNOWN: &'static [Self] = &[$( $name::$variant ),+];
            fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Unknown(s) => s.as_str(),
                }
            }
            fn from_wire(s: &str) -> Self {
                match s {
                    $( $wire => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl ::std::default::Default for $name {
            /// A missing value decodes as `Unknown("")`: present in the type, absent on the wire.
            fn default() -> Self {
                $name::Unknown(::std::string::String::new())
            }
        }

        impl $name {
            /// The wire string of this value.
            $vis fn as_str(&self) -> &str {
                <Self as $crate::wire::WireEnum>::as_str(self)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(<Self as $crate::wire::WireEnum>::from_wire(s))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                Ok(<Self as $crate::wire::WireEnum>::from_wire(&s))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::WireEnum;

    crate::wire_enum! {
        /// Test enum.
        enum Probe {
            /// A.
            Alpha = "alpha",
            /// B.
            BetaGamma = "beta_gamma",
        }
    }

    #[test]
    fn known_strings_round_trip_and_unknown_keeps_its_text() {
        for v in Probe::KNOWN {
            let json = serde_json::to_string(v).unwrap();
            assert_eq!(serde_json::from_str::<Probe>(&json).unwrap(), *v);
        }
        assert_eq!(
            serde_json::to_string(&Probe::BetaGamma).unwrap(),
            "\"beta_gamma\""
        );
        let unknown: Probe = serde_json::from_str("\"delta\"").unwrap();
        assert_eq!(unknown, Probe::Unknown("delta".to_owned()));
        assert_eq!(serde_json::to_string(&unknown).unwrap(), "\"delta\"");
    }

    #[test]
    fn escaped_strings_decode() {
        let v: Probe = serde_json::from_str(r#""alph\u0061""#).unwrap();
        assert_eq!(v, Probe::Alpha);
    }
}
