//! Reading what is about to be served or exported: each body is checked against the
//! SHA-256 it was stored with, and must be JSON, so a damaged row (a disk error, an edit
//! behind the store's back) is reported by name, never passed on as if it were data.
//!
//! Names are checked too. A store comes from elsewhere as often as not (a copied file, a
//! PostgreSQL schema any writer may change), and an endpoint is a folder in an export
//! (`data/api/v2/<endpoint>/`) and a link in a served root: a row whose endpoint is
//! `../../..` would be written over files outside the export. So every endpoint read from
//! a store must pass the test a crawl puts an API's answers to
//! ([`is_endpoint`](crate::crawl::is_endpoint)), or the store is refused, naming the row
//! ([`named`]).

use bytes::Bytes;
use rusqlite::{params, OptionalExtension};

use super::{sha256_hex, AsyncStore, Store, Stored};
use crate::error::{Error, ErrorKind, Result};

impl Store {
    /// [`Store::get`], checked: the body must still have the SHA-256 it was written with
    /// and be JSON. A damaged row is an error ([`ErrorKind::Database`]) naming the store,
    /// the endpoint and the id; a missing one is `Ok(None)`. A name two rows share (as
    /// two items share one in PokeAPI's own list) finds the smaller id, as the served
    /// list's name lookup does.
    pub fn get_verified(&self, endpoint: &str, key: &str) -> Result<Option<Stored>> {
        let by_id = key.parse::<i32>().ok();
        let found = self.with(|conn| {
            let sql = if by_id.is_some() {
                "SELECT id, name, body, fetched_at, expires_at, sha256 FROM resources
                 WHERE endpoint = ?1 AND id = ?2"
            } else {
                "SELECT id, name, body, fetched_at, expires_at, sha256 FROM resources
                 WHERE endpoint = ?1 AND name = ?2 ORDER BY id LIMIT 1"
            };
            let mut stmt = conn.prepare_cached(sql)?;
            let key: &dyn rusqlite::ToSql = match &by_id {
                Some(id) => id,
                None => &key,
            };
            stmt.query_row(params![endpoint, key], read_row).optional()
        })?;
        match found {
            Some((stored, sha)) => self.verify(endpoint, &stored, &sha).map(|()| Some(stored)),
            None => Ok(None),
        }
    }

    /// Every endpoint with stored resources or a list count, sorted. Each is checked to
    /// be an endpoint name ([`is_endpoint`](crate::crawl::is_endpoint)): a store whose
    /// rows say otherwise (`../..`, edited behind its back) is an error naming the row,
    /// since an endpoint becomes a folder in an export and a link in a served root.
    pub fn endpoints(&self) -> Result<Vec<String>> {
        let found = self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT endpoint, min(id) FROM (SELECT endpoint, id FROM resources
                 UNION ALL SELECT endpoint, NULL FROM lists) GROUP BY endpoint ORDER BY 1",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })?;
        named(&self.label(), found)
    }

    /// `store FILE` (or `store (memory)`), as its errors name it.
    pub(super) fn label(&self) -> String {
        let file = self
            .path
            .as_deref()
            .map_or("(memory)".into(), |p| p.display().to_string());
        format!("store {file}")
    }

    /// [`Store::for_each`], checked as [`Store::get_verified`]: the first damaged row
    /// stops it with an error naming it.
    pub fn for_each_verified(
        &self,
        endpoint: &str,
        mut each: impl FnMut(Stored) -> Result<()>,
    ) -> Result<()> {
        self.scan(endpoint, |stored, sha| {
            self.verify(endpoint, &stored, sha)?;
            each(stored)
        })
    }

    /// Every row of `endpoint` by id, with its stored SHA-256, until `each` fails.
    pub(super) fn scan(
        &self,
        endpoint: &str,
        mut each: impl FnMut(Stored, &str) -> Result<()>,
    ) -> Result<()> {
        let mut failed = None;
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, name, body, fetched_at, expires_at, sha256 FROM resources
                 WHERE endpoint = ?1 ORDER BY id",
            )?;
            let mut rows = stmt.query([endpoint])?;
            while let Some(r) = rows.next()? {
                let (stored, sha) = read_row(r)?;
                if let Err(e) = each(stored, &sha) {
                    failed = Some(e);
                    break;
                }
            }
            Ok(())
        })?;
        failed.map_or(Ok(()), Err)
    }

    fn verify(&self, endpoint: &str, stored: &Stored, sha: &str) -> Result<()> {
        verify(&self.label(), endpoint, stored, sha)
    }
}

/// Checks a body read back from any store (`store` names it): it must still have the
/// SHA-256 `sha` it was written with, and be the resource its row files it as
/// ([`filed`]).
pub(crate) fn verify(store: &str, endpoint: &str, stored: &Stored, sha: &str) -> Result<()> {
    let damaged = |why: String| {
        Error::new(
            ErrorKind::Database,
            format!("{store}: {endpoint}/{} is damaged: {why}", stored.id),
        )
    };
    if sha256_hex(&stored.body) != sha {
        return Err(damaged(
            "its body is not the one written (SHA-256 differs); crawl it again".into(),
        ));
    }
    filed(
        endpoint,
        stored.id.into(),
        stored.name.as_deref(),
        &stored.body,
    )
    .map_err(damaged)
}

/// The largest body a copy of the API (a store, an export folder) holds for one resource:
/// what a client accepts by default ([`DEFAULT_MAX_BODY`](crate::http::DEFAULT_MAX_BODY),
/// 64 MiB), so whatever is served or exported from a copy can be fetched again. PokeAPI's
/// largest is under 1 MB.
pub(crate) const MAX_FILED_BODY: usize = crate::http::DEFAULT_MAX_BODY as usize;

/// Whether `body`, filed in a copy as resource `id` (named `name`) of `endpoint`, is that
/// resource: at most [`MAX_FILED_BODY`], a resource of its shape nested at most
/// [`MAX_JSON_DEPTH`](crate::pokeapi::MAX_JSON_DEPTH) levels, and one whose own `id` and
/// `name`, where it has them, are its row's ([`check_resource_of`](crate::pokeapi::check_resource_of)). The
/// reason it is not, otherwise: every reader of a copy (a store, a folder) asks this.
pub(crate) fn filed(
    endpoint: &str,
    id: i64,
    name: Option<&str>,
    body: &[u8],
) -> std::result::Result<(), String> {
    use crate::pokeapi::{check_resource_of, Claim, Shape};
    use crate::store::{ENCOUNTERS, META};
    if body.len() > MAX_FILED_BODY {
        return Err(format!(
            "its body is {} bytes, over the {} MiB a stored resource may be",
            body.len(),
            MAX_FILED_BODY >> 20
        ));
    }
    // Any id PokeAPI gives is filed as it is: `move-ailment/-1` is its "unknown".
    let (shape, claim) = match endpoint {
        META => (Shape::Object, Claim::default()),
        ENCOUNTERS => (Shape::Array, Claim::default()),
        _ => (Shape::Object, Claim { id: Some(id), name }),
    };
    check_resource_of(body, shape, &claim).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => format!("its body is not its resource ({e})"),
        _ => format!("its body is not JSON ({e})"),
    })
}

/// The endpoints a store holds (`store` names it), each with the smallest id stored
/// under it (`None`: a list count alone), as names, once each is checked to be an
/// endpoint name. The first that is not refuses the store, naming its row:
/// `store s.db: resource 1 has endpoint "../.." which is not an endpoint name`.
pub(crate) fn named(store: &str, found: Vec<(String, Option<i32>)>) -> Result<Vec<String>> {
    found
        .into_iter()
        .map(|(endpoint, id)| {
            if crate::crawl::is_endpoint(&endpoint) {
                return Ok(endpoint);
            }
            let shown = crate::crawl::quoted(&endpoint);
            let row = match id {
                Some(id) => format!("resource {id} has endpoint {shown}"),
                None => format!("a list count has endpoint {shown}"),
            };
            Err(Error::new(
                ErrorKind::Database,
                format!(
                    "{store}: {row} which is not an endpoint name ({})",
                    crate::crawl::ENDPOINT_RULE
                ),
            ))
        })
        .collect()
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Stored, String)> {
    Ok((
        Stored {
            id: r.get(0)?,
            name: r.get(1)?,
            body: Bytes::from(r.get::<_, Vec<u8>>(2)?),
            fetched_at: r.get(3)?,
            expires_at: r.get(4)?,
        },
        r.get(5)?,
    ))
}

impl AsyncStore {
    /// [`Store::get_verified`], awaited.
    pub async fn get_verified(&self, endpoint: &str, key: &str) -> Result<Option<Stored>> {
        let (endpoint, key) = (endpoint.to_owned(), key.to_owned());
        self.run(move |s| s.get_verified(&endpoint, &key)).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::Row;
    use super::*;

    #[test]
    fn an_endpoint_that_is_no_endpoint_name_refuses_the_store_naming_its_row() {
        let store = Store::open_in_memory().unwrap();
        store
            .put(&[Row::new("type", 1, None, b"{}".to_vec())])
            .unwrap();
        assert_eq!(store.endpoints().unwrap(), vec!["type".to_owned()]);
        store
            .with(|c| c.execute("UPDATE resources SET endpoint = '../../..'", []))
            .unwrap();
        let err = store.endpoints().unwrap_err().to_string();
        assert_eq!(
            err,
            "store (memory): resource 1 has endpoint \"../../..\" which is not an endpoint name (lowercase letters, digits and dashes, at most 64)"
        );
        store
            .with(|c| {
                c.execute_batch("DELETE FROM resources; INSERT INTO lists VALUES ('..', 1, 0)")
            })
            .unwrap();
        let err = store.endpoints().unwrap_err().to_string();
        assert!(
            err.contains("store (memory): a list count has endpoint \"..\" which is not"),
            "{err}"
        );
        store
            .with(|c| {
                c.execute(
                    &format!("UPDATE lists SET endpoint = '{}'", "e".repeat(300)),
                    [],
                )
            })
            .unwrap();
        let err = store.endpoints().unwrap_err().to_string();
        assert!(err.len() < 250 && err.contains("…"), "cut: {err}");
    }

    #[test]
    fn a_body_is_its_rows_resource_of_its_shape_and_within_the_bound() {
        let ok = |endpoint: &str, id: i64, name: Option<&str>, body: &[u8]| {
            filed(endpoint, id, name, body)
        };
        assert_eq!(
            ok("type", 1, Some("normal"), br#"{"id":1,"name":"normal"}"#),
            Ok(())
        );
        // What a body does not say is not held against it; PokeAPI's capitals are its own.
        assert_eq!(ok("type", 1, Some("normal"), br#"{"x":1}"#), Ok(()));
        assert_eq!(
            ok(
                "language",
                11,
                Some("ja-hrkt"),
                br#"{"id":11,"name":"ja-Hrkt"}"#
            ),
            Ok(())
        );
        assert_eq!(ok("meta", 0, None, br#"{"deploy_date":"x"}"#), Ok(()));
        assert_eq!(
            ok(
                "move-ailment",
                -1,
                Some("unknown"),
                br#"{"id":-1,"name":"unknown"}"#
            ),
            Ok(())
        );
        assert_eq!(ok("pokemon-encounters", 25, None, b"[]"), Ok(()));
        for (endpoint, id, body, said) in [
            ("type", 5, &br#"{"id":7}"#[..], "its id is 7, not 5"),
            ("type", 5, br#"{"id":"5"}"#, r#"its id is "5", not 5"#),
            ("move-ailment", -1, br#"{"id":1}"#, "its id is 1, not -1"),
            ("pokemon-encounters", 25, b"{}", "expected a JSON array"),
            ("type", 5, b"null", "expected a JSON object, got null"),
            ("type", 5, b"{\"id\":5", "is not JSON"),
        ] {
            let why = ok(endpoint, id, None, body).unwrap_err();
            assert!(why.contains(said), "{endpoint}/{id}: {why}");
        }
        let why = ok(
            "type",
            5,
            Some("normal"),
            br#"{"id":5,"name":"x\u001b[31m"}"#,
        )
        .unwrap_err();
        assert!(
            why.contains(r#"its name is "x\u001b[31m", not "normal""#),
            "{why}"
        );
        let big = vec![b' '; MAX_FILED_BODY + 1];
        let why = ok("type", 5, None, &big).unwrap_err();
        assert!(why.contains("over the 64 MiB"), "{why}");
    }

    #[test]
    fn a_name_two_rows_share_finds_the_smaller_id_whatever_the_order_written() {
        let store = Store::open_in_memory().unwrap();
        let body = |id: i32| format!(r#"{{"id":{id},"name":"normal"}}"#).into_bytes();
        // Written larger id first, so the table's own order would find 9999.
        for id in [9999, 1] {
            store
                .put(&[Row::new("type", id, Some("normal".into()), body(id))])
                .unwrap();
        }
        assert_eq!(store.get_verified("type", "normal").unwrap().unwrap().id, 1);
    }

    #[test]
    fn a_damaged_body_is_an_error_naming_it_and_an_intact_one_is_served() {
        let store = Store::open_in_memory().unwrap();
        let body = |id: i32| format!(r#"{{"id":{id}}}"#).into_bytes();
        store
            .put(&[
                Row::new("type", 1, Some("normal".into()), body(1)),
                Row::new("type", 2, Some("fighting".into()), body(2)),
                Row::new("type", 3, Some("flying".into()), b"not json".to_vec()),
            ])
            .unwrap();
        store
            .with(|c| c.execute("UPDATE resources SET body = x'7b7d' WHERE id = 2", []))
            .unwrap();
        assert_eq!(store.get_verified("type", "normal").unwrap().unwrap().id, 1);
        assert!(store.get_verified("type", "99").unwrap().is_none());
        let err = store.get_verified("type", "2").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Database);
        assert!(err.to_string().contains("type/2 is damaged"), "{err}");
        let err = store
            .get_verified("type", "flying")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("type/3 is damaged: its body is not JSON"),
            "{err}"
        );
        let mut seen = Vec::new();
        let err = store
            .for_each_verified("type", |s| {
                seen.push(s.id);
                Ok(())
            })
            .unwrap_err();
        assert_eq!(seen, vec![1], "stops at the first damaged row");
        assert!(err.to_string().contains("type/2"), "{err}");
        assert!(!err.to_string().contains('\n'));
    }
}
