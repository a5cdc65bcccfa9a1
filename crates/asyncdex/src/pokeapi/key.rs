//! What to fetch: a resource kind and an id or name, validated before any call is made.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The resources asyncdex's client and mirror speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    /// `/pokemon/`
    Pokemon,
    /// `/pokemon-species/`
    Species,
    /// `/type/`
    Type,
}

impl Resource {
    /// Every resource, in the order the mirror lists them.
    pub const ALL: [Resource; 3] = [Resource::Pokemon, Resource::Species, Resource::Type];

    /// The URL path segment (`"pokemon-species"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Pokemon => "pokemon",
            Resource::Species => "pokemon-species",
            Resource::Type => "type",
        }
    }

    /// The resource whose path segment is `segment`.
    pub fn from_segment(segment: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.as_str() == segment)
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Most bytes of an id or name ([`Key`]): PokeAPI's longest names are well under it
/// (`zygarde-10-power-construct` is 26), and a longer one is a mistake, not a resource,
/// sent otherwise as a path segment of any length (hp11 B-F4).
pub const MAX_NAME_BYTES: usize = 100;

/// An id or a name, as PokeAPI accepts in a URL.
///
/// Parsing rejects what can never be valid (id 0, negative numbers, empty names, spaces,
/// slashes, more than [`MAX_NAME_BYTES`]) with a message that names the problem; names
/// are lowercased, as PokeAPI is case-insensitive.
///
/// ```
/// use asyncdex::pokeapi::Key;
/// assert_eq!("25".parse::<Key>().unwrap(), Key::Id(25));
/// assert_eq!("Pikachu".parse::<Key>().unwrap(), Key::Name("pikachu".into()));
/// assert!("0".parse::<Key>().unwrap_err().to_string().contains("ids start at 1"));
/// assert!("mr mime".parse::<Key>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A numeric id (1 or more).
    Id(u32),
    /// A lowercase name.
    Name(String),
}

impl From<u32> for Key {
    fn from(id: u32) -> Self {
        Key::Id(id)
    }
}

impl From<&Key> for Key {
    fn from(key: &Key) -> Self {
        key.clone()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Id(id) => write!(f, "{id}"),
            Key::Name(name) => f.write_str(name),
        }
    }
}

impl FromStr for Key {
    type Err = Error;

    fn from_str(input: &str) -> Result<Key> {
        let s = input.trim();
        if s.is_empty() {
            return Err(Error::invalid_input(
                "empty id or name: give a number like 25 or a name like pikachu",
            ));
        }
        // First: every message below quotes the input, which must stay one short line.
        if s.len() > MAX_NAME_BYTES {
            return Err(Error::invalid_input(format!(
                "an id or name of {} bytes is too long: at most {MAX_NAME_BYTES}",
                s.len()
            )));
        }
        let digits = s.strip_prefix('-').unwrap_or(s);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if s.starts_with('-') {
                return Err(Error::invalid_input(format!(
                    "id {s} is negative: Pokémon ids start at 1"
                )));
            }
            return match s.parse::<u32>() {
                Ok(0) => Err(Error::invalid_input(
                    "id 0 is not a Pokémon id (ids start at 1)",
                )),
                Ok(id) => Ok(Key::Id(id)),
                Err(_) => Err(Error::invalid_input(format!(
                    "id {s} is too large to be a Pokémon id"
                ))),
            };
        }
        // At least one letter or digit: `.` and `..` would be sent as dot segments,
        // which a server or proxy resolves to another path (hp10 B-F5).
        let valid = s.chars().any(char::is_alphanumeric)
            && s.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '\'' | '♀' | '♂'));
        if !valid {
            return Err(Error::invalid_input(format!(
                "invalid name {input:?}: names use letters, digits and '-' (like mr-mime)"
            )));
        }
        Ok(Key::Name(s.to_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_can_never_exist() {
        for bad in [
            "",
            "  ",
            "0",
            "-1",
            "-25",
            "4294967296",
            "a/b",
            "mr mime",
            "../x",
            "%2e",
            ".",
            "..",
            "-",
            "'.",
        ] {
            let err = bad.parse::<Key>().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn a_name_is_at_most_its_bound_in_bytes() {
        let longest = "a".repeat(MAX_NAME_BYTES);
        assert_eq!(longest.parse::<Key>().unwrap(), Key::Name(longest.clone()));
        for (long, bytes) in [
            ("a".repeat(MAX_NAME_BYTES + 1), MAX_NAME_BYTES + 1),
            ("a".repeat(100_000), 100_000),
            ("♀".repeat(34), 102), // bytes, not characters: what the path carries
            ("1".repeat(MAX_NAME_BYTES + 1), MAX_NAME_BYTES + 1),
            (
                " ".repeat(50) + &"-".repeat(MAX_NAME_BYTES + 1),
                MAX_NAME_BYTES + 1,
            ),
        ] {
            let err = long.parse::<Key>().unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
            assert_eq!(
                err.to_string(),
                format!("an id or name of {bytes} bytes is too long: at most 100")
            );
        }
    }

    #[test]
    fn accepts_ids_and_names() {
        assert_eq!("99999".parse::<Key>().unwrap(), Key::Id(99999));
        assert_eq!(
            " MR-MIME ".parse::<Key>().unwrap(),
            Key::Name("mr-mime".into())
        );
        assert_eq!(
            Resource::from_segment("pokemon-species"),
            Some(Resource::Species)
        );
        assert_eq!(Resource::from_segment("berry"), None);
    }
}
