//! Reading a few fields of a big JSON body without building it: serde types that take what
//! they need and skip the rest, and never fail on a field of the wrong shape.
//!
//! `serde_json::Value` builds the whole body as a tree: a 30 MB body became 2.2 GB (every
//! number, string and map entry its own allocation, ~75 times the bytes). A summary line
//! needs a handful of fields, so `get` derives `Deserialize` for structs that name only
//! those: serde walks the rest of the bytes and drops it as it goes
//! ([`IgnoredAny`]), and a name is borrowed from the body (a [`Cow`]) instead of copied.
//! What is built is the size of the answer, not of the body.
//!
//! A server's body may not have the shape PokeAPI's has (a `type` that is a string, a
//! `power` that is an object). A derived struct would fail on the first such field and
//! lose the whole line; these types instead take what fits and show `?` or `-` for what
//! does not, as a reader of the line would want:
//!
//! - [`Named`]: an object's `name` (`{"name": "normal", "url": …}`), or none;
//! - [`Shown`]: a scalar as JSON writes it (`40`, `"x"`, `true`), `-` for null;
//! - [`List`]: the items of an array (each lenient itself), or none;
//! - [`Count`]: how many items an array has, without keeping any.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Skips whatever comes next in `map` (a value not needed).
fn skip_value<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

/// Numbers, booleans and null, which a visitor does not want: each becomes `$none`.
macro_rules! scalars_are_none {
    ($none:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($none)
        }
    };
}

/// A string, borrowed from the body when it has no escapes; anything else is `None`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(s.to_owned()))))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(s))))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Text(None))
            }
            scalars_are_none!(Text(None));
        }
        d.deserialize_any(V)
    }
}

/// An object's `name` (`{"name": "normal", "url": …}`), or `None` for anything else.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Named<'a>(pub Option<Cow<'a, str>>);

impl Named<'_> {
    /// The name, or `?`.
    pub fn shown(&self) -> &str {
        self.0.as_deref().unwrap_or("?")
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Named<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Named<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut name = None;
                while let Some(key) = map.next_key::<Text>()? {
                    if key.0.as_deref() == Some("name") && name.is_none() {
                        name = map.next_value::<Text>()?.0;
                    } else {
                        skip_value(&mut map)?;
                    }
                }
                Ok(Named(name))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Named(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Named(None))
            }
            scalars_are_none!(Named(None));
        }
        d.deserialize_any(V)
    }
}

/// A scalar as JSON writes it (`40`, `1.5`, `"x"`, `true`); `-` for null or missing, `…`
/// for an array or object.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown(pub String);

impl Default for Shown {
    fn default() -> Shown {
        Shown("-".into())
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Shown {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Shown;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Shown, E> {
                Ok(Shown(b.to_string()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Shown, E> {
                Ok(Shown(n.to_string()))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Shown, E> {
                Ok(Shown(n.to_string()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Shown, E> {
                Ok(Shown(
                    serde_json::Number::from_f64(n).map_or("-".into(), |n| n.to_string()),
                ))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Shown, E> {
                Ok(Shown(crate::json::to_string(s)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Shown, E> {
                Ok(Shown::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Shown, E> {
                Ok(Shown::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Shown, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Shown("…".into()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Shown, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Shown("…".into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The items of an array, each read as `T`; empty for anything that is not an array.
#[derive(Debug, Clone, PartialEq)]
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<List<T>, A::Error> {
                IgnoredAny.visit_map(map).map(|_| List::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<List<T>, E> {
                Ok(List::default())
            }
            scalars_are_none!(List::default());
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// How many items an array has (0 for anything else); the items are skipped unread.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Count(pub usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Count, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Count(0))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Count, E> {
                Ok(Count(0))
            }
            scalars_are_none!(Count(0));
        }
        d.deserialize_any(V)
    }
}

/// How many fields an object has (0 for anything else); the values are skipped unread.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Fields(pub usize);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut n = 0;
                while map.next_key::<IgnoredAny>()?.is_some() {
                    skip_value(&mut map)?;
                    n += 1;
                }
                Ok(Fields(n))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Fields, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| Fields(0))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Fields, E> {
                Ok(Fields(0))
            }
            scalars_are_none!(Fields(0));
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_takes_what_fits_and_skips_the_rest() {
        let named: List<Named> =
            serde_json::from_str(r#"[{"url":"u","name":"a"}, "b", 3, null, {"name":7}]"#).unwrap();
        let names: Vec<&str> = named.0.iter().map(Named::shown).collect();
        assert_eq!(names, ["a", "?", "?", "?", "?"]);
        let shown: List<Shown> =
            serde_json::from_str(r#"[40, 1.5, "x", true, null, [1], {"a":1}]"#).unwrap();
        let shown: Vec<&str> = shown.0.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(shown, ["40", "1.5", "\"x\"", "true", "-", "…", "…"]);
        assert_eq!(
            serde_json::from_str::<Count>("[1,[2,3],{}]").unwrap(),
            Count(3)
        );
        assert_eq!(serde_json::from_str::<Count>(r#""no""#).unwrap(), Count(0));
        assert_eq!(
            serde_json::from_str::<Fields>(r#"{"a":[1],"b":{}}"#).unwrap(),
            Fields(2)
        );
        let text: Text = serde_json::from_str(r#""pika\nchu""#).unwrap();
        assert_eq!(text.0.as_deref(), Some("pika\nchu"));
    }

    #[test]
    fn a_name_is_borrowed_from_the_body_when_it_can_be() {
        let body = br#"{"name":"pikachu"}"#;
        let named: Named = serde_json::from_slice(body).unwrap();
        assert!(matches!(named.0, Some(Cow::Borrowed("pikachu"))));
    }
}
