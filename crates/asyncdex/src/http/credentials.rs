//! Credentials in a URL (`http://user:pass@host/api/v2`): sent, never shown.
//!
//! A URL's userinfo is how a user names a server behind basic authentication, and it is
//! the part of a URL that must never reach a terminal, a log or a JSON report. Two rules,
//! one place each:
//!
//! - **sent**: [`split`] takes the userinfo out of the URL (no client ever sees it, so
//!   none can echo it in an error of its own) and turns it into an `Authorization: Basic`
//!   header, percent-decoded as RFC 3986 encodes it (`p%40ss` is the password `p@ss`);
//! - **shown**: [`redact_url`] is what every error line and [`Error::url`] carries:
//!   `http://user:***@host/…` (the user name is kept: it tells *which* account failed).
//!
//! [`Error::url`]: crate::Error::url

use std::borrow::Cow;

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

/// `url` without its userinfo, and the `Authorization: Basic` header that carries it.
/// A URL without userinfo (the common case) is returned as it is, without a copy.
pub(super) fn split(url: &str) -> Result<(Cow<'_, str>, Option<HeaderValue>)> {
    let Some(info) = userinfo(url) else {
        return Ok((Cow::Borrowed(url), None));
    };
    let (user, pass) = url[info.clone()]
        .split_once(':')
        .unwrap_or((&url[info.clone()], ""));
    let bad = || {
        Error::invalid_input(format!(
            "bad credentials in {}: not valid percent-encoded UTF-8",
            redact_url(url)
        ))
        .with_url(redact_url(url))
    };
    let user = percent_decode(user).ok_or_else(bad)?;
    let pass = percent_decode(pass).ok_or_else(bad)?;
    let mut header = HeaderValue::try_from(format!(
        "Basic {}",
        base64(format!("{user}:{pass}").as_bytes())
    ))
    .map_err(|_| bad())?;
    header.set_sensitive(true);
    let bare = format!("{}{}", &url[..info.start], &url[info.end + 1..]);
    Ok((Cow::Owned(bare), Some(header)))
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
    fn split_takes_the_userinfo_out_and_decodes_it() {
        let (bare, auth) = split("http://us%40er:p%3Ass@127.0.0.1:8/api/v2?x=1").unwrap();
        assert_eq!(bare, "http://127.0.0.1:8/api/v2?x=1");
        let expected = format!("Basic {}", base64(b"us@er:p:ss"));
        assert_eq!(auth.unwrap().to_str().unwrap(), expected);
        let (bare, auth) = split("http://127.0.0.1:8/a@b").unwrap();
        assert_eq!((bare.as_ref(), auth), ("http://127.0.0.1:8/a@b", None));
        assert!(split("http://u:%zz@h/").is_err());
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
