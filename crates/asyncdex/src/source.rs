//! Where calls go: the embedded mirror (the default, offline) or a real API (`--api`).
//!
//! An API root given with credentials (`http://user:pass@host/api/v2`) is split here,
//! once, where it becomes a value of the program ([`Target::parse`]): the root that every
//! URL is built from, compared with (a list's `next` page), printed and stored is
//! credential-free, and the [`Credentials`] travel on their own, in
//! [`HttpOptions::credentials`](crate::http::HttpOptions::credentials), to be attached
//! only when a request is sent. So no report, manifest or store can leak the password:
//! none of them ever holds it.
//!
//! ```
//! use asyncdex::mirror::MirrorConfig;
//! use asyncdex::source::Target;
//!
//! let target = Target::parse(Some("http://ash:pw@127.0.0.1:8/api/v2/"), MirrorConfig::default()).unwrap();
//! let Target::Remote(remote) = &target else { unreachable!() };
//! assert_eq!(remote.root(), "http://127.0.0.1:8/api/v2");
//! assert_eq!(target.credentials().unwrap().to_string(), "ash:***");
//! ```
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> asyncdex::Result<()> {
//! use asyncdex::mirror::MirrorConfig;
//! use asyncdex::source::{Source, Target};
//!
//! assert!(Target::parse(Some("not a url"), MirrorConfig::default()).is_err());
//! let source = Source::open(Target::parse(None, MirrorConfig::default())?).await?;
//! assert!(source.base_url().starts_with("http://127.0.0.1:"));
//! # Ok(()) }
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::http::Credentials;
use crate::mirror::{raise_fd_limit, BackgroundMirror, MirrorConfig, ServeLimits};
use crate::pokeapi::POKEAPI_URL;

/// The validated choice of where to send calls.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// Start the embedded mirror in-process with this configuration.
    Embedded(MirrorConfig),
    /// A PokeAPI-compatible server at this API root.
    Remote(Remote),
}

/// A PokeAPI-compatible server: its API root (credential-free) and the credentials that
/// came with it, if any. Printing it (`{:?}`) never shows the password.
#[derive(Debug, Clone, PartialEq)]
pub struct Remote {
    root: String,
    credentials: Option<Credentials>,
}

impl Remote {
    /// The API root, `http://host/api/v2`: no trailing slash, never credentials.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The credentials the root was given with (`user:pass@`), to send, never show.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The root as it may be shown: `http://user:***@host/api/v2` with credentials.
    fn shown(&self) -> String {
        match &self.credentials {
            Some(c) => c.show(&self.root),
            None => self.root.clone(),
        }
    }
}

impl Target {
    /// `api`: `None` for the embedded mirror, `"pokeapi"` for the public API, or a URL.
    pub fn parse(api: Option<&str>, mirror: MirrorConfig) -> Result<Target> {
        let Some(api) = api else {
            return Ok(Target::Embedded(mirror));
        };
        if api == "pokeapi" {
            return Ok(Target::Remote(Remote {
                root: POKEAPI_URL.to_owned(),
                credentials: None,
            }));
        }
        // Even a root refused is shown without its password.
        let shown = crate::http::redact_url(api);
        let bad = |why: &str| {
            Error::invalid_input(format!(
                "invalid API root {shown:?}: {why} (expected e.g. http://127.0.0.1:8000/api/v2, or 'pokeapi')"
            ))
        };
        let url = reqwest::Url::parse(api).map_err(|e| bad(&e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) || !names_host(api) {
            return Err(bad("it has no host"));
        }
        if url.port() == Some(0) {
            return Err(bad("port 0 is no server's port"));
        }
        if has_empty_port(api) {
            return Err(bad("its port is empty: give one, or leave the colon out"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("an API root has no query or fragment"));
        }
        // The one place the credentials leave the root.
        let (root, credentials) = Credentials::take(url.as_str().trim_end_matches('/'))
            .map_err(|_| bad("its credentials are not valid percent-encoded UTF-8"))?;
        Ok(Target::Remote(Remote {
            root: root.into_owned(),
            credentials,
        }))
    }

    /// The credentials to send with every request ([`Remote::credentials`]); `None` for
    /// the embedded mirror.
    pub fn credentials(&self) -> Option<Credentials> {
        match self {
            Target::Remote(remote) => remote.credentials.clone(),
            Target::Embedded(_) => None,
        }
    }

    /// The root a client of this target keeps its redirects under
    /// ([`HttpOptions::redirects_within`](crate::http::HttpOptions::redirects_within)):
    /// a remote's root, so its server cannot lead a call (or a crawl) to another; none
    /// for the embedded mirror, which never redirects.
    pub fn redirects_within(&self) -> Option<String> {
        match self {
            Target::Remote(remote) => Some(remote.root.clone()),
            Target::Embedded(_) => None,
        }
    }
}

/// Whether `api` itself names a host between its `scheme://` and the path. The URL
/// standard is forgiving where a root should be exact: `http:///ok`, `http:ok` and
/// `http:\\ok` all parse as the host `ok`, so a root that lost its host by a typo would
/// send every call (and name a cache file) after the first word of its path.
fn names_host(api: &str) -> bool {
    host_port(api).is_some_and(|h| !(h.is_empty() || h.starts_with(':')))
}

/// Whether `api` ends its host with a colon and no port (`http://h:/api/v2`). The URL
/// standard reads that as the scheme's default port, but one HTTP backend refuses such a
/// root and another goes to port 80: a root says its port, or leaves the colon out.
fn has_empty_port(api: &str) -> bool {
    host_port(api).is_some_and(|h| h.ends_with(':'))
}

/// The `host[:port]` written in `api` between its `scheme://` (and any `user@`) and the
/// path; `None` without a `://`.
fn host_port(api: &str) -> Option<&str> {
    let (_, rest) = api.split_once("://")?;
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or("");
    Some(authority.rsplit_once('@').map_or(authority, |(_, h)| h))
}

/// Whether a connection to `ip` stays on this machine: a loopback address, or the
/// unspecified address (which the system connects to itself).
fn reaches_this_machine(ip: std::net::IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified()
}

/// An open source of data: an API root URL, and the mirror behind it if it is ours.
#[derive(Debug)]
pub struct Source {
    base_url: String,
    description: String,
    /// A stable name for this API's data (the embedded mirror's port changes every run).
    cache_name: String,
    mirror: Option<BackgroundMirror>,
}

impl Source {
    /// Opens `target`: starts the embedded mirror, or just remembers the URL.
    ///
    /// The embedded mirror runs on a thread and runtime of its own, so the mirror's work
    /// never competes with the client's event loop (nor stalls with it), and a client on a
    /// single-threaded runtime still gets a whole core for itself.
    ///
    /// The mirror and the client share this process's descriptors: starting the mirror
    /// first raises the process's soft descriptor limit to its hard limit
    /// ([`raise_fd_limit`]), and the mirror keeps at most half of them in connections
    /// ([`ServeLimits::sharing_process`]), so it cannot starve the client.
    pub async fn open(target: Target) -> Result<Source> {
        match target {
            // What is shown, and what names its cache file, never holds a password.
            Target::Remote(remote) => Ok(Source {
                description: remote.shown(),
                cache_name: remote.shown(),
                base_url: remote.root,
                mirror: None,
            }),
            Target::Embedded(config) => {
                let description = format!("embedded mirror ({})", config.describe());
                let cache_name = "embedded";
                if let Err(e) = raise_fd_limit() {
                    tracing::debug!("the descriptor limit stays as it was: {e}");
                }
                let limits = ServeLimits::sharing_process();
                let start = move || BackgroundMirror::start_limited(config, 1, limits);
                let mirror = asyncdex_engine::offload::once("starting the embedded mirror", start)
                    .await?
                    .map_err(|e| {
                        Error::new(
                            ErrorKind::Io,
                            format!("cannot start the embedded mirror: {e}"),
                        )
                    })?;
                Ok(Source {
                    base_url: mirror.base_url().to_owned(),
                    description: format!("{description} at {}", mirror.base_url()),
                    cache_name: cache_name.into(),
                    mirror: Some(mirror),
                })
            }
        }
    }

    /// The API root, `http://host/api/v2`: never credentials (they travel in
    /// [`HttpOptions::credentials`](crate::http::HttpOptions::credentials)).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// One line saying where calls go, with the mirror's latency if it is ours.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// A stable name for the data behind this source: its URL, or `embedded` for the
    /// embedded mirror (whose port changes every run).
    pub fn cache_name(&self) -> String {
        self.cache_name.clone()
    }

    /// Whether calls stay on this machine (the embedded mirror, `localhost`, `127.0.0.1`).
    ///
    /// The unspecified addresses (`0.0.0.0`, `0`, `[::]`) count too: connecting to one
    /// reaches this machine, as does an IPv4-mapped loopback (`[::ffff:127.0.0.1]`).
    pub fn is_loopback(&self) -> bool {
        let Ok(url) = reqwest::Url::parse(&self.base_url) else {
            return false;
        };
        let host = url.host_str().unwrap_or("");
        let ip = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || ip
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| reaches_this_machine(ip.to_canonical()))
    }

    /// Stops the embedded mirror, if any (requests in progress get half a second).
    pub async fn close(self) {
        if let Some(m) = self.mirror {
            // Stopping joins the mirror's thread: do it off the async runtime.
            let _ = asyncdex_engine::offload::once("stopping the embedded mirror", move || drop(m))
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_are_validated() {
        let parse = |s| Target::parse(Some(s), MirrorConfig::default());
        let root = |target: Target| match target {
            Target::Remote(remote) => (remote.root, remote.credentials),
            Target::Embedded(_) => unreachable!(),
        };
        assert_eq!(root(parse("pokeapi").unwrap()), (POKEAPI_URL.into(), None));
        for good in [
            "http://h/api/v2",
            "http://[::1]:8/api/v2",
            "https://u:p@h/api/v2",
        ] {
            assert!(parse(good).is_ok(), "{good}");
        }
        assert_eq!(
            root(parse("http://127.0.0.1:8000/api/v2/").unwrap()),
            ("http://127.0.0.1:8000/api/v2".into(), None)
        );
        let remote = |url: &str| Source {
            base_url: url.into(),
            description: String::new(),
            cache_name: String::new(),
            mirror: None,
        };
        assert!(remote("http://127.0.0.1:8000/api/v2").is_loopback());
        assert!(remote("http://localhost/api/v2").is_loopback());
        assert!(remote("http://[::1]:9/api/v2").is_loopback());
        assert!(!remote("https://pokeapi.co/api/v2").is_loopback());
        assert!(!remote("http://10.0.0.1/api/v2").is_loopback());
        for this_machine in [
            "http://0.0.0.0:8/api/v2",
            "http://0:8/api/v2",
            "http://[::]:8/api/v2",
            "http://[::ffff:127.0.0.1]:8/api/v2",
            "http://127.3.4.5/api/v2",
        ] {
            assert!(remote(this_machine).is_loopback(), "{this_machine}");
        }
        assert!(!remote("http://[::ffff:10.0.0.1]/api/v2").is_loopback());
        for bad in [
            "",
            "localhost:8000",
            "ftp://x/api/v2",
            "http://",
            "http:///ok",
            "http:///ok/api/v2",
            "http:ok/api/v2",
            "http:\\\\ok/api/v2",
            "http://u:p@/ok/api/v2",
            "http://:8000/api/v2",
            "http://127.0.0.1:0/api/v2",
            "http://127.0.0.1:/x/api/v2",
            "https://u:p@h:/api/v2",
            "http://[::1]:/api/v2",
            "http://x/api?q=1",
            "::",
            "http://u:%zz@h/api/v2",
            "http://u:%zz@h/api?q=1",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
            assert!(err.to_string().contains("invalid API root"), "{err}");
            assert!(!err.to_string().contains("%zz"), "{err}");
        }
    }

    #[tokio::test]
    async fn credentials_leave_the_root_once_and_are_shown_redacted() {
        let target = Target::parse(
            Some("http://ash:pika%40chu@127.0.0.1:8/x/api/v2/"),
            MirrorConfig::default(),
        )
        .unwrap();
        assert!(!format!("{target:?}").contains("chu"), "{target:?}");
        assert_eq!(target.credentials().unwrap().user(), "ash");
        let source = Source::open(target).await.unwrap();
        assert_eq!(source.base_url(), "http://127.0.0.1:8/x/api/v2");
        assert_eq!(source.description(), "http://ash:***@127.0.0.1:8/x/api/v2");
        assert_eq!(source.cache_name(), "http://ash:***@127.0.0.1:8/x/api/v2");
        assert!(source.is_loopback());
    }
}
