//! What a body must be to be a PokeAPI resource: JSON, of its shape, and not nested deeper
//! than [`MAX_JSON_DEPTH`], checked without building it.
//!
//! Every PokeAPI resource is a JSON object (`{"id": 25, "name": "pikachu", …}`), but for
//! a Pokémon's encounters, an array ([`Shape`]). A server may answer anything with a
//! 200, though: `null`, `42`, a string, an array, or 100 000 nested arrays. Each of those
//! is valid JSON and none is a resource, so a call that gets one fails, naming what came
//! ("expected a JSON object, got null"), instead of passing for a resource nothing can be
//! read from.
//!
//! Depth is bounded because everything that reads a body later is recursive: serde_json
//! stops at 128 levels itself when it builds types, but its skimmer (used here, so a
//! 30 MB body is never built as a tree) does not, and holds a byte per level.
//! [`check_resource`] counts the levels first, in one pass over the bytes with no memory
//! of its own, and refuses a body past [`MAX_JSON_DEPTH`]: a real resource nests about a
//! dozen levels (an evolution chain's links).

use serde::de::{Error as _, IgnoredAny};

/// The deepest nesting a resource may have: below serde_json's own limit (128) for what
/// it parses into types, so whatever reads an accepted body never meets that limit.
pub const MAX_JSON_DEPTH: usize = 100;

/// What a resource's body is: an object, except a Pokémon's encounters (`pokemon/25/
/// encounters`), which PokeAPI answers as an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `{…}`: every resource.
    Object,
    /// `[…]`: a Pokémon's encounters.
    Array,
}

impl Shape {
    /// The shape of `what`'s body.
    pub fn of(what: &super::Ref) -> Shape {
        if what.is_encounters() {
            Shape::Array
        } else {
            Shape::Object
        }
    }
}

/// Checks that `body` is JSON of `shape` (an object, or for encounters an array), nested
/// at most [`MAX_JSON_DEPTH`] levels; the error says what came instead ("expected a JSON
/// object, got null").
///
/// ```
/// use asyncdex::pokeapi::{check_resource, Shape};
/// assert!(check_resource(br#"{"id": 25, "name": "pikachu"}"#, Shape::Object).is_ok());
/// let e = check_resource(b" null", Shape::Object).unwrap_err();
/// assert_eq!(e.to_string(), "expected a JSON object, got null");
/// assert!(check_resource(b"[]", Shape::Array).is_ok());
/// let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
/// assert!(check_resource(deep.as_bytes(), Shape::Array).is_err());
/// ```
pub fn check_resource(body: &[u8], shape: Shape) -> serde_json::Result<()> {
    check_resource_of(body, shape, &Claim::default())
}

/// Which resource a body should be: its own top-level `id` and `name`, where known. A
/// body that says it is another (asked for `type/5`, it says `"id": 7`) is not the answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Claim<'a> {
    /// The id it should carry, if it has an `id`.
    pub id: Option<i64>,
    /// The name it should carry, if it has a `name`.
    pub name: Option<&'a str>,
}

/// The top level of an object body, its other members skipped (but checked to be JSON).
#[derive(serde::Deserialize)]
struct Head {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    name: Option<serde_json::Value>,
}

/// [`check_resource`], and for an object, that it is the resource `claim` says: its own
/// `id` (if it has one) is `claim.id`, its `name` (if it has one) `claim.name`, each where
/// the claim knows it. One pass over the body, as [`check_resource`]'s.
///
/// ```
/// use asyncdex::pokeapi::{check_resource_of, Claim, Shape};
/// let body = br#"{"id": 7, "name": "normal"}"#;
/// let five = Claim { id: Some(5), name: None };
/// let e = check_resource_of(body, Shape::Object, &five).unwrap_err();
/// assert_eq!(e.to_string(), "it is another resource: its id is 7, not 5");
/// let seven = Claim { id: Some(7), name: Some("normal") };
/// assert!(check_resource_of(body, Shape::Object, &seven).is_ok());
/// ```
pub fn check_resource_of(body: &[u8], shape: Shape, claim: &Claim) -> serde_json::Result<()> {
    if deeper_than(body, MAX_JSON_DEPTH) {
        return Err(serde_json::Error::custom(format!(
            "the JSON is nested deeper than {MAX_JSON_DEPTH} levels"
        )));
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') && shape == Shape::Object {
        let head: Head = serde_json::from_slice(body)?;
        return is_claimed(&head, claim);
    }
    if first == Some(&b'[') && shape == Shape::Array {
        serde_json::from_slice::<Vec<Encounter>>(body)?;
        return Ok(());
    }
    serde_json::from_slice::<IgnoredAny>(body)?;
    let got = match first {
        Some(b'{') => "an object",
        Some(b'n') => "null",
        Some(b't' | b'f') => "a boolean",
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        _ => "a number",
    };
    let expected = match shape {
        Shape::Object => "a JSON object",
        Shape::Array => "a JSON array",
    };
    Err(serde_json::Error::custom(format!(
        "expected {expected}, got {got}"
    )))
}

/// One element of an encounters array: an object with a `location_area` (its other
/// members skipped, checked to be JSON). `null`, a number or an array there is not an
/// encounter, and the body is not one's encounters.
struct Encounter;

impl<'de> serde::Deserialize<'de> for Encounter {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Encounter;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an encounter (a JSON object with a location_area)")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Encounter, A::Error> {
                let mut located = false;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    located |= key == "location_area";
                    map.next_value::<IgnoredAny>()?;
                }
                match located {
                    true => Ok(Encounter),
                    false => Err(A::Error::custom("an encounter without a location_area")),
                }
            }
        }
        d.deserialize_map(Visit)
    }
}

/// Whether an object's `head` is the resource `claim` says.
fn is_claimed(head: &Head, claim: &Claim) -> serde_json::Result<()> {
    let other = |why: String| {
        Err(serde_json::Error::custom(format!(
            "it is another resource: {why}"
        )))
    };
    if let (Some(id), Some(want)) = (&head.id, claim.id) {
        if id.as_i64() != Some(want) {
            return other(format!("its id is {}, not {want}", shown(id)));
        }
    }
    if let (Some(name), Some(want)) = (&head.name, claim.name) {
        // PokeAPI spells a few in capitals (`ja-Hrkt`), looked up in lowercase.
        if !name
            .as_str()
            .is_some_and(|name| name.eq_ignore_ascii_case(want))
        {
            return other(format!("its name is {}, not {want:?}", shown(name)));
        }
    }
    Ok(())
}

/// A JSON value a server sent, on one line and cut short.
fn shown(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// Whether `body` opens more than `max` arrays or objects inside each other (brackets
/// in strings do not count). One pass, nothing allocated.
fn deeper_than(body: &[u8], max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_object_is_a_resource_and_the_error_names_what_came() {
        for (body, got) in [
            ("null", "null"),
            ("42", "a number"),
            ("-1.5e3", "a number"),
            ("true", "a boolean"),
            (r#""pikachu""#, "a string"),
            ("[1, 2]", "an array"),
            ("\n  []", "an array"),
        ] {
            let e = check_resource(body.as_bytes(), Shape::Object).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("expected a JSON object, got {got}"),
                "{body}"
            );
            assert!(e.is_data(), "a shape, not a syntax error: {body}");
        }
        assert!(check_resource(b"{}", Shape::Object).is_ok());
        assert!(check_resource(br#"{"a": [{"b": "]]]]"}]}"#, Shape::Object).is_ok());
        assert!(check_resource(b"{", Shape::Object).unwrap_err().is_eof());
        assert!(check_resource(b"nux", Shape::Object)
            .unwrap_err()
            .is_syntax());
        // Encounters are an array, and only an array, of encounters (hp10 A-F4).
        assert!(check_resource(br#"[{"location_area": {}}]"#, Shape::Array).is_ok());
        assert!(check_resource(b"[]", Shape::Array).is_ok());
        for (body, says) in [
            (r#"[null]"#, "invalid type: null, expected an encounter"),
            (
                r#"[{"location_area": {}}, 1]"#,
                "invalid type: integer `1`, expected an encounter",
            ),
            (r#"[[]]"#, "expected an encounter"),
            (r#"[{}]"#, "an encounter without a location_area"),
            (r#"[{"location_area": {}}, "s"]"#, "expected an encounter"),
        ] {
            let e = check_resource(body.as_bytes(), Shape::Array).unwrap_err();
            assert!(e.to_string().contains(says), "{body}: {e}");
        }
        let e = check_resource(b"{}", Shape::Array).unwrap_err();
        assert_eq!(e.to_string(), "expected a JSON array, got an object");
        let e = check_resource(b"null", Shape::Array).unwrap_err();
        assert_eq!(e.to_string(), "expected a JSON array, got null");
    }

    #[test]
    fn depth_is_bounded_and_brackets_in_strings_do_not_count() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let object = |n: usize| format!("{{\"a\":{}}}", nested(n - 1));
        assert!(check_resource(object(MAX_JSON_DEPTH).as_bytes(), Shape::Object).is_ok());
        let e = check_resource(object(MAX_JSON_DEPTH + 1).as_bytes(), Shape::Object).unwrap_err();
        assert_eq!(e.to_string(), "the JSON is nested deeper than 100 levels");
        let e = check_resource(nested(100_000).as_bytes(), Shape::Array).unwrap_err();
        assert!(e.to_string().contains("deeper than 100"), "{e}");
        let quoted = format!("{{\"a\": \"{}\\\"{}\"}}", "[".repeat(500), "{".repeat(500));
        assert!(check_resource(quoted.as_bytes(), Shape::Object).is_ok());
    }
}
