//! Turning a URL's host into addresses without starting a thread.
//!
//! ureq's own resolver honours a deadline by starting one OS thread per connection to run
//! the lookup (`getaddrinfo` cannot be interrupted), and waiting for it with a timeout:
//! even for an IP literal such as `127.0.0.1`, which needs no lookup at all. When the
//! process cannot start a thread (a `ulimit -u`, a container's pid limit, an address-space
//! limit), `std::thread::spawn` *panics*, inside the call, and the user sees a panic
//! instead of a failed call.
//!
//! [`Resolve`] needs no thread:
//! - an IP literal (`127.0.0.1`, `[::1]`) is its own address, parsed, never looked up;
//! - a name (`localhost`, `pokeapi.co`) is looked up with std's
//!   [`ToSocketAddrs`](std::net::ToSocketAddrs) on the calling thread, which is a
//!   blocking thread already. The lookup itself cannot be cut short, so the deadline is
//!   honoured as well as it can be: one that passed during the lookup fails the call as
//!   a timeout, as ureq's would have, just not before the system's resolver gives up.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Instant;

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// The most addresses kept for one host (ureq's own limit: its array holds 16).
const MAX_ADDRS: usize = 16;

/// A ureq [`Resolver`] that never starts a thread (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct Resolve;

impl Resolver for Resolve {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return Err(ureq::Error::BadUri(format!("{uri} is not a full URL")));
        };
        // `host:port`, the port from the scheme when the URL has none.
        let Some(addr) = DefaultResolver::host_and_port(scheme, authority) else {
            return Err(ureq::Error::BadUri(format!("{uri} names no port")));
        };
        let started = Instant::now();
        let found = addresses(&addr)?;
        // `after` is "never" (a huge duration) when the call has no deadline.
        if started.elapsed() > *timeout.after {
            return Err(ureq::Error::Timeout(timeout.reason));
        }
        let mut result = self.empty();
        for a in config
            .ip_family()
            .keep_wanted(found.into_iter())
            .take(MAX_ADDRS)
        {
            result.push(a);
        }
        if result.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(result)
    }
}

/// The addresses of `host:port`: an IP literal as it is, a name looked up here.
fn addresses(addr: &str) -> std::io::Result<Vec<SocketAddr>> {
    match addr.parse::<SocketAddr>() {
        Ok(literal) => Ok(vec![literal]),
        Err(_) => Ok(addr.to_socket_addrs()?.collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ureq::unversioned::transport::time::Duration;

    fn resolve(url: &str, after: Duration) -> Result<Vec<SocketAddr>, ureq::Error> {
        let timeout = NextTimeout {
            after,
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        };
        let config = ureq::config::Config::default();
        Resolve
            .resolve(&url.parse().unwrap(), &config, timeout)
            .map(|a| a.to_vec())
    }

    #[test]
    fn an_ip_literal_is_its_own_address() {
        let none = Duration::NotHappening;
        let v4 = resolve("http://127.0.0.1:18010/api/v2/", none).unwrap();
        assert_eq!(v4, ["127.0.0.1:18010".parse::<SocketAddr>().unwrap()]);
        let v6 = resolve("http://[::1]/api/v2/", none).unwrap();
        assert_eq!(v6, ["[::1]:80".parse::<SocketAddr>().unwrap()]);
        let https = resolve("https://127.0.0.1/", none).unwrap();
        assert_eq!(https[0].port(), 443, "the port comes from the scheme");
        // Even with a deadline (ureq's own resolver starts a thread then).
        let timed = Duration::Exact(std::time::Duration::from_secs(5));
        assert_eq!(resolve("http://127.0.0.1:9/", timed).unwrap().len(), 1);
    }

    /// Set in the child process of [`resolves_where_no_thread_can_start`].
    #[cfg(target_os = "linux")]
    const CHILD: &str = "ASYNCDEX_TEST_NO_THREADS";

    /// Starting a thread is made impossible, then a call with a deadline resolves (ureq's
    /// own resolver panics there). A process limit is the whole process's: the test runs
    /// itself again, as a child, to take it.
    #[cfg(target_os = "linux")]
    #[test]
    fn resolves_where_no_thread_can_start() {
        if std::env::var_os(CHILD).is_some() {
            return without_threads();
        }
        let name = "http::resolve::tests::resolves_where_no_thread_can_start";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("no thread can start; resolved"), "{text}");
    }

    /// The child: no more processes or threads for this user (root is not held to the
    /// limit, so it becomes `nobody` first), then a lookup of an IP literal with a deadline.
    #[cfg(target_os = "linux")]
    fn without_threads() {
        // SAFETY: plain system calls on this process's own credentials and limits.
        unsafe {
            if libc::geteuid() == 0 {
                assert_eq!(libc::setgid(65534), 0, "setgid");
                assert_eq!(libc::setuid(65534), 0, "setuid");
            }
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_NPROC, &none), 0, "setrlimit");
        }
        let spawned = std::thread::Builder::new().spawn(|| ());
        assert!(spawned.is_err(), "a thread could still start");
        let timed = Duration::Exact(std::time::Duration::from_secs(5));
        let found = resolve("http://127.0.0.1:9/", timed).unwrap();
        println!("no thread can start; resolved {found:?}");
    }

    #[test]
    fn names_are_looked_up() {
        let timed = Duration::Exact(std::time::Duration::from_secs(5));
        let found = resolve("http://localhost:8000/", timed).unwrap();
        assert!(!found.is_empty());
        assert!(
            found
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 8000),
            "{found:?}"
        );
        // A deadline already passed fails the call as a timeout, after the lookup.
        let over = resolve(
            "http://localhost:8000/",
            Duration::Exact(Default::default()),
        );
        assert!(matches!(over, Err(ureq::Error::Timeout(_))), "{over:?}");
    }

    #[test]
    fn a_partial_url_is_refused() {
        let err = resolve("/api/v2/", Duration::NotHappening).unwrap_err();
        assert!(matches!(err, ureq::Error::BadUri(_)), "{err:?}");
    }
}
