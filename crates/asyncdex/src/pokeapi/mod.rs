//! The typed PokeAPI client, async and blocking, over any [`crate::http`] backend.
//!
//! Calls are one line each ([`Client::pokemon`], [`Client::species`], [`Client::kind`],
//! [`Client::page`], [`Client::name`]); what they share (building
//! the URL, telling a 404 from a broken body) lives in one place, so the async and the
//! blocking client answer alike.
//!
//! ```no_run
//! # async fn demo() -> asyncdex::Result<()> {
//! use asyncdex::http::{HttpOptions, Native};
//! use asyncdex::pokeapi::Client;
//!
//! let client = Client::new("https://pokeapi.co/api/v2", Native::new(&HttpOptions::default())?);
//! let pikachu = client.pokemon("pikachu".parse::<asyncdex::pokeapi::Key>()?).await?;
//! assert_eq!(pikachu.id, 25);
//! # Ok(()) }
//! ```

mod key;
mod models;
mod name;
mod reference;
mod shape;

use std::borrow::Cow;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Deserialize;

pub use key::{Key, Resource, MAX_NAME_BYTES};
pub use models::*;
pub use name::name_of;
pub use reference::Ref;
pub use shape::{check_resource, check_resource_of, Claim, Shape, MAX_JSON_DEPTH};

use crate::error::{Error, ErrorKind, Result};
use crate::http::{redact_url, BlockingTransport, Credentials, Response, Transport};

/// The public PokeAPI (`--api pokeapi`).
pub const POKEAPI_URL: &str = "https://pokeapi.co/api/v2";

/// An async PokeAPI client over transport `T`. Cheap to clone.
///
/// A root given with credentials (`http://user:pass@host/api/v2`) keeps them for the
/// requests only: [`Client::base_url`] hands the root out without them, and printing the
/// client (`{:?}`) shows `user:***`.
#[derive(Clone, Debug)]
pub struct Client<T> {
    base: Base,
    transport: T,
}

/// A blocking PokeAPI client over transport `B`: the lesson's `requests` code.
#[derive(Clone, Debug)]
pub struct BlockingClient<B> {
    base: Base,
    transport: B,
}

/// The API root a client builds its URLs from, and the same root as it may be handed out.
#[derive(Clone)]
struct Base {
    /// As given (no trailing `/`), userinfo and all: every request URL is built from it,
    /// so the transport takes the credentials out of each one and sends them as
    /// `Authorization` to the root's origin ([`crate::http::Credentials`]). Never
    /// returned, never printed.
    sent: Arc<str>,
    /// The same root without userinfo: [`Client::base_url`].
    shown: Arc<str>,
}

impl Base {
    fn new(base_url: &str) -> Base {
        let sent: Arc<str> = base_url.trim_end_matches('/').into();
        let shown = match Credentials::strip(&sent) {
            Cow::Borrowed(_) => sent.clone(),
            Cow::Owned(bare) => bare.into(),
        };
        Base { sent, shown }
    }
}

impl std::fmt::Debug for Base {
    /// The root with its password shown as `***` ([`redact_url`]).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*redact_url(&self.sent), f)
    }
}

macro_rules! client_methods {
    ($($async_:ident)? ; $($await_:tt)*) => {
        /// The API root this client talks to (`http://host/api/v2`, no trailing slash),
        /// without the credentials it may have been given with (`user:pass@`): those are
        /// sent with every request to the root's origin and handed out nowhere, so a URL
        /// built from this one is credential-free.
        pub fn base_url(&self) -> &str {
            &self.base.shown
        }

        /// The Pokémon with this id or name.
        pub $($async_)? fn pokemon(&self, key: impl Into<Key>) -> Result<Pokemon> {
            self.fetch(Resource::Pokemon, &key.into()) $($await_)*
        }

        /// The species with this id or name.
        pub $($async_)? fn species(&self, key: impl Into<Key>) -> Result<Species> {
            self.fetch(Resource::Species, &key.into()) $($await_)*
        }

        /// The type with this id or name (`type` is a keyword, hence `kind`).
        pub $($async_)? fn kind(&self, key: impl Into<Key>) -> Result<Type> {
            self.fetch(Resource::Type, &key.into()) $($await_)*
        }

        /// Just the name of a Pokémon: decodes nothing else from the body.
        pub $($async_)? fn name(&self, key: impl Into<Key>) -> Result<String> {
            let key = key.into();
            let url = resource_url(&self.base.sent, Resource::Pokemon, &key);
            let resp = self.transport.get(&url) $($await_)* ?;
            let name = decode_with(&resp, Resource::Pokemon, &key, &url, name_of)?;
            Ok(name.into_owned())
        }

        /// Any resource of any endpoint, as JSON (keys in the server's order).
        pub $($async_)? fn json(&self, what: &Ref) -> Result<serde_json::Value> {
            let url = format!("{}/{}", self.base.sent, what.path());
            let resp = self.transport.get(&url) $($await_)* ?;
            decode_any(&resp, what, &url)
        }

        /// Any resource of any endpoint, its body as the server sent it: checked to be
        /// a JSON object (encounters: an array) nested at most [`MAX_JSON_DEPTH`]
        /// levels, and the resource asked for: its own `id` or `name` is the one in the
        /// request ([`check_resource_of`];
        /// skimmed, never built as a tree, so a 30 MB body costs 30 MB, not the
        /// gigabytes a [`serde_json::Value`] of it takes). Anything else (`null`, an
        /// array, `type/5` answered with `"id": 7`) is an [`ErrorKind::Decode`] error
        /// naming what came.
        pub $($async_)? fn raw(&self, what: &Ref) -> Result<bytes::Bytes> {
            let url = format!("{}/{}", self.base.sent, what.path());
            let resp = self.transport.get(&url) $($await_)* ?;
            let claim = match what.key() {
                Key::Id(id) => Claim { id: Some(i64::from(*id)), name: None },
                Key::Name(name) => Claim { id: None, name: Some(name) },
            };
            checked(&resp, &what, &url, |body| check_resource_of(body, Shape::of(what), &claim))?;
            Ok(resp.body)
        }

        /// One page of a list endpoint.
        pub $($async_)? fn page(&self, resource: Resource, limit: usize, offset: usize) -> Result<Page> {
            let url = format!("{}/{resource}/?limit={limit}&offset={offset}", self.base.sent);
            let resp = self.transport.get(&url) $($await_)* ?;
            decode(&resp, resource, &Key::Name(format!("list offset {offset}")), &url)
        }

        $($async_)? fn fetch<M: DeserializeOwned>(&self, resource: Resource, key: &Key) -> Result<M> {
            let url = resource_url(&self.base.sent, resource, key);
            let resp = self.transport.get(&url) $($await_)* ?;
            decode(&resp, resource, key, &url)
        }
    };
}

impl<T: Transport> Client<T> {
    /// A client for the API at `base_url` (`http://127.0.0.1:8000/api/v2`). Credentials
    /// in it (`http://user:pass@host/api/v2`) are sent, never handed out:
    ///
    /// ```
    /// use asyncdex::http::{HttpOptions, Native};
    /// use asyncdex::pokeapi::Client;
    ///
    /// let http = Native::new(&HttpOptions::default())?;
    /// let client = Client::new("http://ash:pikachu@127.0.0.1:8/api/v2/", http);
    /// assert_eq!(client.base_url(), "http://127.0.0.1:8/api/v2");
    /// assert!(!format!("{client:?}").contains("pikachu"));
    /// # Ok::<(), asyncdex::Error>(())
    /// ```
    pub fn new(base_url: &str, transport: T) -> Self {
        Client {
            base: Base::new(base_url),
            transport,
        }
    }

    client_methods!(async; .await);
}

impl<B: BlockingTransport> BlockingClient<B> {
    /// A blocking client for the API at `base_url`.
    pub fn new(base_url: &str, transport: B) -> Self {
        BlockingClient {
            base: Base::new(base_url),
            transport,
        }
    }

    client_methods!(;);
}

/// `{base}/{resource}/{key}/`, PokeAPI's canonical form.
pub fn resource_url(base: &str, resource: Resource, key: &Key) -> String {
    format!("{base}/{resource}/{key}/")
}

/// The id text of a list entry's `url` when that url names a resource of `endpoint`
/// (`.../pokemon/25/` in the `pokemon` list → `"25"`); `None` when the segment before the
/// id is another endpoint (`.../ability/7/` in the `pokemon` list) or missing: an entry
/// under another endpoint has no usable id in this one's list.
pub(crate) fn listed_id<'a>(url: &'a str, endpoint: &str) -> Option<&'a str> {
    let mut segments = url.trim_end_matches('/').rsplit('/');
    let id = segments.next()?;
    (segments.next()? == endpoint).then_some(id)
}

/// Turns a response into a model, or into the error that says what really happened.
fn decode<'a, M: Deserialize<'a>>(
    resp: &'a Response,
    resource: Resource,
    key: &Key,
    url: &str,
) -> Result<M> {
    decode_with(resp, resource, key, url, serde_json::from_slice)
}

/// [`decode`] for any resource.
fn decode_any(resp: &Response, what: &Ref, url: &str) -> Result<serde_json::Value> {
    checked(resp, &what, url, serde_json::from_slice)
}

/// [`decode`] with its own parser (such as [`name_of`]).
fn decode_with<'a, M>(
    resp: &'a Response,
    resource: Resource,
    key: &Key,
    url: &str,
    parse: impl FnOnce(&'a [u8]) -> serde_json::Result<M>,
) -> Result<M> {
    checked(resp, &format_args!("{resource} {key}"), url, parse)
}

/// A success's body through `parse`, or the error that says what really happened to the
/// call for `what` (a 404 is "not found: `what`", a body that is not the JSON expected a
/// decode error that says what came instead).
fn checked<'a, M>(
    resp: &'a Response,
    what: &dyn std::fmt::Display,
    url: &str,
    parse: impl FnOnce(&'a [u8]) -> serde_json::Result<M>,
) -> Result<M> {
    // Errors show the URL as it may be shown: never a password in it.
    let url = &*redact_url(url);
    match resp.status {
        200..=299 => parse(&resp.body).map_err(|e| {
            // Told by the body, not by the parser's error: a body of the wrong shape
            // (`null` where an object belongs) is JSON all the same, and the name skimmer
            // ([`name_of`]) calls a body of HTML a data error.
            let hint = if looks_like_json(&resp.body) {
                String::new()
            } else {
                let head = String::from_utf8_lossy(&resp.body[..resp.body.len().min(24)]);
                format!(" (the server answered non-JSON: {:?})", head.trim())
            };
            Error::new(
                ErrorKind::Decode,
                format!("could not decode {what} from {url}: {e}{hint}"),
            )
            .with_url(url)
        }),
        _ => Err(status_error(resp, what, url)),
    }
}

/// The error for a response that is not a success: a 404 is [`ErrorKind::NotFound`]
/// ("not found: `what`"), any other status is [`ErrorKind::Status`] with its `Retry-After`.
/// The URL is shown redacted ([`redact_url`]).
pub(crate) fn status_error(resp: &Response, what: &dyn std::fmt::Display, url: &str) -> Error {
    let url = &*redact_url(url);
    match resp.status {
        404 => Error::new(ErrorKind::NotFound, format!("not found: {what}"))
            .with_url(url)
            .with_status(404),
        status => Error::new(ErrorKind::Status, format!("HTTP {status} from {url}"))
            .with_url(url)
            .with_status(status)
            .with_retry_after(resp.retry_after),
    }
}

/// Whether `body` starts as a JSON value can (an object, array, string, number, `true`,
/// `false` or `null`).
fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn resp(status: u16, body: &'static str) -> Response {
        Response {
            status,
            retry_after: None,
            max_age: None,
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[test]
    fn a_listed_id_is_one_only_under_its_own_endpoint() {
        assert_eq!(
            listed_id("http://h/api/v2/pokemon/25/", "pokemon"),
            Some("25")
        );
        assert_eq!(listed_id("/api/v2/pokemon/25", "pokemon"), Some("25"));
        for other in [
            "http://h/api/v2/ability/7/",
            "http://h/api/v2/pokemon-species/7/",
            "http://h/api/v2/Pokemon/7/",
            "/7/",
            "7",
        ] {
            assert_eq!(listed_id(other, "pokemon"), None, "{other}");
        }
    }

    #[test]
    fn a_404_is_not_found_never_a_decode_error() {
        let err = decode::<Pokemon>(
            &resp(404, "Not Found"),
            Resource::Pokemon,
            &Key::Id(99999),
            "u",
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.to_string(), "not found: pokemon 99999");
    }

    #[test]
    fn html_is_a_decode_error_that_says_so() {
        let err = decode::<Pokemon>(
            &resp(200, "<html>hi</html>"),
            Resource::Pokemon,
            &Key::Id(1),
            "u",
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode);
        assert!(err.to_string().contains("non-JSON"), "{err}");
        // The name skimmer says so too; JSON of the wrong shape is not called non-JSON.
        let url = "http://h/api/v2/pokemon/1/";
        let html = resp(200, "<html>hi</html>");
        let err = decode_with(&html, Resource::Pokemon, &Key::Id(1), url, name_of).unwrap_err();
        assert!(err.to_string().contains("non-JSON"), "{err}");
        let null = resp(200, "null");
        let err = decode::<Pokemon>(&null, Resource::Pokemon, &Key::Id(1), url).unwrap_err();
        assert!(!err.to_string().contains("non-JSON"), "{err}");
    }

    #[test]
    fn no_error_shows_a_password_in_its_url() {
        let url = "http://ash:pikachu@h/api/v2/pokemon/1/";
        for r in [resp(200, "<html>"), resp(503, "{}"), resp(404, "")] {
            let err = decode::<Pokemon>(&r, Resource::Pokemon, &Key::Id(1), url).unwrap_err();
            assert!(!err.to_string().contains("pikachu"), "{err}");
            assert!(!err.url().unwrap().contains("pikachu"), "{err:?}");
        }
    }

    /// A transport that answers 404 to everything and remembers the URLs it was asked.
    #[derive(Clone, Debug, Default)]
    struct Asked(Arc<std::sync::Mutex<Vec<String>>>);

    impl BlockingTransport for Asked {
        fn get(&self, url: &str) -> Result<Response> {
            self.0.lock().unwrap().push(url.to_owned());
            Ok(resp(404, ""))
        }
    }

    #[test]
    fn credentials_are_sent_never_handed_out() {
        let asked = Asked::default();
        let client = BlockingClient::new("http://ash:pikachu@h:8/api/v2/", asked.clone());
        assert_eq!(client.base_url(), "http://h:8/api/v2");
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("pikachu") && shown.contains("ash:***@h:8"),
            "{shown}"
        );
        let err = client.pokemon(1).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("pikachu"), "{err:?}");
        // The request itself still carries them, for the transport to send to the origin.
        let asked = asked.0.lock().unwrap().clone();
        assert_eq!(asked, ["http://ash:pikachu@h:8/api/v2/pokemon/1/"]);
        // A root without credentials is handed out as given.
        let plain = BlockingClient::new("http://h:8/api/v2/", Asked::default());
        assert_eq!(plain.base_url(), "http://h:8/api/v2");
    }

    #[test]
    fn other_statuses_keep_status_and_retry_after() {
        let mut r = resp(429, "{}");
        r.retry_after = Some(std::time::Duration::from_secs(2));
        let err = decode::<Pokemon>(&r, Resource::Pokemon, &Key::Id(1), "u").unwrap_err();
        assert_eq!((err.kind(), err.status()), (ErrorKind::Status, Some(429)));
        assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(2)));
    }
}
