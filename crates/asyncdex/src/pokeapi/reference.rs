//! Any resource of any endpoint, as a user names it: `pikachu`, `25`, `move/pound`,
//! `evolution-chain/10`, `pokemon/25/encounters`.

use std::fmt;
use std::str::FromStr;

use super::Key;
use crate::error::{Error, Result};

/// A resource of any endpoint: the endpoint (`pokemon` when none is named), an id or a
/// name, and whether it is the Pokémon's encounters.
///
/// ```
/// use asyncdex::pokeapi::{Key, Ref};
/// let r: Ref = "move/Pound".parse().unwrap();
/// assert_eq!((r.endpoint(), r.key()), ("move", &Key::Name("pound".into())));
/// assert_eq!("pikachu".parse::<Ref>().unwrap().endpoint(), "pokemon");
/// assert_eq!("pokemon/25/encounters".parse::<Ref>().unwrap().to_string(), "pokemon/25/encounters");
/// assert!("Move/1".parse::<Ref>().is_err());
/// assert!("type/13/encounters".parse::<Ref>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ref {
    endpoint: String,
    key: Key,
    encounters: bool,
}

impl Ref {
    /// A resource of `endpoint` (lowercase letters, digits and dashes, as PokeAPI's).
    pub fn new(endpoint: &str, key: Key) -> Result<Ref> {
        let valid = !endpoint.is_empty()
            && endpoint.len() <= 64
            && endpoint
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(Error::invalid_input(format!(
                "invalid endpoint {endpoint:?}: endpoints are lowercase, like move or evolution-chain"
            )));
        }
        Ok(Ref {
            endpoint: endpoint.to_owned(),
            key,
            encounters: false,
        })
    }

    /// The endpoint (`move`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The id or name.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// True for a Pokémon's encounters (`pokemon/25/encounters`).
    pub fn is_encounters(&self) -> bool {
        self.encounters
    }

    /// Its path below the API root, as PokeAPI spells it (`move/pound/`).
    pub fn path(&self) -> String {
        if self.encounters {
            format!("{}/{}/encounters", self.endpoint, self.key)
        } else {
            format!("{}/{}/", self.endpoint, self.key)
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.endpoint, self.key)?;
        if self.encounters {
            f.write_str("/encounters")?;
        }
        Ok(())
    }
}

impl FromStr for Ref {
    type Err = Error;

    fn from_str(input: &str) -> Result<Ref> {
        let s = input.trim().trim_matches('/');
        let parts: Vec<&str> = s.split('/').collect();
        match parts[..] {
            [key] => Ref::new("pokemon", key.parse()?),
            [endpoint, key] => Ref::new(endpoint, key.parse()?),
            ["pokemon", key, "encounters"] => Ok(Ref {
                encounters: true,
                ..Ref::new("pokemon", key.parse()?)?
            }),
            _ => Err(Error::invalid_input(format!(
                "invalid resource {input:?}: use NAME, ENDPOINT/NAME or pokemon/NAME/encounters"
            ))),
        }
    }
}

impl From<Key> for Ref {
    /// A Pokémon.
    fn from(key: Key) -> Ref {
        Ref {
            endpoint: "pokemon".into(),
            key,
            encounters: false,
        }
    }
}
