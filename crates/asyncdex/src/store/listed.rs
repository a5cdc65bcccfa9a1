//! The names a served list shows, checked against the bodies they name.
//!
//! A list page (`/api/v2/type/?limit=20`) is made from the rows' `name` column alone,
//! without reading a body: that is what makes it cheap. But a store comes from elsewhere
//! as often as not, and a row whose name was changed behind the store's back (`../../etc`,
//! `""`, another row's name, removed) would be listed as it is, pointing a client at a
//! resource that is not there, while `export`, which reads every body, refuses the same
//! store (hp11 B-F2). So before a store is served, each listed name is compared with the
//! name its body carries ([`BodyName`]), once, and the first that differs refuses the
//! store, naming its row ([`listed_as`]). A body that is not JSON is not judged here: it
//! is a 5xx where it is served, as [`Store::get_verified`] finds it.
//!
//! SQLite reads each body's name itself (`json_extract`, [`Store::listed_at_most`]);
//! the PostgreSQL store reads the bodies and asks [`BodyName::of`], the same rule in
//! Rust (PostgreSQL 15 has no test for JSON that does not fail the whole query).

use rusqlite::params;

use super::Store;
use crate::error::{Error, ErrorKind, Result};

impl Store {
    /// [`Store::entries_at_most`], each entry checked against its body: the name a list
    /// shows must be the name the resource's own body carries (none where it has none).
    /// A row whose name was changed behind the store's back (`../../etc`, `""`, another
    /// row's name, removed) would otherwise be listed as it is, pointing a client at a
    /// resource that is not there, while export refuses the same store (hp11 B-F2). The
    /// first such row is an error naming it. A body that is not JSON is not judged here:
    /// it is a 5xx where it is served, as [`Store::get_verified`] finds it.
    ///
    /// SQLite reads each body's name itself (`json_extract`), so the check costs a scan
    /// of the bodies but no copy of them: about 0.4 s for the whole PokeAPI.
    pub fn listed_at_most(
        &self,
        endpoint: &str,
        most: usize,
    ) -> Result<Vec<(i32, Option<String>)>> {
        let most = i64::try_from(most).unwrap_or(i64::MAX);
        type Found = (i32, Option<String>, bool, Option<rusqlite::types::Value>);
        let rows: Vec<Found> = self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, json_valid(CAST(body AS TEXT)),
                         CASE WHEN json_valid(CAST(body AS TEXT))
                         THEN json_extract(CAST(body AS TEXT), '$.name') END
                     FROM resources WHERE endpoint = ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![endpoint, most], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?;
            rows.collect()
        })?;
        let mut listed = Vec::with_capacity(rows.len());
        for (id, name, json, own) in rows {
            let own = BodyName::of_sqlite(json, own.as_ref());
            listed_as(&self.label(), endpoint, id, name.as_deref(), &own)?;
            listed.push((id, name));
        }
        Ok(listed)
    }
}

/// What a stored body says its name is, as a list check reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyName {
    /// The body is not JSON: not judged by a list check (it is a 5xx where it is served).
    NotJson,
    /// No name: `null`, no `name` key, or not an object.
    Absent,
    /// This string.
    Text(String),
    /// A name that is not a string.
    NotString,
}

impl BodyName {
    /// From SQLite's `json_valid(body)` and, where it is, `json_extract(body, '$.name')`
    /// (SQL NULL, `None`, for no name or `null`).
    fn of_sqlite(json: bool, value: Option<&rusqlite::types::Value>) -> BodyName {
        use rusqlite::types::Value;
        match value {
            _ if !json => BodyName::NotJson,
            None | Some(Value::Null) => BodyName::Absent,
            Some(Value::Text(own)) => BodyName::Text(own.clone()),
            Some(_) => BodyName::NotString,
        }
    }

    /// Reads it from `body` as SQLite's check does: JSON, and its top-level `name` if it
    /// is an object.
    #[cfg(any(feature = "postgres", test))]
    pub(crate) fn of(body: &[u8]) -> BodyName {
        #[derive(serde::Deserialize)]
        struct Named {
            #[serde(default)]
            name: Option<serde_json::Value>,
        }
        let object = body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|&b| b == b'{');
        if !object {
            return match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                Ok(_) => BodyName::Absent,
                Err(_) => BodyName::NotJson,
            };
        }
        match serde_json::from_slice::<Named>(body) {
            Err(_) => BodyName::NotJson,
            Ok(Named { name: None }) => BodyName::Absent,
            Ok(Named {
                name: Some(serde_json::Value::String(own)),
            }) => BodyName::Text(own),
            Ok(Named { name: Some(_) }) => BodyName::NotString,
        }
    }
}

/// The error for a row of `endpoint` listed as `name` whose body names itself `own`, as
/// [`Store::listed_at_most`] and the PostgreSQL store's check word it (`store` names the
/// store), or `Ok` when they agree.
pub(crate) fn listed_as(
    store: &str,
    endpoint: &str,
    id: i32,
    name: Option<&str>,
    own: &BodyName,
) -> Result<()> {
    match unlike(name, own) {
        None => Ok(()),
        Some(why) => Err(Error::new(
            ErrorKind::Database,
            format!("{store}: {endpoint}/{id} is damaged: {why}"),
        )),
    }
}

/// Why a row listed as `name` is not the resource whose body names itself `own`, or
/// `None` when it is (or the body is not JSON, which is not judged here).
fn unlike(name: Option<&str>, own: &BodyName) -> Option<String> {
    let shown = |name: Option<&str>| name.map_or("no name".to_owned(), |n| format!("{n:?}"));
    match (name, own) {
        (_, BodyName::NotJson) => None,
        (None, BodyName::Absent) => None,
        (Some(name), BodyName::Text(own)) if name == own => None,
        (name, BodyName::Text(own)) => Some(format!(
            "it is listed with {}, but its body's name is {own:?}",
            shown(name)
        )),
        (name, BodyName::Absent) => Some(format!(
            "it is listed with {}, but its body has no name",
            shown(name)
        )),
        (name, BodyName::NotString) => Some(format!(
            "it is listed with {}, but its body's name is not a string",
            shown(name)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Row;
    use super::*;

    #[test]
    fn a_list_shows_only_names_the_bodies_carry() {
        let store = Store::open_in_memory().unwrap();
        let body = |id: i32, name: &str| format!(r#"{{"id":{id},"name":"{name}"}}"#).into_bytes();
        store
            .put(&[
                Row::new("type", 1, Some("normal".into()), body(1, "normal")),
                Row::new("type", 2, Some("fighting".into()), body(2, "fighting")),
                Row::new("type", 3, Some("flying".into()), b"not json".to_vec()),
                Row::new("encounter", 4, None, br#"[{"a":1}]"#.to_vec()),
            ])
            .unwrap();
        let names = |endpoint: &str| store.listed_at_most(endpoint, 10);
        // Intact rows (and a body that is not JSON, a 5xx where it is served) are listed.
        assert_eq!(names("type").unwrap().len(), 3);
        assert_eq!(names("encounter").unwrap(), vec![(4, None)]);
        for (name, says) in [
            (
                "'normal'",
                r#"listed with "normal", but its body's name is "fighting""#,
            ),
            ("'../../etc'", r#"listed with "../../etc""#),
            ("''", r#"listed with "", but"#),
            (
                "NULL",
                "listed with no name, but its body's name is \"fighting\"",
            ),
        ] {
            store
                .with(|c| {
                    c.execute(
                        &format!("UPDATE resources SET name = {name} WHERE id = 2"),
                        [],
                    )
                })
                .unwrap();
            let err = names("type").unwrap_err().to_string();
            assert!(
                err.contains("type/2 is damaged") && err.contains(says),
                "{name}: {err}"
            );
        }
        // A name the body does not carry at all: SQLite's NULL for a missing `name` is no
        // name, not a body that cannot be read.
        store
            .with(|c| {
                c.execute(
                    r#"UPDATE resources SET name = 'fighting', body = '{"id":2}' WHERE id = 2"#,
                    [],
                )
            })
            .unwrap();
        let err = names("type").unwrap_err().to_string();
        assert!(
            err.contains(
                r#"type/2 is damaged: it is listed with "fighting", but its body has no name"#
            ),
            "{err}"
        );
    }

    #[test]
    fn a_bodys_name_is_read_as_sqlite_reads_it() {
        let of = |body: &str| BodyName::of(body.as_bytes());
        assert_eq!(
            of(r#" {"id":1,"name":"bulba\u0073aur"}"#),
            BodyName::Text("bulbasaur".into())
        );
        assert_eq!(of(r#"{"id":1}"#), BodyName::Absent);
        assert_eq!(of(r#"{"name":null}"#), BodyName::Absent);
        assert_eq!(of(r#"[{"name":"x"}]"#), BodyName::Absent, "not an object");
        assert_eq!(of("7"), BodyName::Absent);
        assert_eq!(of(r#"{"name":7}"#), BodyName::NotString);
        assert_eq!(of("not json"), BodyName::NotJson);
        assert_eq!(of(r#"{"name":"x""#), BodyName::NotJson);
        assert_eq!(of(""), BodyName::NotJson);
        let store = Store::open_in_memory().unwrap();
        for body in [
            r#"{"id":1,"name":"a\"b"}"#,
            r#"{"id":1}"#,
            r#"{"name":7}"#,
            "[1]",
            "no",
        ] {
            let (json, own): (bool, Option<rusqlite::types::Value>) = store
                .with(|c| {
                    c.query_row(
                        "SELECT json_valid(?1), CASE WHEN json_valid(?1) THEN json_extract(?1, '$.name') END",
                        [body],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                })
                .unwrap();
            assert_eq!(BodyName::of_sqlite(json, own.as_ref()), of(body), "{body}");
        }
    }
}
