//! What the store keeps and gives back: rows, their digests, and the time they carry.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::API_PATH;

/// Milliseconds since the Unix epoch: how the store keeps time.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One resource to store: a successful answer, its links already relative.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The endpoint (`"pokemon"`).
    pub endpoint: String,
    /// Its id.
    pub id: i32,
    /// Its name, if the resource has one.
    pub name: Option<String>,
    /// The HTTP status it was answered with (200).
    pub status: u16,
    /// The body, with relative links.
    pub body: Bytes,
    /// When it was fetched (ms since the epoch).
    pub fetched_at: i64,
    /// Until when it is fresh (ms since the epoch); `None`: no expiry was given.
    pub expires_at: Option<i64>,
}

impl Row {
    /// A row fetched now, answered 200, with no expiry.
    pub fn new(endpoint: &str, id: i32, name: Option<String>, body: impl Into<Bytes>) -> Row {
        Row {
            endpoint: endpoint.to_owned(),
            id,
            name,
            status: 200,
            body: body.into(),
            fetched_at: now_ms(),
            expires_at: None,
        }
    }

    /// A row for a body fetched from the API at `base`: its `id` and `name` read from the
    /// body, its links made relative. An error if the body has no numeric `id`.
    pub fn from_body(endpoint: &str, body: &[u8], base: &str) -> serde_json::Result<Row> {
        #[derive(serde::Deserialize)]
        struct IdName<'a> {
            id: i32,
            #[serde(borrow)]
            name: Option<std::borrow::Cow<'a, str>>,
        }
        let head: IdName = serde_json::from_slice(body)?;
        let name = head.name.map(|n| n.into_owned());
        Ok(Row::new(
            endpoint,
            head.id,
            name,
            super::relativize(body, base),
        ))
    }

    /// Its canonical relative URL: `/api/v2/pokemon/25/`.
    pub fn url(&self) -> String {
        format!("{API_PATH}/{}/{}/", self.endpoint, self.id)
    }
}

/// A stored resource, as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    /// Its id.
    pub id: i32,
    /// Its name, if any.
    pub name: Option<String>,
    /// The body (relative links).
    pub body: Bytes,
    /// When it was fetched (ms since the epoch).
    pub fetched_at: i64,
    /// Until when it is fresh, if it expires.
    pub expires_at: Option<i64>,
}

/// What one endpoint holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointStats {
    /// The endpoint.
    pub endpoint: String,
    /// Rows stored.
    pub rows: u64,
    /// Bytes of bodies stored.
    pub bytes: u64,
    /// The count its list reported when last read, if it was.
    pub listed: Option<u64>,
    /// Ids whose last fetch failed and are not stored.
    pub failed: u64,
    /// Rows past their expiry.
    pub expired: u64,
}

/// SHA-256 of `body`, as lowercase hex.
pub fn sha256_hex(body: &[u8]) -> String {
    Sha256::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
