//! The `name` of a resource body, and nothing else: what `names` does per call.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, Visitor};

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
    // The top-level object is walked here, one key at a time; serde_json reads each key,
    // skips each value, and reads the name. Stopping at the name needs no error (an
    // error would cost allocations, and a scan back for its line and column).
    let mut at = Cursor { body, pos: 0 };
    at.expect(b'{')?;
    if at.peek() == Some(b'}') {
        return Err(de::Error::missing_field("name"));
    }
    loop {
        let key: CowStr = at.value()?;
        at.expect(b':')?;
        if key.0 == "name" {
            return Ok(at.value::<CowStr>()?.0);
        }
        at.value::<IgnoredAny>()?;
        match at.next_byte() {
            Some(b',') => continue,
            Some(b'}') => return Err(de::Error::missing_field("name")),
            _ => return Err(de::Error::custom("expected `,` or `}` in the object")),
        }
    }
}

/// A position in a JSON body, between values.
struct Cursor<'de> {
    body: &'de [u8],
    pos: usize,
}

impl<'de> Cursor<'de> {
    /// The next byte that is not whitespace, without taking it.
    fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.body.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// Takes the next byte that is not whitespace.
    fn next_byte(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> serde_json::Result<()> {
        match self.next_byte() {
            Some(b) if b == want => Ok(()),
            _ => Err(de::Error::custom(format_args!(
                "expected `{}` at byte {}",
                want as char, self.pos
            ))),
        }
    }

    /// Reads one JSON value (as `T`) and moves past it.
    fn value<T: de::Deserialize<'de>>(&mut self) -> serde_json::Result<T> {
        let rest = &self.body[self.pos.min(self.body.len())..];
        let mut values = serde_json::Deserializer::from_slice(rest).into_iter::<T>();
        let value = values
            .next()
            .unwrap_or_else(|| Err(de::Error::custom("the body ends too soon")))?;
        self.pos += values.byte_offset();
        Ok(value)
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
