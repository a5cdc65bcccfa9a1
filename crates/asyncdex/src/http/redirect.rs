//! Redirects, followed the same way by every backend (one loop, [`Hops`], drives them all;
//! reqwest's own following is turned off so it cannot differ):
//!
//! - 301, 302, 303, 307 and 308 with a `Location` are followed (every call is a GET, so
//!   all five mean "GET that instead"); a relative `Location` is resolved against the URL
//!   that answered;
//! - at most [`MAX_REDIRECTS`] (reqwest's and browsers' bound); one more is a final error
//!   ([`failure::too_many_redirects`]), not a loop;
//! - the `Authorization` header built from the credentials (the URL's own, or the
//!   client's for that origin: [`Credentials`]) goes along only while the host and port
//!   stay the same (as reqwest does), so a redirect cannot hand a password to another
//!   server;
//! - a `Location` that is not http(s), or cannot be parsed, ends the chain: the 3xx is
//!   the answer;
//! - a caller that works under one API root ([`HttpOptions::redirects_within`]) is never
//!   led off it: a hop to another host, port, scheme or path outside the root ends the
//!   call with an error naming both ([`failure::redirected_off`]), before anything is
//!   asked there. A server that answers may say anything about its own resources; it
//!   may not make its client fetch, and store as its own, another server's (a crawl's
//!   promise to stay on its API, which its `next` and entry checks keep for the links it
//!   reads).
//!
//! [`HttpOptions::redirects_within`]: super::HttpOptions::redirects_within

use std::borrow::Cow;

use hyper::header::HeaderValue;

use super::credentials::Credentials;
use super::failure;
use super::progress::Progress;
use crate::error::Result;

/// Most redirects followed for one call.
pub const MAX_REDIRECTS: usize = 10;

/// One call's way through its redirects: the URL to ask now (without credentials), the
/// `Authorization` to send with it, and the URL errors name.
pub(super) struct Hops<'a> {
    asked: &'a str,
    current: Cow<'a, str>,
    auth: Option<HeaderValue>,
    hops: usize,
    /// Where the hops' body readers say how far the call got, if its caller times it.
    progress: Option<&'a Progress>,
    /// The root every hop must stay under, if any ([`within`](Hops::within)).
    within: Option<&'a str>,
}

impl<'a> Hops<'a> {
    /// The start of a call to `url`, with the client's `credentials` if `url` is of
    /// their origin (a URL's own userinfo is taken out and wins: [`Credentials::take`]).
    pub(super) fn new(url: &'a str, credentials: Option<&Credentials>) -> Result<Hops<'a>> {
        let (current, own) = Credentials::take(url)?;
        let auth = match own {
            Some(own) => Some(own.header()),
            None => credentials.and_then(|c| c.header_for(url)).cloned(),
        };
        Ok(Hops {
            asked: url,
            current,
            auth,
            hops: 0,
            progress: None,
            within: None,
        })
    }

    /// These hops, led only to URLs under `root` (a root as [`under_root`] makes it):
    /// a redirect anywhere else ends the call.
    pub(super) fn within(mut self, root: Option<&'a str>) -> Hops<'a> {
        self.within = root;
        self
    }

    /// [`Hops::new`], its body readers reporting to `progress` (see [`Progress`]).
    pub(super) fn watched(
        url: &'a str,
        credentials: Option<&Credentials>,
        progress: &'a Progress,
    ) -> Result<Hops<'a>> {
        Ok(Hops {
            progress: Some(progress),
            ..Hops::new(url, credentials)?
        })
    }

    /// Where a body reader reports how far the call got ([`Hops::watched`]).
    pub(super) fn progress(&self) -> Option<&'a Progress> {
        self.progress
    }

    /// The URL to send now: never with credentials in it.
    pub(super) fn url(&self) -> &str {
        &self.current
    }

    /// The URL an error names (the one asked for, until a redirect leads elsewhere).
    pub(super) fn shown(&self) -> &str {
        if self.hops == 0 {
            self.asked
        } else {
            &self.current
        }
    }

    /// The `Authorization` header to send now, if any.
    pub(super) fn auth(&self) -> Option<&HeaderValue> {
        self.auth.as_ref()
    }

    /// After an answer with `status` and `location`: `true` if the call goes on to the
    /// next hop (now [`Hops::url`]), `false` if this answer is the call's.
    pub(super) fn follow(&mut self, status: u16, location: Option<&HeaderValue>) -> Result<bool> {
        if !matches!(status, 301 | 302 | 303 | 307 | 308) {
            return Ok(false);
        }
        let Some(next) = location
            .and_then(|l| l.to_str().ok())
            .and_then(|l| resolve(&self.current, l))
        else {
            return Ok(false);
        };
        if self.hops == MAX_REDIRECTS {
            return Err(failure::too_many_redirects(self.shown(), self.hops));
        }
        let (bare, auth) = Credentials::take(&next)?;
        if let Some(root) = self.within.filter(|root| !bare.starts_with(root)) {
            return Err(failure::redirected_off(self.shown(), &bare, root));
        }
        let auth = match auth {
            Some(own) => Some(own.header()),
            None if same_host(&self.current, &bare) => self.auth.take(),
            None => None,
        };
        self.current = Cow::Owned(bare.into_owned());
        self.auth = auth;
        self.hops += 1;
        if let Some(progress) = self.progress {
            progress.next_hop();
        }
        Ok(true)
    }
}

/// `location` resolved against `base`, if it is an http(s) URL.
fn resolve(base: &str, location: &str) -> Option<String> {
    let next = reqwest::Url::parse(base).ok()?.join(location).ok()?;
    matches!(next.scheme(), "http" | "https").then(|| next.into())
}

/// `root` as [`Hops::within`] compares hops with it: parsed and written again (so
/// `HTTP://H:80/a` is `http://h/a/`), ending in `/` (so `/api/v2` does not take in
/// `/api/v2x`), without credentials.
pub(super) fn under_root(root: &str) -> String {
    let bare = Credentials::take(root).map_or_else(|_| root.to_owned(), |(b, _)| b.into_owned());
    let mut root = reqwest::Url::parse(&bare).map_or(bare, String::from);
    if !root.ends_with('/') {
        root.push('/');
    }
    root
}

/// Whether `a` and `b` name the same host and port (the rule for keeping credentials).
fn same_host(a: &str, b: &str) -> bool {
    let (Ok(a), Ok(b)) = (reqwest::Url::parse(a), reqwest::Url::parse(b)) else {
        return false;
    };
    a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    impl<'a> Hops<'a> {
        fn clone_for_test(&self) -> Hops<'a> {
            Hops {
                asked: self.asked,
                current: self.current.clone(),
                auth: self.auth.clone(),
                hops: self.hops,
                progress: self.progress,
                within: self.within,
            }
        }
    }

    fn loc(s: &'static str) -> HeaderValue {
        HeaderValue::from_static(s)
    }

    #[test]
    fn relative_and_absolute_locations_are_followed_and_others_end_the_chain() {
        let mut hops = Hops::new("http://u:p@h:1/api/v2/a/", None).unwrap();
        assert_eq!(hops.url(), "http://h:1/api/v2/a/");
        assert!(!hops.follow(200, Some(&loc("/x"))).unwrap());
        assert!(!hops.follow(304, Some(&loc("/x"))).unwrap());
        assert!(hops.follow(301, Some(&loc("b/"))).unwrap());
        assert_eq!(hops.url(), "http://h:1/api/v2/a/b/");
        assert!(hops.auth().is_some(), "same host: credentials kept");
        assert!(!hops.follow(302, Some(&loc("ftp://h/"))).unwrap());
        assert!(!hops.follow(302, None).unwrap());
        assert!(hops.follow(308, Some(&loc("http://other:1/"))).unwrap());
        assert!(hops.auth().is_none(), "another host: credentials dropped");
        assert_eq!(hops.shown(), "http://other:1/");
    }

    #[test]
    fn the_clients_credentials_go_to_their_origin_and_along_its_redirects_only() {
        let (_, credentials) = Credentials::take("http://u:p@h:1/api/v2").unwrap();
        let credentials = credentials.as_ref();
        assert!(Hops::new("http://other:1/api/v2/", credentials)
            .unwrap()
            .auth()
            .is_none());
        let mut hops = Hops::new("http://h:1/api/v2/a/", credentials).unwrap();
        assert_eq!(hops.shown(), "http://h:1/api/v2/a/");
        assert!(hops.auth().is_some(), "the client's own origin");
        assert!(hops.follow(302, Some(&loc("/api/v2/b/"))).unwrap());
        assert!(hops.auth().is_some(), "same host: kept");
        assert!(hops.follow(302, Some(&loc("http://other:1/"))).unwrap());
        assert!(hops.auth().is_none(), "another host: dropped");
    }

    #[test]
    fn hops_within_a_root_are_followed_and_one_off_it_ends_the_call() {
        let root = under_root("HTTP://u:p@H:80/api/v2");
        assert_eq!(root, "http://h/api/v2/");
        let mut hops = Hops::new("http://h/api/v2/pokemon/25", None)
            .unwrap()
            .within(Some(&root));
        assert!(hops.follow(301, Some(&loc("/api/v2/pokemon/25/"))).unwrap());
        assert!(hops
            .follow(302, Some(&loc("http://h:80/api/v2/item/1/")))
            .unwrap());
        for off in [
            "http://h:81/api/v2/pokemon/25/",
            "http://127.0.0.1/api/v2/pokemon/25/",
            "https://h/api/v2/pokemon/25/",
            "/api/v2x/pokemon/",
            "/api/v2/../v3/",
            "/",
        ] {
            let e = hops
                .clone_for_test()
                .follow(302, Some(&HeaderValue::from_str(off).unwrap()))
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Status, "{off}");
            assert!(!e.is_transient(), "{off}");
            assert!(
                e.to_string().contains("off the API root http://h/api/v2/"),
                "{off}: {e}"
            );
        }
        // With no root, anywhere http(s) is followed.
        let mut free = Hops::new("http://h/api/v2/", None).unwrap();
        assert!(free.follow(302, Some(&loc("http://other:1/"))).unwrap());
    }

    #[test]
    fn a_loop_ends_after_the_bound_with_a_final_error() {
        let mut hops = Hops::new("http://h/", None).unwrap();
        for _ in 0..MAX_REDIRECTS {
            assert!(hops.follow(307, Some(&loc("/"))).unwrap());
        }
        let e = hops.follow(307, Some(&loc("/"))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Status);
        assert!(!e.is_transient());
        assert!(e.to_string().contains("too many redirects"), "{e}");
    }
}
