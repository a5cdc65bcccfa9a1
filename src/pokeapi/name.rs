//! The `name` of a resource body, and nothing else: what `names` does per call.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

/// The `name` of a resource body, decoding nothing else (borrowed when it has no escapes).
///
/// This is what `names` does per call: a real Pokémon body is ~250 KB, and building the
/// whole model (or a `serde_json::Value`) to read one string would be most of the work.
/// Reading stops at the top-level `name`: the values before it are skipped, those after
/// it are not read at all (a cut body is the transport's to catch: it checks the length).
///
/// ```
/// let body = br#"{"id": 25, "moves": [{"move": {"name": "thunder"}}], "name": "pikachu"}"#;
/// assert_eq!(asyncdex::pokeapi::name_of(body).unwrap(), "pikachu");
/// assert!(asyncdex::pokeapi::name_of(br#"{"id": 25}"#).is_err());
/// assert!(asyncdex::pokeapi::name_of(b"<html>").is_err());
/// ```
pub fn name_of(body: &[u8]) -> serde_json::Result<Cow<'_, str>> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    // Finding the name ends the walk with an error of our own: serde_json would otherwise
    // insist on reading to the closing brace. The name is kept beside it.
    let walked = (&mut de).deserialize_map(FindName(&mut found));
    match (found, walked) {
        (Some(name), _) => Ok(name),
        (None, Err(e)) => Err(e),
        (None, Ok(())) => {
            de.end()?;
            Err(de::Error::missing_field("name"))
        }
    }
}

/// Walks the top-level object until its `name`.
struct FindName<'a, 'de>(&'a mut Option<Cow<'de, str>>);

impl<'de> Visitor<'de> for FindName<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object with a name")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<CowStr<'de>>()? {
            if key.0 == "name" {
                *self.0 = Some(map.next_value::<CowStr<'de>>()?.0);
                return Err(de::Error::custom("found the name"));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// A string, borrowed from the body unless it has escapes.
struct CowStr<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(s.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_level_name_is_found_borrowed_or_unescaped() {
        let nested_first = br#"{"forms":[{"name":"not-me"}],"id":1,"name":"bulbasaur","z":1}"#;
        assert_eq!(name_of(nested_first).unwrap(), "bulbasaur");
        assert!(matches!(name_of(nested_first).unwrap(), Cow::Borrowed(_)));
        let escaped = br#"{"name":"mr-mime\u00e9"}"#;
        assert_eq!(name_of(escaped).unwrap(), "mr-mimeé");
    }

    #[test]
    fn what_is_not_an_object_with_a_string_name_is_an_error() {
        for bad in [
            &br#"{"id":1}"#[..],
            br#"{"name":25}"#,
            br#"[{"name":"x"}]"#,
            b"<html>not json</html>",
            br#"{"id":1,"name""#,
            b"",
        ] {
            assert!(name_of(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
