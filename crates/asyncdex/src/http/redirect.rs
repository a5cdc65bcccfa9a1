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
//!   the answer.

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
        })
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
