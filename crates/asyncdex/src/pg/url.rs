//! Reading a `postgres://` URL as a hostile one: what asyncdex refuses, and how a URL is
//! shown without its password.
//!
//! tokio-postgres parses the URL, but it is lenient where a mistake should be loud:
//!
//! - **Percent-encoding.** `%zz`, or a `%` at the end, is kept as it is, so a password
//!   with a stray `%` silently becomes another password and the login fails far from the
//!   cause. Every `%` must start `%XY` (two hex digits); the error names the part of the
//!   URL (user, password, host, database, query) and never shows the password.
//! - **Several hosts.** `postgres://a,b/db` (or `?host=a,b`) asks for failover: try `a`,
//!   then `b`. asyncdex targets one server: its queue's leases and its store live on
//!   that one primary, and a worker that reconnected after an outage to a *different*
//!   server would carry on against another database. So a URL naming more than one
//!   host (or port) is refused by name, instead of an error naming whichever host was
//!   tried last.
//! - **The password.** Given in the URL it is visible in `ps`; the standard libpq way is
//!   the `PGPASSWORD` environment variable, which a URL without a password takes.
//! - **`connect_timeout`.** tokio-postgres reads `0` and negative values as "no timeout"
//!   and takes any number of seconds, and bounds only the TCP connect by it. Here it is
//!   how long the whole connection may take (TCP, startup, login: a listener that accepts
//!   and never answers is given up on in time), whole seconds in
//!   [`CONNECT_TIMEOUT_RANGE`] (default [`CONNECT_TIMEOUT`]); anything else is refused
//!   when the URL is read, naming the parameter. `0`, libpq's "wait forever", is refused
//!   rather than capped: a worker that waits forever for a server is a hung worker.
//! - **`tcp_user_timeout`.** The silence a connection may keep while it owes an answer
//!   (`silence`), and the kernel's `TCP_USER_TIMEOUT`. tokio-postgres reads it in seconds
//!   (libpq in milliseconds: a libpq URL's `10000` would be nearly three hours here),
//!   `0` or less as "the default", and takes any number: here it is whole seconds in
//!   [`TCP_USER_TIMEOUT_RANGE`], refused otherwise, as `connect_timeout` is.
//!
//! Whatever goes wrong, the line shows the URL through [`shown`], and a store names its
//! database through `redact`: the password (in the user part or a `password=`
//! parameter) is never printed, and an IPv6 host keeps its brackets (`[::1]:5432`).

use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::{Host, SslMode};

use crate::error::{Error, Result};

/// How long a connection (TCP, startup, login) may take, when the URL does not say
/// (`connect_timeout`).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The seconds a URL's `connect_timeout` may give.
pub const CONNECT_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=300;

/// The seconds a URL's `tcp_user_timeout` may give: the silence allowed while an answer
/// is owed, and the kernel's `TCP_USER_TIMEOUT` (default [`super::silence::ANSWER_DEADLINE`]).
pub const TCP_USER_TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 1..=300;

/// The variable a URL without a password takes it from (libpq's name).
pub const PASSWORD_VAR: &str = "PGPASSWORD";

/// True when `location` names a PostgreSQL database (`postgres://…` or `postgresql://…`)
/// rather than a file.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Parses a `postgres://` URL; refuses what asyncdex cannot use. Without a password in
/// the URL, [`PASSWORD_VAR`]'s is used.
pub(super) fn parse(url: &str) -> Result<tokio_postgres::Config> {
    parse_with(url, std::env::var_os(PASSWORD_VAR))
}

/// [`parse`], with the environment's password given.
fn parse_with(
    url: &str,
    env_password: Option<std::ffi::OsString>,
) -> Result<tokio_postgres::Config> {
    if !is_url(url) {
        return Err(invalid(url, "it does not start with postgres://"));
    }
    check_percents(url)?;
    check_seconds(url)?;
    let mut config =
        tokio_postgres::Config::from_str(url).map_err(|e| invalid(url, &e.to_string()))?;
    let hosts = config.get_hosts();
    if hosts.is_empty() {
        return Err(invalid(url, "it names no host"));
    }
    if hosts.len() > 1 || config.get_ports().len() > 1 || config.get_hostaddrs().len() > 1 {
        return Err(invalid(
            url,
            &format!(
                "it names {} hosts ({}); asyncdex works against one server: name one",
                hosts.len().max(config.get_hostaddrs().len()),
                hosts.iter().map(host_name).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if config.get_dbname().is_none() {
        return Err(invalid(
            url,
            "it names no database (postgres://user@host/DATABASE)",
        ));
    }
    match config.get_ssl_mode() {
        SslMode::Require => {
            return Err(invalid(
                url,
                "it requires TLS, and asyncdex connects without it (loopback or a private network)",
            ))
        }
        // `prefer` with no TLS to offer is `disable`: said so, no SSLRequest is sent, and
        // every byte from the server is a framed message (see `wire`).
        _ => config.ssl_mode(SslMode::Disable),
    };
    if config.get_user().is_none() {
        config.user(std::env::var("USER").unwrap_or_else(|_| "postgres".into()));
    }
    if config.get_password().is_none() {
        if let Some(password) = env_password.filter(|p| !p.is_empty()) {
            config.password(password.as_encoded_bytes());
        }
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    config.application_name("asyncdex");
    Ok(config)
}

/// A query parameter of whole seconds that tokio-postgres reads loosely (any number, `0`
/// or less meaning something else), bounded here: its name, its bounds, and what the
/// line adds when the value is `0` or less (`low`) or above the bound (`high`).
struct Seconds {
    name: &'static str,
    range: std::ops::RangeInclusive<u64>,
    low: &'static str,
    high: &'static str,
}

/// The bounded parameters (see the module).
const SECONDS: [Seconds; 2] = [
    Seconds {
        name: "connect_timeout",
        range: CONNECT_TIMEOUT_RANGE,
        low: " (libpq reads 0 or less as wait forever; asyncdex refuses it)",
        high: "",
    },
    Seconds {
        name: "tcp_user_timeout",
        range: TCP_USER_TIMEOUT_RANGE,
        low: " (0 or less would mean the default: leave it out for that)",
        high: " (seconds here; libpq reads milliseconds)",
    },
];

/// Refuses a [`SECONDS`] parameter that is not whole seconds in its bounds (every one the
/// query gives: tokio-postgres takes the last).
fn check_seconds(url: &str) -> Result<()> {
    let Some((_, query)) = url.split_once('?') else {
        return Ok(());
    };
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decoded(key);
        let Some(p) = SECONDS.iter().find(|p| p.name == key) else {
            continue;
        };
        let value = decoded(value);
        let (low, high) = (p.range.start(), p.range.end());
        let hint = match value.trim().parse::<i128>() {
            Ok(s) if u64::try_from(s).is_ok_and(|s| p.range.contains(&s)) => continue,
            Ok(s) if s <= 0 => p.low,
            Ok(_) => p.high,
            Err(_) => "",
        };
        let value: String = value.chars().take(40).collect();
        return Err(invalid(
            url,
            &format!(
                "its {key} is {value:?}: give whole seconds from {low} to {high}{hint}",
                key = p.name
            ),
        ));
    }
    Ok(())
}

/// `text` with its `%XY` decoded ([`check_percents`] has made sure each is whole) and
/// `+` left as it is, as tokio-postgres reads a query.
fn decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) if bytes[i] == b'%' => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Refuses a `%` that does not start `%XY`, naming the part of the URL it is in.
fn check_percents(url: &str) -> Result<()> {
    let bytes = url.as_bytes();
    let Some(bad) = (0..bytes.len()).find(|&i| {
        bytes[i] == b'%'
            && !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    }) else {
        return Ok(());
    };
    let rest = &url[url.find("://").map_or(0, |s| s + 3)..];
    let start = url.len() - rest.len();
    let authority = rest.find(['/', '?']).map_or(rest.len(), |e| e) + start;
    let at = url[start..authority].rfind('@').map(|a| a + start);
    let part = match at {
        Some(at) if bad < at => match url[start..at].find(':') {
            Some(colon) if bad > start + colon => "password",
            _ => "user name",
        },
        _ if bad < authority => "host",
        _ => match url[authority..].find('?') {
            Some(q) if bad > authority + q => "query",
            _ => "database name",
        },
    };
    let why = if bad + 1 == url.len() {
        "ends with a lone %"
    } else {
        "holds a % not followed by two hex digits"
    };
    Err(invalid(
        url,
        &format!("its {part} {why} (a literal % is written %25)"),
    ))
}

/// A bad URL, as one line that shows it without its password.
pub(super) fn invalid(url: &str, why: &str) -> Error {
    let why = why.lines().next().unwrap_or(why);
    Error::invalid_input(format!("invalid PostgreSQL URL {:?}: {why}", shown(url)))
}

/// `url` without its password: the text after `:` in the user part, and any `password=`
/// parameter of the query, are left out.
pub fn shown(url: &str) -> String {
    let (head, query) = match url.find('?') {
        Some(q) => (&url[..q], Some(&url[q + 1..])),
        None => (url, None),
    };
    let mut out = match (head.find("://"), head.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = head[s + 3..at].split(':').next().unwrap_or("");
            format!("{}{user}@{}", &head[..s + 3], &head[at + 1..])
        }
        _ => head.to_owned(),
    };
    if let Some(query) = query {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| !p.to_ascii_lowercase().starts_with("password"))
            .collect();
        if !kept.is_empty() {
            out.push('?');
            out.push_str(&kept.join("&"));
        }
    }
    out
}

/// A host as a URL writes it: an IPv6 address in brackets (`[::1]`), so the port that
/// follows is not read as part of it.
fn host_name(host: &Host) -> String {
    match host {
        Host::Tcp(h) if h.contains(':') && !h.starts_with('[') => format!("[{h}]"),
        Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        Host::Unix(p) => p.display().to_string(),
    }
}

/// `postgres://user@host:port/db`, without the password.
pub(super) fn redact(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(host_name)
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

#[cfg(test)]
mod tests;
