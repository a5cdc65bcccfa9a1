//! Credentials in a URL (`http://user:pass@host/api/v2`): sent, never shown.
//!
//! A URL's userinfo is how a user names a server behind basic authentication, and it is
//! the part of a URL that must never reach a terminal, a log, a JSON report or a store.
//! So it is taken out of the URL once, where the URL comes in, and travels on its own:
//!
//! - **taken out**: [`Credentials::take`] splits a URL into the URL without its userinfo
//!   and [`Credentials`]: the `Authorization: Basic` header, percent-decoded as RFC 3986
//!   encodes it (`p%40ss` is the password `p@ss`), and the origin (scheme, host, port)
//!   it belongs to. The API root (`--api`) is split this way once
//!   ([`crate::source::Target::parse`]): every URL built from it, compared with it,
//!   printed or stored is credential-free, so none of them can leak the password. A
//!   [`Client`](crate::pokeapi::Client) given a root with credentials keeps them for its
//!   requests only: its `base_url()` is the root [`Credentials::strip`]ped;
//! - **sent**: the credentials ride in [`HttpOptions::credentials`], and every backend
//!   attaches the header when it sends a request to that origin (and only there: a URL
//!   of another host never gets them); a URL that still carries userinfo of its own (a
//!   library caller's) is split the same way, call by call;
//! - **shown**: a [`Credentials`] prints as `user:***`, and [`redact_url`] is what error
//!   lines use for a URL that came with userinfo: `http://user:***@host/…` (the user name
//!   is kept: it tells *which* account).
//!
//! [`HttpOptions::credentials`]: super::HttpOptions::credentials

use std::borrow::Cow;
use std::fmt;

use hyper::header::HeaderValue;

use crate::error::{Error, Result};

/// Where the userinfo of `url` is: the byte range of `user[:pass]` (without the `@`).
fn userinfo(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    // The last `@` of the authority: a password may hold a (badly encoded) `@` itself.
    let at = rest[..end].rfind('@')?;
    Some(start..start + at)
}

/// `url` as it may be shown: a password replaced by `***`. URLs without one are returned
/// as they are, without a copy.
///
/// ```
/// use asyncdex::http::redact_url;
/// assert_eq!(redact_url("http://ash:pikachu@127.0.0.1:80/api/v2"), "http://ash:***@127.0.0.1:80/api/v2");
/// assert_eq!(redact_url("http://token@host/"), "http://token@host/");
/// assert_eq!(redact_url("https://pokeapi.co/api/v2/?a=b@c"), "https://pokeapi.co/api/v2/?a=b@c");
/// ```
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let Some(info) = userinfo(url) else {
        return Cow::Borrowed(url);
    };
    match url[info.clone()].find(':') {
        Some(colon) => {
            let colon = info.start + colon;
            Cow::Owned(format!("{}:***{}", &url[..colon], &url[info.end..]))
        }
        None => Cow::Borrowed(url),
    }
}

/// The credentials a URL carried, taken out of it: the `Authorization: Basic` header
/// they make, for the one origin (scheme, host, port) they came with.
///
/// Neither [`Debug`](fmt::Debug) nor [`Display`](fmt::Display) shows the password, so a
/// value holding these (a [`Target`](crate::source::Target), [`HttpOptions`](super::HttpOptions))
/// can be printed safely.
///
/// ```
/// use asyncdex::http::Credentials;
/// let (root, credentials) = Credentials::take("http://ash:pika%40chu@127.0.0.1:8/api/v2").unwrap();
/// let credentials = credentials.unwrap();
/// assert_eq!(root, "http://127.0.0.1:8/api/v2");
/// assert_eq!(credentials.to_string(), "ash:***");
/// assert_eq!(credentials.show(&root), "http://ash:***@127.0.0.1:8/api/v2");
/// assert!(!format!("{credentials:?}").contains("pika"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name as the URL wrote it (percent-encoded).
    user: String,
    /// Whether the URL had a password (`user:pass@`, not just `user@`).
    password: bool,
    /// `Basic base64(user:pass)`, marked sensitive.
    header: HeaderValue,
    /// The origin they go to (`http://host:port`), `None` if the URL has none.
    origin: Option<String>,
}

impl Credentials {
    /// `url` without its userinfo, and the credentials it carried. A URL without
    /// userinfo (the common case) is returned as it is, without a copy. A userinfo that
    /// is not valid percent-encoded UTF-8 is an
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error (its URL shown
    /// through [`redact_url`]).
    pub fn take(url: &str) -> Result<(Cow<'_, str>, Option<Credentials>)> {
        let Some(info) = userinfo(url) else {
            return Ok((Cow::Borrowed(url), None));
        };
        let (user, pass) = match url[info.clone()].split_once(':') {
            Some((user, pass)) => (user, Some(pass)),
            None => (&url[info.clone()], None),
        };
        let bad = || {
            Error::invalid_input(format!(
                "bad credentials in {}: not valid percent-encoded UTF-8",
                redact_url(url)
            ))
            .with_url(redact_url(url))
        };
        let decoded_user = percent_decode(user).ok_or_else(bad)?;
        let decoded_pass = percent_decode(pass.unwrap_or("")).ok_or_else(bad)?;
        let mut header = HeaderValue::try_from(format!(
            "Basic {}",
            base64(format!("{decoded_user}:{decoded_pass}").as_bytes())
        ))
        .map_err(|_| bad())?;
        header.set_sensitive(true);
        let bare = Credentials::strip(url).into_owned();
        let credentials = Credentials {
            user: user.to_owned(),
            password: pass.is_some(),
            header,
            origin: origin(&bare),
        };
        Ok((Cow::Owned(bare), Some(credentials)))
    }

    /// `url` without its userinfo (`user:pass@` dropped, valid or not): what a URL given
    /// with credentials may be shown or handed out as. A URL without userinfo is returned
    /// as it is, without a copy.
    ///
    /// ```
    /// use asyncdex::http::Credentials;
    /// assert_eq!(Credentials::strip("http://ash:p%zz@h:8/api/v2"), "http://h:8/api/v2");
    /// assert_eq!(Credentials::strip("http://h/a@b"), "http://h/a@b");
    /// ```
    pub fn strip(url: &str) -> Cow<'_, str> {
        match userinfo(url) {
            Some(info) => Cow::Owned(format!("{}{}", &url[..info.start], &url[info.end + 1..])),
            None => Cow::Borrowed(url),
        }
    }

    /// The user name, as the URL wrote it (percent-encoded).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// `url` (credential-free) as these credentials would be written into it, the
    /// password shown as `***`: `http://user:***@host/…`, what [`redact_url`] makes of
    /// the URL they came in.
    pub fn show(&self, url: &str) -> String {
        match url.find("://") {
            Some(at) => format!("{}{self}@{}", &url[..at + 3], &url[at + 3..]),
            None => url.to_owned(),
        }
    }

    /// The `Authorization` header for a request to `url`: only if `url` is of the
    /// origin these credentials came with.
    pub(super) fn header_for(&self, url: &str) -> Option<&HeaderValue> {
        (self.origin.is_some() && origin(url) == self.origin).then_some(&self.header)
    }

    /// The header, wherever the request goes (the URL named these credentials itself).
    pub(super) fn header(self) -> HeaderValue {
        self.header
    }
}

impl fmt::Display for Credentials {
    /// `user:***` (`user` alone if the URL had no password).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.user)?;
        if self.password {
            f.write_str(":***")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to = self.origin.as_deref().unwrap_or("nowhere");
        write!(f, "Credentials({self} for {to})")
    }
}

/// The origin of an http(s) `url` (`http://host:port`, the default port left out).
fn origin(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.origin().ascii_serialization())
}

/// `%XX` sequences decoded; `None` if one is malformed or the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Standard base64 with padding (RFC 4648), all basic authentication needs.
fn base64(input: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * k)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("Aladdin:open sesame", "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
    }

    #[test]
    fn take_splits_the_userinfo_off_and_decodes_it() {
        let (bare, auth) =
            Credentials::take("http://us%40er:p%3Ass@127.0.0.1:8/api/v2?x=1").unwrap();
        assert_eq!(bare, "http://127.0.0.1:8/api/v2?x=1");
        let expected = format!("Basic {}", base64(b"us@er:p:ss"));
        assert_eq!(auth.unwrap().header().to_str().unwrap(), expected);
        let (bare, auth) = Credentials::take("http://127.0.0.1:8/a@b").unwrap();
        assert_eq!((bare.as_ref(), auth), ("http://127.0.0.1:8/a@b", None));
        assert!(Credentials::take("http://u:%zz@h/").is_err());
    }

    #[test]
    fn credentials_go_to_their_origin_only() {
        let (_, auth) = Credentials::take("http://u:p@h:8080/api/v2").unwrap();
        let auth = auth.unwrap();
        assert!(auth
            .header_for("http://h:8080/api/v2/pokemon/?offset=20")
            .is_some());
        for elsewhere in [
            "http://h:8081/api/v2/",
            "https://h:8080/api/v2/",
            "http://other:8080/api/v2/",
            "not a url",
        ] {
            assert!(auth.header_for(elsewhere).is_none(), "{elsewhere}");
        }
        // The default port is the same origin written or not.
        let (_, auth) = Credentials::take("http://u:p@h:80/").unwrap();
        assert!(auth.unwrap().header_for("http://h/x").is_some());
    }

    #[test]
    fn credentials_never_print_their_password() {
        for url in ["http://ash:s3cret@h/api/v2", "http://token@h/"] {
            let (bare, auth) = Credentials::take(url).unwrap();
            let auth = auth.unwrap();
            let shown = format!("{auth} {auth:?} {}", auth.show(&bare));
            assert!(!shown.contains("s3cret"), "{shown}");
            assert_eq!(auth.show(&bare), redact_url(url), "{url}");
        }
    }

    #[test]
    fn redaction_hides_the_password_only() {
        assert_eq!(
            redact_url("http://u:secret@h:1/p?q#f"),
            "http://u:***@h:1/p?q#f"
        );
        assert_eq!(redact_url("http://h/"), "http://h/");
        assert!(!redact_url("http://u:a@b@h/").contains("a@b"));
    }
}
